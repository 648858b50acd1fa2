"""Activation: turn settings into the router in force, the integrations' hooks and the net.

Everything here is idempotent and thread-safe under the one activation lock
(``_boot.activation_lock``, shared with start-up and the ``os.environ`` watcher).
The state the request path reads lives below, in ``_state``; the integrations are
put in and taken out by ``_installer``; start-up (``_boot``) reaches this module by
name on the first watched import. The names of ``_state`` the public API and the
tools use are importable from here too.
"""

from __future__ import annotations

import os
import sys

from . import _boot, _environ, _installer, _log, _state
from ._boot import finder, report_startup_error, settings
from ._state import current, endpoint_host, integration_failures, on_import, route_target, route_url
from .config import ACTIVATING, ENDPOINT, HOSTS, ROUTES, VARIABLES, HostSet, PUBLIC_MODEL_STUDIO_HOSTS, load, parse_hosts
from .hosts import parse_pattern
from .errors import ConfigError
from .routing import Router

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from types import ModuleType
    from typing import Any, Dict, Optional

__all__ = [
    "activate",
    "activate_from_environment",
    "reconfigure_from_environment",
    "deactivate",
    "is_active",
    "ensure_started",
    "rewrite_url",
    "install_for_module",
    # from _state and _installer, for the public API and the tools
    "current",
    "endpoint_host",
    "route_url",
    "route_target",
    "on_import",
    "installed_integrations",
    "integration_failures",
]

#: ``activate()`` keyword -> variable
OVERRIDE_NAMES = {name[len("DASHSCOPE_PRIVATE_") :].lower(): name for name in VARIABLES}

_lock = _boot.activation_lock  # one lock with start-up and the os.environ watcher
_saved_environ: Dict[str, Optional[str]] = {}

install_for_module = _installer.install_for_module
installed_integrations = _installer.installed_integrations


def rewrite_url(url: str) -> str:
    """The public ``rewrite_url``: completes a pending start-up activation first."""
    ensure_started()
    return route_url(url)


# ------------------------------------------------------------------ activation


def is_active() -> bool:
    """True while a configuration (valid, or invalid and failing closed) is in force."""
    ensure_started()
    return current() is not None


def ensure_started() -> None:
    """Finish a start-up activation that is still waiting for the first SDK import.

    At start-up only the configuration is checked and lazy hooks are
    registered; the public API calls this so it never reports "inactive" for
    a process that was started with the variable set.
    """
    if _boot.pending and current() is None:
        activate_from_environment()


def activate(endpoint: str | None = None, **overrides: Any) -> None:
    """Activate from the environment plus explicit values; raises :class:`ConfigError` if invalid.

    Explicit values are exported to ``os.environ`` so that child processes
    (multiprocessing spawn, subprocess) go private too.
    """
    values = {}
    if endpoint is not None:
        values[ENDPOINT] = endpoint
    for key, value in overrides.items():
        variable = OVERRIDE_NAMES.get(key.lower())
        if variable is None:
            raise TypeError(f"activate() got an unexpected keyword argument {key!r}; expected one of {', '.join(sorted(OVERRIDE_NAMES))}")
        values[variable] = value
    with _lock:
        in_force = settings()
        config = load(in_force, values)
        if config is None:
            if not any(values.get(name) or in_force.get(name) for name in ACTIVATING):
                raise ConfigError(ENDPOINT, "no endpoint is configured", "pass activate(endpoint=...) or routes=..., or set the variable")
            _log.once("info", "killswitch", "DASHSCOPE_PRIVATE_DISABLE is set: not activating")
            return
        _export_environment(values, config)
        _apply(Router(config, on_warn=_state.warn_public))


def activate_from_environment() -> bool:
    """Start-up activation (.pth, ``.start``, ``import dashscope_private.auto``); never raises.

    An invalid value prints one line to stderr and fails closed. Returns True
    when a configuration (valid or failing) is in force.
    """
    with _lock:
        try:
            config = load(settings())
        except ConfigError as exc:
            report_startup_error(exc)
            router = current()
            if router is None or router.error is None:
                _apply(Router.failing(exc, _fallback_hosts()))
            return True
        if config is None:
            return False
        router = current()
        if router is not None and router.config == config:
            return True  # a second .pth pass, or auto after the .pth: nothing to do
        _export_environment({}, config)
        _apply(Router(config, on_warn=_state.warn_public))
        return True


def reconfigure_from_environment() -> None:
    """A ``DASHSCOPE_PRIVATE_*`` variable was set while active (the ``os.environ`` watcher in ``_boot``).

    The whole configuration is read again: a new one replaces the old, an
    invalid one prints one line and fails closed (as at start-up), and an
    emptied endpoint or ``DASHSCOPE_PRIVATE_DISABLE=1`` deactivates.
    """
    with _lock:
        try:
            off = load(settings()) is None
        except ConfigError:
            off = False  # activate_from_environment reports it and fails closed
        if off:
            deactivate(forget=False)
        else:
            activate_from_environment()


