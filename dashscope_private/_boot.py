"""Start-up: activation from the environment, below every other layer of the package.

Run through ``_dashscope_private_start`` (which ``dashscope_private.pth`` imports,
and Python 3.15+ runs from ``dashscope_private.start``) when the variable is set.
With ``DASHSCOPE_PRIVATE_ENDPOINT`` unset, :func:`boot` returns after one
dictionary lookup. With it set, it validates the configuration (an invalid
value prints exactly one line, here, at start-up) and registers lazy
post-import hooks (``_finder``) for the modules the registry names; the
activation layer, the router and every integration load only when the program
imports one of them. It never raises: the interpreter must start whatever
happens here.

Start-up imports only ``config``, ``_registry`` and ``_finder`` (builtins only):
every module on this path costs every Python process ~0.1-0.3 ms, and the budget
with the variable set is 15 % of a ~10 ms interpreter start. It hands over to the
activation layer by name (:data:`ACTIVATION`), as a ``.pth`` line or an entry
point names its code, so nothing below imports anything above it.
"""

import _thread
import os
import sys

from ._finder import PostImportFinder, finder, is_initializing

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from types import ModuleType
    from typing import Callable, Dict, List

    Callback = Callable[[ModuleType], None]

__all__ = [
    "boot",
    "finder",
    "PostImportFinder",
    "report_startup_error",
    "settings",
    "forget_settings",
    "own_writes",
    "activation_lock",
    "watch_environ",
    "environ_changed",
]

ENDPOINT = "DASHSCOPE_PRIVATE_ENDPOINT"
#: The activation layer (``activate_from_environment``, ``install_for_module``,
#: ``reconfigure_from_environment``, ``current``), imported by name on the first watched import.
ACTIVATION = "dashscope_private._runtime"

#: True while start-up activation waits for the first watched import.
pending = False
_booted = False
#: The last start-up error printed (each distinct one is printed once).
_reported: "object" = None
#: One lock for every change of activation state: start-up, the watcher, activate(), the
#: runtime (its ``_lock``). Re-entrant: hooks fired inside an activation re-enter it.
activation_lock = _thread.RLock()
#: Idents of threads writing ``os.environ`` for the runtime itself (see :class:`own_writes`).
_own_writer: "List[int]" = []
#: Settings as last read; see :func:`settings`.
_settings: "Dict[str, str]" = {}


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
    with activation_lock:
        if _booted:
            return
        _booted = True
        _start()


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


def forget_settings() -> None:
    """``deactivate()``: settings are read afresh from ``os.environ`` next time."""
    with activation_lock:
        _settings.clear()


def _start() -> None:
    """Validate the environment's configuration and register the lazy hooks; never raises.

    Libraries imported already are patched at once (``finder.register`` calls
    the hook for them), which is what a variable set after start-up needs.
    """
    global pending
    try:
        from ._registry import TRIGGERS
        from .config import load

        watched = set(TRIGGERS)
        try:
            config = load(settings())
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
        elif "socket" in watched and not finder.watches("socket"):  # strict mode set after the endpoint
            finder.register("socket", _activate_on_first_import)
    except Exception as exc:  # never break start-up, whatever went wrong
        if _is_strict_failure(exc):
            raise
        sys.stderr.write(f"dashscope-private: not activated ({type(exc).__name__}: {exc})\n")


def _is_strict_failure(exc: Exception) -> bool:
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


# ------------------------------------------------------------------ variables set after start-up


class own_writes:
    """``with own_writes():`` around the runtime's own ``os.environ`` writes (exporting
    ``activate()`` values, restoring them): the watcher ignores them in this thread."""

    def __enter__(self) -> None:
        _own_writer.append(_thread.get_ident())

    def __exit__(self, *exc_info: object) -> None:
        _own_writer.remove(_thread.get_ident())


def watch_environ() -> None:
    """Install the ``os.environ`` watcher (once per process), whichever start-up path runs first.

    The watcher itself lives in ``_dashscope_private_start``, the top-level
    module the ``.pth`` line imports while the variable is unset (so start-up
    never imports this package for it); see its docstring. A source checkout
    without that module on ``sys.path`` loads it from ``activation/``.
    """
    try:
        import _dashscope_private_start as start
    except ImportError:
        start = _start_module_from_checkout()
    watch = getattr(start, "watch_environ", None)  # None: no start module, or a stale one
    if watch is not None:
        watch()


def _start_module_from_checkout() -> "ModuleType | None":
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


def environ_changed(key: str) -> None:
    """A ``DASHSCOPE_PRIVATE_*`` variable was just set in ``os.environ``: (re)activate; never raises.

    Before the first activation this does what start-up would have done (an
    invalid value: one stderr line, fail closed). While active, the whole
    configuration is read again (a variable later in the same ``.env`` re-
    configures). Writes made by our own runtime (``activate()`` exporting its
    values) are ignored. Serialised with activation under one lock, so a write
    racing another thread's import neither misses that library nor sees a
    half-imported runtime.
    """
    if _thread.get_ident() in _own_writer:
        return  # our own write, from inside activate()/deactivate()
    try:
        with activation_lock:
            runtime = sys.modules.get(ACTIVATION)
            if runtime is not None and not is_initializing(runtime) and runtime.current() is not None:
                runtime.reconfigure_from_environment()
            else:
                _start()
    except Exception as exc:  # the user's assignment has happened; do not fail it
        if _is_strict_failure(exc):
            raise
        sys.stderr.write(f"dashscope-private: {key} was set, but activation failed ({type(exc).__name__}: {exc})\n")
