"""All-or-nothing, reversible patches in place, built on wrapt.

Each integration owns one :class:`Patcher`. ``wrap`` replaces a function or
method where it is defined with a ``wrapt.FunctionWrapper``, which keeps
signatures, ``isinstance`` and pickling of the owning class intact. If any step
of an install fails, :meth:`Patcher.undo` restores everything applied so far,
so a library is never left half-patched. Wrapping is idempotent: a target that
already carries our wrapper is left alone.
"""

from __future__ import annotations

import wrapt

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Callable, List, Tuple

__all__ = ["Patcher", "MissingTarget", "is_patched"]


class MissingTarget(AttributeError):
    """A class or function we meant to patch is not in this version of the library."""


class _Wrapper(wrapt.FunctionWrapper):
    """Marks wrappers as ours, so installs are idempotent and uninstall finds them."""


def is_patched(owner: object, name: str) -> bool:
    """True when ``owner.name`` is (directly) one of our wrappers."""
    return isinstance(_raw_attribute(owner, name), _Wrapper)


def _raw_attribute(owner: object, name: str) -> Any:
    """The attribute as stored (descriptors such as classmethod not yet bound)."""
    if isinstance(owner, type):
        for klass in owner.__mro__:
            if name in vars(klass):
                return vars(klass)[name]
        raise MissingTarget(f"{owner.__module__}.{owner.__qualname__}.{name}")
    try:
        return getattr(owner, name)
    except AttributeError:
        raise MissingTarget(f"{getattr(owner, '__name__', owner)}.{name}") from None


class Patcher:
    """Applies wrappers and remembers how to take each one back."""

    def __init__(self, library: str) -> None:
        self.library = library
        # (owner, name, original, patched, owned): ``owned`` is False when the
        # attribute was inherited, in which case undo deletes our override.
        self._applied: List[Tuple[object, str, object, object, bool]] = []

    def wrap(self, owner: object, name: str, wrapper: Callable[..., Any]) -> None:
        """Wrap ``owner.name`` (a function, method, classmethod or staticmethod) in place.

        ``wrapper(wrapped, instance, args, kwargs)`` follows wrapt's convention.
        The attribute is set on ``owner`` itself even when inherited.
        """
        original = _raw_attribute(owner, name)
        if isinstance(original, _Wrapper):
            return
        owned = not isinstance(owner, type) or name in vars(owner)
        patched = _Wrapper(original, wrapper)
        setattr(owner, name, patched)
        self._applied.append((owner, name, original, patched, owned))

    def set(self, owner: object, name: str, value: object) -> None:
        """Replace a plain attribute (e.g. a module global), remembering the old value."""
        original = getattr(owner, name)
        setattr(owner, name, value)
        self._applied.append((owner, name, original, value, True))

    @property
    def active(self) -> bool:
        return bool(self._applied)

    def undo(self) -> List[str]:
        """Restore everything, newest first. Returns targets someone else re-wrapped meanwhile."""
        skipped = []
        while self._applied:
            owner, name, original, patched, owned = self._applied.pop()
            current = vars(owner).get(name) if isinstance(owner, type) else getattr(owner, name, None)
            if current is not patched and isinstance(patched, _Wrapper):
                # Another instrumentation wrapped on top of ours: restoring would drop
                # theirs. Leave it; our wrapper passes through once deactivated.
                skipped.append(f"{getattr(owner, '__qualname__', owner)}.{name}")
                continue
            if owned:
                setattr(owner, name, original)
            else:
                delattr(owner, name)
        return skipped
