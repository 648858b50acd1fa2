"""Lazy post-import hooks with nothing but builtins.

``wrapt.importer`` does this too, but importing wrapt 2.x costs ~100 ms
(it pulls in asyncio), which we cannot charge to every process at start-up.
A finder at the front of ``sys.meta_path`` answers only for the watched module
names: it asks the other finders for the real spec and wraps the loader so
that, once the module has executed, the callbacks run. The original loader is
put back on the module before it executes, so ``__loader__``/``__spec__``
look exactly as without us.

A callback that raises is the caller's business: the runtime wraps every
callback so that a failure is logged and never breaks the user's import,
unless strict mode asked for exactly that.
"""

import _thread
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from types import ModuleType
    from typing import Callable, Dict, List

    Callback = Callable[[ModuleType], None]

__all__ = ["PostImportFinder", "finder"]


class _HookedLoader:
    """Delegates to the real loader and fires the callbacks after ``exec_module``."""

    def __init__(self, loader: object, finder: "PostImportFinder") -> None:
        self._loader = loader
        self._finder = finder

    def create_module(self, spec):  # type: ignore[no-untyped-def]
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: "ModuleType") -> None:
        module.__loader__ = self._loader
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            spec.loader = self._loader
        self._loader.exec_module(module)  # type: ignore[attr-defined]
        self._finder.fire(module.__name__, module)

    def __getattr__(self, name: str) -> object:
        return getattr(self._loader, name)


class PostImportFinder:
    """A meta path finder that only watches; it never loads anything itself."""

    def __init__(self) -> None:
        self._hooks: Dict[str, List[Callback]] = {}
        self._resolving: set = set()
        self._lock = _thread.RLock()

    # --------------------------------------------------------------- registry

    def register(self, name: str, callback: "Callback") -> None:
        """Run ``callback(module)`` after ``name`` is imported, or now if it already is."""
        with self._lock:
            self._hooks.setdefault(name, []).append(callback)
            if self not in sys.meta_path:
                sys.meta_path.insert(0, self)
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__spec__", None) is not None and not _is_initializing(module):
            callback(module)

    def clear(self) -> None:
        """Forget every hook and leave ``sys.meta_path``."""
        with self._lock:
            self._hooks.clear()
            try:
                sys.meta_path.remove(self)
            except ValueError:
                pass

    def fire(self, name: str, module: "ModuleType") -> None:
        with self._lock:
            callbacks = list(self._hooks.get(name, ()))
        for callback in callbacks:
            callback(module)

    # --------------------------------------------------------------- finder protocol

    def find_spec(self, fullname: str, path=None, target=None):  # type: ignore[no-untyped-def]
        if fullname not in self._hooks:
            return None
        key = (fullname, _thread.get_ident())
        if key in self._resolving:  # another finder asked the meta path again (e.g. wrapt's)
            return None
        self._resolving.add(key)
        try:
            spec = None
            for other in list(sys.meta_path):
                if other is self:
                    continue
                find = getattr(other, "find_spec", None)
                if find is None:
                    continue
                spec = find(fullname, path, target)
                if spec is not None:
                    break
        finally:
            self._resolving.discard(key)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _HookedLoader(spec.loader, self)
        return spec


def _is_initializing(module: "ModuleType") -> bool:
    """True while the module is still executing (a partial import in another thread)."""
    spec = getattr(module, "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


#: The process-wide finder.
finder = PostImportFinder()