def deactivate(forget: bool = True) -> None:
    """Undo everything: integrations, hooks, exported variables. Safe to call when inactive.

    ``forget``: the settings read so far are dropped too (the public ``deactivate()``); the
    watcher deactivating on an emptied endpoint keeps them (a removal is no change).
    """
    with _lock:
        _boot.pending = False
        _state.swap(None)
        if _state._recorder is not None:
            from . import _audit

            _audit.remove()
        finder.clear()
        _installer.uninstall_all()
        _state.forget_failures()
        if "dashscope_private._egress_guard" in sys.modules:
            sys.modules["dashscope_private._egress_guard"].uninstall()
        with _environ.own_writes():
            for variable, previous in _saved_environ.items():
                if previous is None:
                    os.environ.pop(variable, None)
                else:
                    os.environ[variable] = previous
        _saved_environ.clear()
        if forget:
            _boot.forget_settings()
        _log.reset_once()


def _fallback_hosts() -> HostSet:
    """Hosts to fail closed on when the configuration is invalid: Model Studio's public hosts, plus
    the user's host list and routed patterns where they parse (a route's endpoint may be what is wrong)."""
    values = settings()
    patterns = list(PUBLIC_MODEL_STUDIO_HOSTS)
    for item in values.get(HOSTS, "").split(",") + [entry.partition("=")[0] for entry in values.get(ROUTES, "").split(",")]:
        try:
            patterns.append(parse_pattern(item, HOSTS))
        except ConfigError:
            continue
    return parse_hosts(",".join(patterns), HOSTS)


def _apply(router: Router) -> None:
    config = router.config
    _log.set_level(config.log_level if config else None)
    disabled = config.disabled_integrations if config else frozenset()
    # Uninstall integrations the new configuration disables; keep the others
    # installed (their wrappers read the router at call time).
    _installer.uninstall_all(only=disabled)
    _state.swap(router)
    finder.clear()
    _installer.register_hooks(disabled)
    _apply_egress_guard(router)
    _apply_audit(config)


def _apply_audit(config: Any) -> None:
    """The audit trail and metrics (``_audit``): imported only when one of them is on."""
    on = _state._recorder is not None or (config is not None and config.audit) or "opentelemetry.metrics" in sys.modules
    if on or "dashscope_private._audit" in sys.modules:  # (the pytest plugin's strict mode listens through it)
        from . import _audit

        _audit.apply(config)
    if "opentelemetry.metrics" not in sys.modules:
        finder.register("opentelemetry.metrics", _metrics_imported)


def _metrics_imported(module: ModuleType) -> None:
    """The program imported OpenTelemetry's metrics API after activation: count decisions for it too."""
    with _lock:
        router = current()
        if router is not None:
            _apply_audit(router.config)


def _apply_egress_guard(router: Router) -> None:
    """Strict or failing closed: the process-level net under every library; otherwise none at all."""
    if router.error is not None or (router.config is not None and router.config.strict):
        from . import _egress_green, _egress_guard

        _egress_guard.install()  # the socket layer, ssl, asyncio, http.client, httpcore
        _egress_green.install()  # and gevent's and eventlet's replacements of them
    elif "dashscope_private._egress_guard" in sys.modules:  # loaded only if it was ever needed
        sys.modules["dashscope_private._egress_guard"].uninstall()


def _export_environment(values: Dict[str, Any], config: Any) -> None:
    """Make explicit ``activate()`` values visible to child processes.

    Proxy variables are deliberately left alone: writing the endpoint into
    ``NO_PROXY``/``no_proxy`` would change how the program's own later proxy
    settings behave (a lower-case copy shadows a later ``NO_PROXY``). Each
    integration sends endpoint traffic direct instead, and child Python
    processes inherit ``DASHSCOPE_PRIVATE_*`` and do the same.
    """
    from .config import _override_text

    with _environ.own_writes():
        for variable, value in values.items():
            if value is None:
                continue
            _remember(variable)
            os.environ[variable] = _override_text(value)


def _remember(variable: str) -> None:
    if variable not in _saved_environ:
        _saved_environ[variable] = os.environ.get(variable)


# ------------------------------------------------------------------ putting a state back (the pytest plugin)


def apply_router(router: Router) -> None:
    """Put ``router`` in force with its hooks and net, as activation does (the pytest plugin's strict mode)."""
    with _lock:
        _apply(router)


def snapshot() -> Dict[str, Any]:
    """Everything activation changes: the router, what it exported to ``os.environ``, the settings read."""
    with _lock:
        return {
            "router": current(),
            "saved_environ": dict(_saved_environ),
            "environ": {name: os.environ.get(name) for name in VARIABLES},
            "settings": _boot.settings(),
            "pending": _boot.pending,
        }


def restore(saved: Dict[str, Any]) -> None:
    """Put back a :func:`snapshot` exactly (integrations stay installed: they read the router per call)."""
    with _lock:
        with _environ.own_writes():
            for name, value in saved["environ"].items():
                if value is None:
                    os.environ.pop(name, None)
                elif os.environ.get(name) != value:
                    os.environ[name] = value
        router = saved["router"]
        if router is None:
            if current() is not None:
                _saved_environ.clear()  # the environment is restored already
                deactivate()
        else:
            _apply(router)
        _saved_environ.clear()
        _saved_environ.update(saved["saved_environ"])
        _boot.forget_settings(keep=saved["settings"])
        _boot.pending = saved["pending"]
