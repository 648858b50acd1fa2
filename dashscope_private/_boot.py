"""Start-up: activation from the environment, and the lazy post-import hooks it relies on.

Run by ``dashscope_private.pth`` (and ``_dashscope_private_start`` on 3.15+).
With ``DASHSCOPE_PRIVATE_ENDPOINT`` unset, :func:`boot` returns after one
dictionary lookup. With it set, it validates the configuration (an invalid
value prints exactly one line, here, at start-up) and registers lazy
post-import hooks; the runtime, the router and every integration load only
when the program imports a library we patch. It never raises: the
interpreter must start whatever happens here.

The hook machinery lives in this module, not a module of its own, because
every module on this path costs every Python process ~0.3 ms (the start-up
budget with the variable set is 15 % of a ~10 ms interpreter start). It uses
only builtins: ``wrapt.importer`` does the same job, but importing wrapt 2.x
costs ~100 ms (it pulls in asyncio).

How the hooks work: a finder at the front of ``sys.meta_path`` answers only
for the watched module names. It asks the other finders for the real spec and
wraps the loader so that, once the module has executed, the callbacks run.
The original loader is put back on the module before it executes, so
``__loader__``/``__spec__`` look exactly as without us. A callback that raises
propagates into the user's import, so every callback is guarded by the
runtime (logged once; raised only in strict mode).
"""

import _thread
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from types import ModuleType
    from typing import Callable, Dict, List

    Callback = Callable[[ModuleType], None]

__all__ = ["boot", "finder", "PostImportFinder", "report_startup_error", "watch_environ", "environ_changed"]

ENDPOINT = "DASHSCOPE_PRIVATE_ENDPOINT"
PREFIX = "DASHSCOPE_PRIVATE_"
#: Class attribute of ``os._Environ`` holding the original ``__setitem__`` once a watcher
#: is installed (this module's, or the start-up copies in ``dashscope_private.pth`` and
#: ``_dashscope_private_start``); its presence means "installed", so there is only one.
ORIGINAL = "_dashscope_private_setitem"

#: True while start-up activation waits for the first watched import.
pending = False
_booted = False
#: The last start-up error printed (each distinct one is printed once).
_reported: "object" = None
_environ_lock = _thread.RLock()


class _HookedLoader:
    """Delegates to the real loader and fires the callbacks after ``exec_module``."""

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


# ------------------------------------------------------------------ start-up activation


def report_startup_error(error: Exception) -> None:
    """Print the one line an invalid configuration gets: once per process for each distinct error."""
    global _reported
    message = str(error)
    if message != _reported:
        _reported = message
        sys.stderr.write(f"dashscope-private: {error} (requests to DashScope public hosts are blocked until this is fixed)\n")


def boot() -> None:
    """Activate from the environment if the endpoint variable is set; idempotent.

    Also installs the ``os.environ`` watcher, so that variables a program sets
    later (``load_dotenv()``, ``%env``, ``os.environ[...] = ...``) take effect.
    """
    global _booted
    watch_environ()
    if _booted or not os.environ.get(ENDPOINT):
        return
    _booted = True
    _start()


def _start() -> None:
    """Validate the environment's configuration and register the lazy hooks; never raises.

    Libraries imported already are patched at once (``finder.register`` calls
    the hook for them), which is what a variable set after start-up needs.
    """
    global pending
    try:
        from .config import INTEGRATION_MODULES, load

        watched = set(INTEGRATION_MODULES.values())
        try:
            config = load(os.environ)
            if config is None:  # unset, empty, or DASHSCOPE_PRIVATE_DISABLE
                if pending:
                    pending = False
                    finder.clear()
                return
            if config.strict:
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
        elif "socket" in watched and "socket" not in finder._hooks:  # strict mode set after the endpoint
            finder.register("socket", _activate_on_first_import)
    except Exception as exc:  # never break start-up, whatever went wrong
        if _is_strict_failure(exc):
            raise
        sys.stderr.write(f"dashscope-private: not activated ({type(exc).__name__}: {exc})\n")


def _is_strict_failure(exc: Exception) -> bool:
    """An integration failing in strict mode (``IntegrationError``): an error, as at an import."""
    errors = sys.modules.get("dashscope_private.errors")
    return errors is not None and isinstance(exc, errors.DashscopePrivateError)


# ------------------------------------------------------------------ variables set after start-up


def watch_environ() -> None:
    """Call :func:`environ_changed` whenever a ``DASHSCOPE_PRIVATE_*`` key is set in ``os.environ``.

    ``os._Environ.__setitem__`` is the one door every write goes through:
    ``os.environ[k] = v``, ``update()``, ``setdefault()``, ``|=``, python-dotenv's
    ``load_dotenv()`` and IPython's ``%env``. The replacement calls the original
    first, so return values, exceptions and ``os.environ`` semantics are
    unchanged; only a successful write of one of our keys costs more than a
    string comparison. The original is kept as the class attribute
    ``_dashscope_private_setitem``, which also marks the watcher as installed:
    the ``.pth`` line (as a one-line lambda, compiled only when the variable is
    unset) and ``_dashscope_private_start`` install the same watcher at start-up
    without importing this package, and whichever comes first wins.
    """
    environ_type = type(os.environ)
    if ORIGINAL in vars(environ_type):
        return
    original = environ_type.__setitem__
    environ = os.environ

    def __setitem__(self, key, value):  # type: ignore[no-untyped-def]
        original(self, key, value)
        if self is environ and key[:18] == PREFIX:
            environ_changed(key)

    __setitem__.__qualname__ = original.__qualname__
    __setitem__.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(environ_type, ORIGINAL, original)
    environ_type.__setitem__ = __setitem__  # type: ignore[method-assign]


def environ_changed(key: str) -> None:
    """A ``DASHSCOPE_PRIVATE_*`` variable was just set in ``os.environ``: (re)activate; never raises.

    Before the first activation this does what start-up would have done (an
    invalid value: one stderr line, fail closed). While active, the whole
    configuration is read again (a variable later in the same ``.env`` re-
    configures). Writes made by our own runtime (``activate()`` exporting its
    values) are ignored.
    """
    runtime = sys.modules.get("dashscope_private._runtime")
    try:
        if runtime is not None and runtime._lock._is_owned():
            return  # our own write, from inside activate()/deactivate()
        with _environ_lock:
            if runtime is not None and runtime.current() is not None:
                runtime.reconfigure_from_environment()
            else:
                _start()
    except Exception as exc:  # the user's assignment has happened; do not fail it
        if _is_strict_failure(exc):
            raise
        sys.stderr.write(f"dashscope-private: {key} was set, but activation failed ({type(exc).__name__}: {exc})\n")


def _activate_on_first_import(module: object) -> None:
    """The first watched import: activate fully, then patch the module being imported."""
    global pending
    from ._runtime import activate_from_environment, install_for_module

    if pending:
        pending = False
        activate_from_environment()
    install_for_module(getattr(module, "__name__", ""))
