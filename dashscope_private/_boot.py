"""Start-up: activation from the environment, and the post-import hooks it relies on.

The lowest layer, run through ``_dashscope_private_start`` (the ``.pth``; Python 3.15+:
``dashscope_private.start``) when the variable is set. It validates the configuration (an
invalid value prints exactly one line, here) and registers lazy post-import hooks for the
modules the registry names; activation, the router and the integrations load when the
program imports one. It never raises, and hands over to activation by name
(:data:`ACTIVATION`): nothing here imports anything above it.

Start-up loads this module, ``config`` and ``hosts``, builtins only: each module costs every
Python process ~300,000 instructions before it runs a line, and the budget with the variable
set is 15 % of a ~10 ms start. Hence the finder (:class:`PostImportFinder`) lives here
(``wrapt.importer`` does the same job, but wrapt 2.x costs ~100 ms). A callback that raises
propagates into the user's import, so every callback the package registers is guarded.
"""

import _thread
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from types import ModuleType
    from typing import Callable, Dict, List

    Callback = Callable[[ModuleType], None]

__all__ = [
    "boot", "finder", "PostImportFinder", "is_initializing", "report_startup_error", "settings",
    "forget_settings", "activation_lock", "watch_environ", "start_from_settings", "is_strict_failure", "ACTIVATION",
]

ENDPOINT = "DASHSCOPE_PRIVATE_ENDPOINT"
ACTIVATING = (ENDPOINT, "DASHSCOPE_PRIVATE_ROUTES", "DASHSCOPE_PRIVATE_CONFIG")  # config.ACTIVATING
#: The activation layer, imported by name on the first watched import (``activate_from_environment`` ...).
ACTIVATION = "dashscope_private._runtime"

#: True while start-up activation waits for the first watched import.
pending = False
_booted = False
#: The last start-up error printed (each distinct one is printed once).
_reported: "object" = None
#: One lock for every change of activation state: start-up, the watcher, activation and the
#: installer. Re-entrant: hooks fired inside an activation re-enter it.
activation_lock = _thread.RLock()
#: Settings as last read; see :func:`settings`.
_settings: "Dict[str, str]" = {}


# ------------------------------------------------------------------ post-import hooks


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
    """A meta path finder that only watches: it asks the other finders for the spec and wraps its
    loader (put back before the module runs, so ``__loader__``/``__spec__`` are unchanged).

    A hook runs exactly once per import of its module, after the module has
    finished executing: for a module imported later, when that import
    completes; for a module already imported, at once; and for a module whose
    import is under way (in this thread, further up the stack, or in another
    thread) when that import completes. The last case is what a hook
    registered from inside another hook meets: ``urllib.request`` imports
    ``http.client``, whose hook registers one for ``urllib.request``. A spec
    reports the end of its import (:class:`_CompletionWatch`); one that cannot is polled.
    """

    def __init__(self) -> None:
        self._hooks: Dict[str, List[Callback]] = {}
        #: hooks waiting for an import under way to complete, by module name
        self._waiting: Dict[str, List[Callback]] = {}
        #: the names among them whose spec could not be watched: polled by find_spec
        self._unwatched: set = set()
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
                if not self._watch(name, spec) or is_initializing(module):
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
            self._unwatched.clear()
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
                if not self._watch(name, module.__spec__) or is_initializing(module):
                    return
                callbacks = self._waiting.pop(name, [])
        for callback in callbacks:
            callback(module)

    def complete(self, name: str) -> None:
        """The import of ``name`` has completed: run the hooks that waited for it (once each)."""
        with self._lock:
            callbacks = self._waiting.pop(name, [])
            self._unwatched.discard(name)
        module = sys.modules.get(name)
        if module is None:  # the import failed: the next attempt goes through find_spec again
            return
        for callback in callbacks:
            callback(module)

    def _watch(self, name: str, spec: object) -> bool:
        watched = _watch_spec(spec)
        if not watched:
            self._unwatched.add(name)
        return watched

    def _complete_finished(self) -> None:
        """For specs that could not be watched only: fire for imports that have since completed. (It runs
        in ``find_spec``, under the global import lock: a watched import's hooks run in its own thread,
        never here, where a hook waiting for the activation lock deadlocks with a thread that imports.)"""
        with self._lock:
            names = [n for n in self._unwatched if n in sys.modules and not is_initializing(sys.modules[n])]
        for name in names:
            self.complete(name)

    # --------------------------------------------------------------- finder protocol

    def find_spec(self, fullname: str, path=None, target=None):  # type: ignore[no-untyped-def]
        if self._unwatched:
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


# ------------------------------------------------------------------ start-up activation


