"""The post-import hook finder: run callbacks once a watched module's import is complete.

Builtins only, because it is on the start-up path with the variable set (every
module there costs every Python process); ``wrapt.importer`` does the same job,
but importing wrapt 2.x costs ~100 ms (it pulls in asyncio).

How it works: a finder at the front of ``sys.meta_path`` answers only for the
watched module names. It asks the other finders for the real spec and wraps the
loader so that, once the module's import is complete, the callbacks run; a hook
registered while its module is still importing (here or in another thread)
waits for that moment too (:class:`_CompletionWatch`). The original loader is
put back on the module before it executes, so ``__loader__``/``__spec__`` look
exactly as without us. A callback that raises propagates into the user's import,
so every callback the package registers is guarded (logged once; raised only in
strict mode).
"""

import _thread
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from types import ModuleType
    from typing import Callable, Dict, List

    Callback = Callable[[ModuleType], None]

__all__ = ["PostImportFinder", "finder", "is_initializing"]


class _HookedLoader:
    """Delegates to the real loader and watches the module's import until it completes."""

    def __init__(self, loader: object, finder: "PostImportFinder") -> None:
        self._loader = loader
        self._finder = finder

    def create_module(self, spec):  # type: ignore[no-untyped-def]
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: "ModuleType") -> None:
        module.__loader__ = self._loader  # type: ignore[assignment]
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            spec.loader = self._loader
        self._loader.exec_module(module)  # type: ignore[attr-defined]
        self._finder.when_complete(module.__name__, module)


class _CompletionWatch:
    """Mixed into a module's spec class while its import runs: reports ``_initializing = False``.

    ``importlib._bootstrap._load_unlocked`` sets ``spec._initializing = False``
    in a ``finally`` once the module is in ``sys.modules`` for good (3.9 to
    3.13 alike): the one moment an import is complete, in the importing thread,
    whoever started it. The spec gets its own class back at that moment. (No
    ``__slots__`` here: the mixed class must keep the spec's ``__dict__`` layout.)
    """

    def __setattr__(self, name: str, value: object) -> None:
        super().__setattr__(name, value)  # type: ignore[misc]
        if name == "_initializing" and not value:
            self.__class__ = self.__class__.__bases__[1]  # the spec's own class again
            for watcher in _finders:
                watcher.complete(self.name)  # type: ignore[attr-defined]


_watch_classes: "Dict[type, type]" = {}
#: Every finder made (the process-wide one, and any a test makes): told when a watched import completes.
_finders: "List[PostImportFinder]" = []


def _watch_spec(spec: object) -> bool:
    """Make ``spec`` report the end of its import; False where its class cannot take the mixin."""
    cls = type(spec)
    if _CompletionWatch in cls.__mro__:
        return True
    watch = _watch_classes.get(cls)
    try:
        if watch is None:
            watch = _watch_classes[cls] = type(cls.__name__, (_CompletionWatch, cls), {"__slots__": ()})
        spec.__class__ = watch
    except TypeError:  # a spec class with another layout (slots, C type): fall back to polling
        return False
    return True


class PostImportFinder:
    """A meta path finder that only watches; it never loads anything itself.

    A hook runs exactly once per import of its module, after the module has
    finished executing: for a module imported later, when that import
    completes; for a module already imported, at once; and for a module whose
    import is under way (in this thread, further up the stack, or in another
    thread) when that import completes. The last case is what a hook
    registered from inside another hook meets: ``urllib.request`` imports
    ``http.client``, whose hook registers one for ``urllib.request``.
    """

    def __init__(self) -> None:
        self._hooks: Dict[str, List[Callback]] = {}
        #: hooks waiting for an import under way to complete, by module name
        self._waiting: Dict[str, List[Callback]] = {}
        self._resolving: set = set()
        self._lock = _thread.RLock()
        _finders.append(self)

    # --------------------------------------------------------------- registry

    def register(self, name: str, callback: "Callback") -> None:
        """Run ``callback(module)`` after ``name`` is imported, or now if it already is."""
        with self._lock:
            self._hooks.setdefault(name, []).append(callback)
            if self not in sys.meta_path:
                sys.meta_path.insert(0, self)
            module = sys.modules.get(name)
            spec = getattr(module, "__spec__", None) if module is not None else None
            if spec is None:
                return  # not imported (or a stand-in without a spec): the import itself fires the hook
            if is_initializing(module):
                self._waiting.setdefault(name, []).append(callback)
                if not _watch_spec(spec) or is_initializing(module):
                    return  # complete() runs it when the import ends (or find_spec's poll, unwatched)
                callbacks = self._waiting.pop(name, [])  # it ended meanwhile
            else:
                callbacks = [callback]
        current = sys.modules.get(name) or module  # the module may have replaced itself in sys.modules
        for hook in callbacks:
            hook(current)  # type: ignore[arg-type]

    def watches(self, name: str) -> bool:
        """True when a hook is registered for ``name``."""
        return name in self._hooks

    def clear(self, leave: bool = False) -> None:
        """Forget every hook. The finder stays on ``sys.meta_path`` unless ``leave``.

        Removing it while another thread's import iterates ``sys.meta_path``
        shifts the list under that loop, which then skips the next finder (the
        path finder, say) and fails with ``ModuleNotFoundError``; with no hooks
        it answers ``None`` after one dictionary lookup. ``leave`` is for a
        finder of one's own, once no other thread can be importing.
        """
        with self._lock:
            self._hooks.clear()
            self._waiting.clear()
            if leave:
                try:
                    sys.meta_path.remove(self)
                except ValueError:
                    pass

    def when_complete(self, name: str, module: "ModuleType") -> None:
        """``module`` has executed: run its hooks once its import is complete (now, if it is)."""
        with self._lock:
            callbacks = list(self._hooks.get(name, ()))
            if not callbacks:
                return
            if is_initializing(module):
                waiting = self._waiting.setdefault(name, [])
                waiting.extend(c for c in callbacks if c not in waiting)  # once, if register() queued it too
                if not _watch_spec(module.__spec__) or is_initializing(module):
                    return
                callbacks = self._waiting.pop(name, [])
        for callback in callbacks:
            callback(module)

    def complete(self, name: str) -> None:
        """The import of ``name`` has completed: run the hooks that waited for it (once each)."""
        with self._lock:
            callbacks = self._waiting.pop(name, [])
        module = sys.modules.get(name)
        if module is None:  # the import failed: the next attempt goes through find_spec again
            return
        for callback in callbacks:
            callback(module)

    def _complete_finished(self) -> None:
        """Fallback for specs that could not be watched: fire for imports that have since completed."""
        with self._lock:
            names = [n for n in self._waiting if n in sys.modules and not is_initializing(sys.modules[n])]
        for name in names:
            self.complete(name)

    # --------------------------------------------------------------- finder protocol

    def find_spec(self, fullname: str, path=None, target=None):  # type: ignore[no-untyped-def]
        if self._waiting:
            self._complete_finished()
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


def is_initializing(module: object) -> bool:
    """True while the module is still executing (its own import, here or in another thread)."""
    spec = getattr(module, "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


#: The process-wide finder.
finder = PostImportFinder()
