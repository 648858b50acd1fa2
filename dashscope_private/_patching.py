"""All-or-nothing, reversible patches in place.

Each integration owns one :class:`Patcher`. ``wrap`` replaces a function or
method where it is defined with a ``wrapt.FunctionWrapper``, which keeps
signatures, ``isinstance`` and pickling of the owning class intact; SDK-level
patches use it. ``replace`` installs a plain function instead, for the
per-request transport hooks: a wrapt wrapper alone costs about a microsecond
per call, more than the whole budget for a request that is not ours.
If any step of an install fails, :meth:`Patcher.undo` restores everything
applied so far, so a library is never left half-patched. Both are idempotent:
a target that already carries our patch is left alone.
"""

from __future__ import annotations

import functools
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Callable, List, Optional, Tuple

__all__ = ["Patcher", "MissingTarget", "is_patched", "loaded_module"]


def loaded_module(name: str) -> Any:
    """The module ``name``, from ``sys.modules`` when its import is complete, else imported.

    Integrations install from post-import hooks, inside other threads' imports
    too. ``importlib.import_module`` takes the module's import lock even for a
    module already imported (Python 3.9 to 3.11), so a hook holding the
    activation lock could wait on a lock whose owner waits for the activation
    lock: a deadlock. A complete module needs no lock at all.
    """
    module = sys.modules.get(name)
    spec = getattr(module, "__spec__", None)
    if module is not None and not getattr(spec, "_initializing", False):
        return module
    import importlib

    return importlib.import_module(name)


class MissingTarget(AttributeError):
    """A class or function we meant to patch is not in this version of the library."""


#: Our ``wrapt.FunctionWrapper`` subclass, created on the first :meth:`Patcher.wrap`.
#: wrapt is imported only then: importing wrapt 2.x costs ~70-100 ms, and the
#: ``urllib`` integration (which only uses plain replacements) installs on
#: ``import http.client``, which very many programs do.
_wrapper_type: Optional[type] = None


def _wrapper_class() -> type:
    global _wrapper_type
    if _wrapper_type is None:
        import wrapt

        class _Wrapper(wrapt.FunctionWrapper):  # type: ignore[misc]
            """Marks wrappers as ours, so installs are idempotent and uninstall finds them."""

        _Wrapper.__qualname__ = "_Wrapper"  # importable by name, through __getattr__ below
        _wrapper_type = _Wrapper
    return _wrapper_type


def __getattr__(name: str) -> Any:
    if name == "_Wrapper":  # bench/runtime.py measures it
        return _wrapper_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Attribute set on our plain-function replacements; it holds the original.
_ORIGINAL = "__dashscope_private_original__"


def _is_ours(value: object) -> bool:
    wrapper = _wrapper_type
    return (wrapper is not None and isinstance(value, wrapper)) or (callable(value) and hasattr(value, _ORIGINAL))


def is_patched(owner: object, name: str) -> bool:
    """True when ``owner.name`` is (directly) one of our patches."""
    return _is_ours(_raw_attribute(owner, name))


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
        if _is_ours(original):
            return
        self._apply(owner, name, original, _wrapper_class()(original, wrapper))

    def replace(self, owner: object, name: str, factory: Callable[[Any], Callable[..., Any]]) -> None:
        """Replace the plain function ``owner.name`` with ``factory(original)``.

        For hot paths. The replacement gets the original's name, docstring and
        ``__wrapped__`` (so ``inspect.signature`` is unchanged).
        """
        original = _raw_attribute(owner, name)
        if _is_ours(original):
            return
        if not callable(original) or isinstance(original, (classmethod, staticmethod)):
            raise MissingTarget(f"{getattr(owner, '__qualname__', owner)}.{name} is not a plain function")
        replacement = functools.update_wrapper(factory(original), original)
        setattr(replacement, _ORIGINAL, original)
        self._apply(owner, name, original, replacement)

    def swap_class(self, obj: object, factory: Callable[[type], type]) -> None:
        """Give ``obj`` (a module, say) the class ``factory(type(obj))``, a subclass of its own.

        Undone like any other patch: the class goes back unless someone swapped
        it again on top of ours.
        """
        if any(owner is obj and name == "__class__" for owner, name, *_rest in self._applied):
            return
        original = type(obj)
        self._apply(obj, "__class__", original, factory(original))

    def _apply(self, owner: object, name: str, original: object, patched: object) -> None:
        owned = not isinstance(owner, type) or name in vars(owner)
        setattr(owner, name, patched)
        self._applied.append((owner, name, original, patched, owned))

    def apply(self, owner: object, name: str, original: object, patched: object) -> None:
        """Set ``owner.name = patched`` and remember ``original`` for :meth:`undo`.

        For patches whose idempotence rule is the caller's own (strict mode's net
        marks its guards itself); ``setattr``'s error (an immutable C type) propagates
        with nothing recorded.
        """
        self._apply(owner, name, original, patched)

    def adopt(self, owner: object, name: str, original: object, patched: object) -> None:
        """Remember a patch of ours found at ``owner.name`` that someone else put there.

        gevent copies ``gevent.socket``'s (guarded) functions into ``socket``: undo must
        put back what the copy wraps there too. Recorded once.
        """
        if not self.holds(owner, name, patched):
            self._applied.append((owner, name, original, patched, True))

    def holds(self, owner: object, name: str, patched: object) -> bool:
        """True when ``patched`` at ``owner.name`` is recorded here."""
        return any(o is owner and n == name and p is patched for o, n, _orig, p, _owned in self._applied)

    @property
    def active(self) -> bool:
        return bool(self._applied)

    def undo(self) -> List[str]:
        """Restore everything, newest first. Returns targets someone else re-wrapped meanwhile."""
        skipped = []
        while self._applied:
            owner, name, original, patched, owned = self._applied.pop()
            current = vars(owner).get(name) if isinstance(owner, type) else getattr(owner, name, None)
            if current is not patched:
                # Another instrumentation wrapped (or swapped) on top of ours: restoring
                # would drop theirs. Leave it; our wrapper passes through once deactivated.
                label = getattr(owner, "__qualname__", None) or getattr(owner, "__name__", owner)
                skipped.append(f"{label}.{name}")
                continue
            if owned:
                setattr(owner, name, original)
            else:
                delattr(owner, name)
        return skipped