def report_startup_error(error: Exception) -> None:
    """Print the one line an invalid configuration gets: once per process for each distinct error."""
    global _reported
    message = str(error)
    if message != _reported:
        _reported = message
        sys.stderr.write(f"dashscope-private: {error} (requests to DashScope public hosts are blocked until this is fixed)\n")


def boot() -> None:
    """Activate if an :data:`ACTIVATING` variable is set; idempotent. Also installs the ``os.environ``
    watcher, so variables set later (``load_dotenv()``, ``%env``, ``os.environ[...]``) take effect."""
    global _booted
    watch_environ()
    if _booted or not any(os.environ.get(name) for name in ACTIVATING):
        return
    with activation_lock:
        if _booted:
            return
        _booted = True
        start_from_settings()


def settings() -> "Dict[str, str]":
    """The ``DASHSCOPE_PRIVATE_*`` values in force: those in ``os.environ``, plus any removed since.

    Removing a variable is not a change of settings (the watcher sees writes
    only, and ``os.unsetenv`` is not seen at all): a variable read once keeps
    its last value until it is written again or :func:`forget_settings` runs
    (``deactivate()``). One rule for every path that reads the environment,
    so ``del os.environ[ENDPOINT]`` never deactivates, whatever is written next.
    """
    from .config import VARIABLES  # loaded already wherever settings are read

    environ = os.environ
    with activation_lock:
        for name in VARIABLES:  # the variables load() reads: no scan of the whole environment
            value = environ.get(name)
            if value is not None:
                _settings[name] = value
        return dict(_settings)


def forget_settings(keep: "Dict[str, str] | None" = None) -> None:
    """``deactivate()``: settings are read afresh from ``os.environ`` next time (``keep``: as if read)."""
    with activation_lock:
        _settings.clear()
        _settings.update(keep or {})


def start_from_settings() -> None:
    """Validate the configuration and register the lazy hooks (libraries imported already are patched at
    once: a variable set after start-up); never raises. A settings file is read at activation, not here
    (``tomllib`` costs ~5 ms): until then ``socket`` is watched too, as the file may ask for strict mode."""
    global pending
    try:
        from .config import CONFIG, TRIGGERS, load

        watched = set(TRIGGERS)
        try:
            values = settings()
            config = None if values.get(CONFIG, "").strip() else load(values)
            if config is None and values.get(CONFIG, "").strip():
                watched.add("socket")
            elif config is None:  # unset, empty, or DASHSCOPE_PRIVATE_DISABLE
                if pending:
                    pending = False
                    finder.clear()
                return
            elif config.strict:
                watched.add("socket")  # strict mode's net goes under every stack, known or not
        except Exception as exc:
            from .errors import ConfigError  # only now: a valid configuration never loads it

            if not isinstance(exc, ConfigError):
                raise
            report_startup_error(exc)  # and fail closed once a library is imported
            watched.add("socket")
        if not pending:
            pending = True
            for module_name in watched:
                finder.register(module_name, _activate_on_first_import)
        elif "socket" in watched and not finder.watches("socket"):  # strict mode set after the endpoint
            finder.register("socket", _activate_on_first_import)
    except Exception as exc:  # never break start-up, whatever went wrong
        if is_strict_failure(exc):
            raise
        sys.stderr.write(f"dashscope-private: not activated ({type(exc).__name__}: {exc})\n")


def is_strict_failure(exc: Exception) -> bool:
    """An integration failing in strict mode (``IntegrationError``): an error, as at an import."""
    errors = sys.modules.get("dashscope_private.errors")
    return errors is not None and isinstance(exc, errors.DashscopePrivateError)


def _activate_on_first_import(module: object) -> None:
    """The first watched import: activate fully, then patch the module being imported."""
    global pending
    runtime = __import__(ACTIVATION, fromlist=("activate_from_environment",))
    with activation_lock:
        if pending:
            pending = False
            runtime.activate_from_environment()
    runtime.install_for_module(getattr(module, "__name__", ""))


def watch_environ() -> None:
    """Install the ``os.environ`` watcher (once per process), whichever start-up path runs first.

    It lives in ``_dashscope_private_start``, which the ``.pth`` imports while the variable is
    unset; a source checkout without that module on ``sys.path`` loads it from ``activation/``.
    """
    try:
        import _dashscope_private_start as start
    except ImportError:
        start = _start_module_from_checkout()
    watch = getattr(start, "watch_environ", None)  # None: no start module, or a stale one
    if watch is not None:
        watch()


def _start_module_from_checkout() -> "ModuleType | None":
    """The watcher's module from ``activation/`` in a source checkout, where it is not on ``sys.path``."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "activation", "_dashscope_private_start.py")
    if not os.path.exists(path):
        return None
    import importlib.util

    spec = importlib.util.spec_from_file_location("_dashscope_private_start", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return sys.modules.setdefault("_dashscope_private_start", module)
