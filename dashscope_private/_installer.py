"""The installer: puts each integration in its library, and takes it out again.

Which integrations exist, which imports install them and which module
implements each are rows of the registry (``config.INTEGRATION_ROWS``, as ``registry`` objects); the implementation is imported by
name, only when its library is. The contract every integration keeps
(``docs/architecture.md``): ``install()`` is idempotent and all-or-nothing (a
failure leaves nothing patched), and ``uninstall()`` returns the targets it left
in place because someone else wrapped them after us.
"""

from __future__ import annotations

from . import _log, _state
from ._boot import activation_lock, finder
from .config import TRIGGERS
from .registry import INTEGRATIONS_BY_NAME

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from types import ModuleType
    from typing import Callable, Dict, Iterable

__all__ = ["register_hooks", "install_for_module", "install", "uninstall", "uninstall_all", "installed_integrations"]

#: integration name -> its implementation module, while installed
_installed: Dict[str, ModuleType] = {}


def installed_integrations() -> tuple:
    """Names of the integrations currently patched into their libraries."""
    return tuple(_installed)


def register_hooks(disabled: Iterable[str]) -> None:
    """Install each enabled integration when (or now, if) one of its modules is imported."""
    for name, integration in INTEGRATIONS_BY_NAME.items():
        if name not in disabled:
            for module_name in integration.modules:
                finder.register(module_name, _hook_for(name))


def _hook_for(name: str) -> Callable[[ModuleType], None]:
    def hook(module: ModuleType) -> None:
        install(name)

    return hook


def install_for_module(module_name: str) -> None:
    """Install the integrations ``module_name``'s import triggers (called while it finishes importing)."""
    router = _state.current()
    if router is None:
        return
    disabled = router.config.disabled_integrations if router.config else frozenset()
    for name in TRIGGERS.get(module_name, ()):
        if name not in disabled:
            install(name)


def install(name: str) -> None:
    """Install one integration; a failure is recorded and logged once (strict mode: raised)."""
    with activation_lock:
        if _state.current() is None:
            return
        integration = INTEGRATIONS_BY_NAME[name]
        impl = None
        try:
            # __import__, not importlib.import_module: the latter takes the module lock even for a
            # loaded module (3.9-3.11), which a hook holding the activation lock must not wait on
            impl = __import__(integration.implementation, fromlist=("install",))
            impl.install()
            _installed[name] = impl
        except Exception as exc:
            if impl is not None:
                try:
                    impl.uninstall()
                except Exception:
                    pass
            _installed.pop(name, None)
            _state.report_failure(name, integration.modules[0], exc)


def uninstall(name: str) -> None:
    """Take one integration out of its library; wrappers re-wrapped by others stay (and pass through)."""
    impl = _installed.pop(name, None)
    if impl is None:
        return
    try:
        skipped = impl.uninstall()
        if skipped:
            _log.once("info", ("skip", name), "left wrappers re-wrapped by other code in place: %s", skipped)
    except Exception as exc:
        _log.once("warning", ("uninstall", name), "could not fully uninstall %s: %s", name, exc)


def uninstall_all(only: Iterable[str] | None = None) -> None:
    """Uninstall every installed integration, or those of ``only`` that are installed."""
    for name in list(_installed):
        if only is None or name in only:
            uninstall(name)
