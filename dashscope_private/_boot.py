"""Start-up entry point, run by ``dashscope_private.pth`` (and ``_dashscope_private_start`` on 3.15+).

With ``DASHSCOPE_PRIVATE_ENDPOINT`` unset this returns after one dictionary
lookup. With it set, it validates the configuration (an invalid value prints
exactly one line, here, at start-up) and registers lazy post-import hooks;
the runtime, the router and every integration load only when the program
imports a library we patch. Each module imported here costs every process
a few hundred microseconds, so this path touches only ``config``, ``errors``
and ``_importhook``. It never raises: the interpreter must start whatever
happens here.
"""

import os
import sys

ENDPOINT = "DASHSCOPE_PRIVATE_ENDPOINT"

#: True while start-up activation waits for the first watched import.
pending = False
_booted = False
_reported = False


def report_startup_error(error: Exception) -> None:
    """Print the one line an invalid configuration gets, once per process."""
    global _reported
    if not _reported:
        _reported = True
        sys.stderr.write(f"dashscope-private: {error} (requests to DashScope public hosts are blocked until this is fixed)\n")


def boot() -> None:
    """Activate from the environment if the endpoint variable is set; idempotent."""
    global _booted, pending
    if _booted or not os.environ.get(ENDPOINT):
        return
    _booted = True
    try:
        from .config import INTEGRATION_MODULES, load
        from .errors import ConfigError

        try:
            if load(os.environ) is None:
                return  # DASHSCOPE_PRIVATE_DISABLE
        except ConfigError as exc:
            report_startup_error(exc)  # and fail closed once a library is imported
        from ._importhook import finder

        pending = True
        for module_name in set(INTEGRATION_MODULES.values()):
            finder.register(module_name, _activate_on_first_import)
    except Exception as exc:  # never break start-up, whatever went wrong
        sys.stderr.write(f"dashscope-private: not activated ({type(exc).__name__}: {exc})\n")


def _activate_on_first_import(module: object) -> None:
    """The first watched import: activate fully, then patch the module being imported."""
    global pending
    from ._runtime import activate_from_environment, install_for_module

    if pending:
        pending = False
        activate_from_environment()
    install_for_module(getattr(module, "__name__", ""))
