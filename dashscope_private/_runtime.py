"""Activation state: the current router, the integrations, and their hooks.

Everything here is idempotent and thread-safe under one re-entrant lock. The
router in force is one module global swapped atomically, so the request path
(:func:`route_url`, :func:`route_target`) reads it without locking.
"""

from __future__ import annotations

import os
import sys

from . import _boot, _log
from ._boot import finder, settings
from .config import (
    ENDPOINT,
    HOSTS,
    INTEGRATION_MODULES,
    VARIABLES,
    HostSet,
    PUBLIC_MODEL_STUDIO_HOSTS,
    load,
    parse_hosts,
)
from .errors import ConfigError, IntegrationError
from .routing import Router, format_netloc

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from types import ModuleType
    from typing import Any, Dict, Optional

    from .routing import Target

__all__ = [
    "IntegrationError",
    "activate",
    "activate_from_environment",
    "reconfigure_from_environment",
    "deactivate",
    "is_active",
    "current",
    "route_url",
    "route_target",
    "endpoint_host",
    "installed_integrations",
    "integration_failures",
]

#: integration name (also its library's distribution name) -> (module it patches, our module implementing it)
REGISTRY = {
    name: (module, f"dashscope_private.integrations.{name.replace('-', '_')}") for name, module in INTEGRATION_MODULES.items()
}

#: ``activate()`` keyword -> variable
OVERRIDE_NAMES = {name[len("DASHSCOPE_PRIVATE_") :].lower(): name for name in VARIABLES}

_lock = _boot.activation_lock  # one lock with start-up and the os.environ watcher
_router: Optional[Router] = None
_installed: Dict[str, ModuleType] = {}
#: integration name -> {"target": module it could not patch, "error": "Type: message"}; read by doctor's child check
_failures: Dict[str, Dict[str, str]] = {}
_saved_environ: Dict[str, Optional[str]] = {}
#: ``_audit.Recorder`` while audit or metrics are on, else ``None``: the request path's one extra test
_recorder: Any = None


# ------------------------------------------------------------------ request path


def current() -> Router | None:
    """The router in force, or ``None`` when inactive."""
    return _router


def endpoint_host() -> str | None:
    """The endpoint's host while a valid configuration is in force."""
    router = _router
    return router.config.endpoint.host if router is not None and router.config is not None else None


def rewrite_url(url: str) -> str:
    """The public ``rewrite_url``: completes a pending start-up activation first."""
    ensure_started()
    return route_url(url)


def route_url(url: str, warn: bool = True) -> str:
    """Rewrite ``url`` with the router in force (unchanged when inactive or not ours)."""
    router = _router
    if router is None or not isinstance(url, str):
        return url
    if _recorder is not None:  # audit/metrics (_audit): records the decision, then as below
        return _recorder.route_url(router, url, warn)  # type: ignore[no-any-return]
    new = router.rewrite(url, warn)
    if new is not url and _log._level is not None and _log._level <= 10:
        _log_rewrite(url, new)
    return new


def route_target(scheme: str, host: str, warn: bool = True) -> Target | None:
    """``(scheme, host, port)`` for a request to ``scheme://host``, or ``None`` to leave it."""
    router = _router
    if router is None or not host:
        return None
    if _recorder is not None:  # audit/metrics (_audit)
        return _recorder.route_target(router, scheme, host, warn)  # type: ignore[no-any-return]
    target = router.target_for(scheme, host, warn)
    if target is not None and _log._level is not None and _log._level <= 10:
        new_scheme, new_host, port = target
        netloc = format_netloc(new_host, port or None)
        _log.once("debug", ("rewrite", scheme, host, target), "redirecting %s://%s -> %s://%s", scheme, host, new_scheme, netloc)
    return target


def _log_rewrite(old: str, new: str) -> None:
    from .routing import split_url

    a, b = split_url(old), split_url(new)
    if a and b:
        source, target = old[: a[4]], new[: b[4]]
        _log.once("debug", ("rewrite", source, target), "redirecting %s -> %s", source, target)


def _warn_public(host: str, kind: str) -> None:
    _log.once(
        "warning",
        ("public", host),
        "a request to public host %s is leaving the VPC: it is not redirected; add it to "
        "DASHSCOPE_PRIVATE_HOSTS to send it through the private endpoint (or DASHSCOPE_PRIVATE_ALLOW "
        "to silence this; DASHSCOPE_PRIVATE_STRICT=1 blocks such requests)",
        host,
    )


# ------------------------------------------------------------------ activation


def is_active() -> bool:
    """True while a configuration (valid, or invalid and failing closed) is in force."""
    ensure_started()
    return _router is not None


def ensure_started() -> None:
    """Finish a start-up activation that is still waiting for the first SDK import.

    At start-up only the configuration is checked and lazy hooks are
    registered; the public API calls this so it never reports "inactive" for
    a process that was started with the variable set.
    """
    if _boot.pending and _router is None:
        activate_from_environment()


def install_for_module(module_name: str) -> None:
    """Install the integrations that patch ``module_name`` (called while it finishes importing)."""
    router = _router
    if router is None:
        return
    disabled = router.config.disabled_integrations if router.config else frozenset()
    for name, (module, _impl) in REGISTRY.items():
        if module == module_name and name not in disabled:
            _install(name)


def installed_integrations() -> tuple:
    """Names of the integrations currently patched into their libraries."""
    return tuple(_installed)


def integration_failures() -> Dict[str, Dict[str, str]]:
    """What could not be patched since activation, per integration: data, so no caller parses log wording."""
    return {name: dict(failure) for name, failure in _failures.items()}


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
        current = settings()
        config = load(current, values)
        if config is None:
            if not (values.get(ENDPOINT) or current.get(ENDPOINT)):
                raise ConfigError(ENDPOINT, "no endpoint is configured", "pass activate(endpoint=...) or set the variable")
            _log.once("info", "killswitch", "DASHSCOPE_PRIVATE_DISABLE is set: not activating")
            return
        _export_environment(values, config)
        _apply(Router(config, on_warn=_warn_public))


def activate_from_environment() -> bool:
    """Start-up activation (.pth, ``.start``, ``import dashscope_private.auto``); never raises.

    An invalid value prints one line to stderr and fails closed. Returns True
    when a configuration (valid or failing) is in force.
    """
    from ._boot import report_startup_error

    with _lock:
        try:
            config = load(settings())
        except ConfigError as exc:
            report_startup_error(exc)
            if _router is None or _router.error is None:
                _apply(Router.failing(exc, _fallback_hosts()))
            return True
        if config is None:
            return False
        if _router is not None and _router.config == config:
            return True  # a second .pth pass, or auto after the .pth: nothing to do
        _export_environment({}, config)
        _apply(Router(config, on_warn=_warn_public))
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
    global _router

    with _lock:
        _boot.pending = False
        _router = None
        if _recorder is not None:
            from . import _audit

            _audit.remove()
        finder.clear()
        for name in list(_installed):
            _uninstall(name)
        _failures.clear()
        if "dashscope_private._egress_guard" in sys.modules:
            sys.modules["dashscope_private._egress_guard"].uninstall()
        with _boot.own_writes():
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
    """Hosts to fail closed on when the configuration is invalid: the user's list if it parses."""
    try:
        return parse_hosts(settings().get(HOSTS, ""), HOSTS)
    except ConfigError:
        return parse_hosts(",".join(PUBLIC_MODEL_STUDIO_HOSTS), HOSTS)


def _apply(router: Router) -> None:
    global _router
    config = router.config
    _log.set_level(config.log_level if config else None)
    disabled = config.disabled_integrations if config else frozenset()
    # Uninstall integrations the new configuration disables; keep the others
    # installed (their wrappers read the router at call time).
    for name in list(_installed):
        if name in disabled:
            _uninstall(name)
    _router = router
    finder.clear()
    for name, (module_name, _impl) in REGISTRY.items():
        if name not in disabled:
            finder.register(module_name, _make_hook(name))
    _apply_egress_guard(router)
    _apply_audit(config)


def _apply_audit(config: Any) -> None:
    """The audit trail and metrics (``_audit``): imported only when one of them is on."""
    on = _recorder is not None or (config is not None and config.audit) or "opentelemetry.metrics" in sys.modules
    if on or "dashscope_private._audit" in sys.modules:  # (the pytest plugin's strict mode listens through it)
        from . import _audit

        _audit.apply(config)
    if "opentelemetry.metrics" not in sys.modules:
        finder.register("opentelemetry.metrics", _metrics_imported)


def _metrics_imported(module: ModuleType) -> None:
    """The program imported OpenTelemetry's metrics API after activation: count decisions for it too."""
    with _lock:
        if _router is not None:
            _apply_audit(_router.config)


def _apply_egress_guard(router: Router) -> None:
    """Strict or failing closed: the process-level net under every library; otherwise none at all."""
    if router.error is not None or (router.config is not None and router.config.strict):
        from . import _egress_guard

        _egress_guard.install()
    elif "dashscope_private._egress_guard" in sys.modules:  # loaded only if it was ever needed
        sys.modules["dashscope_private._egress_guard"].uninstall()


def _make_hook(name: str):  # -> Callable[[ModuleType], None]
    def hook(module: ModuleType) -> None:
        _install(name)

    return hook


def _install(name: str) -> None:
    """Install one integration; failures are logged once (strict mode: raised)."""
    with _lock:
        if _router is None:
            return
        impl = None
        try:
            impl = __import__(REGISTRY[name][1], fromlist=["install"])
            impl.install()
            _installed[name] = impl
        except Exception as exc:
            if impl is not None:
                try:
                    impl.uninstall()
                except Exception:
                    pass
            _installed.pop(name, None)
            _report_failure(name, REGISTRY[name][0], exc)


def on_import(integration: str, module_name: str, callback) -> None:  # type: ignore[no-untyped-def]
    """Run ``callback(module)`` when ``module_name`` is imported (now, if it already is).

    For submodules an integration patches lazily (openai's realtime module is
    not imported by ``import openai``). A failure is handled like a failed
    install: logged once, or raised in strict mode.
    """

    def guarded(module: ModuleType) -> None:
        try:
            callback(module)
        except Exception as exc:
            _report_failure(integration, module_name, exc)

    finder.register(module_name, guarded)


def _report_failure(name: str, target: str, exc: BaseException) -> None:
    _failures.setdefault(name, {"target": target, "error": f"{type(exc).__name__}: {exc}"})
    message = f"dashscope-private could not patch {target} ({type(exc).__name__}: {exc})"
    if _router is not None and _router.config is not None and _router.config.strict:
        raise IntegrationError(
            message + "; DASHSCOPE_PRIVATE_STRICT=1 turns this into an error. Upgrade dashscope-private, "
            f"or add {name} to DASHSCOPE_PRIVATE_DISABLED_INTEGRATIONS to accept the risk"
        ) from exc
    _log.once("warning", ("install", name, target), "%s; its requests are not redirected", message)


def _uninstall(name: str) -> None:
    impl = _installed.pop(name, None)
    if impl is None:
        return
    try:
        skipped = impl.uninstall()
        if skipped:
            _log.once("info", ("skip", name), "left wrappers re-wrapped by other code in place: %s", skipped)
    except Exception as exc:
        _log.once("warning", ("uninstall", name), "could not fully uninstall %s: %s", name, exc)


def _export_environment(values: Dict[str, Any], config: Any) -> None:
    """Make explicit ``activate()`` values visible to child processes.

    Proxy variables are deliberately left alone: writing the endpoint into
    ``NO_PROXY``/``no_proxy`` would change how the program's own later proxy
    settings behave (a lower-case copy shadows a later ``NO_PROXY``). Each
    integration sends endpoint traffic direct instead, and child Python
    processes inherit ``DASHSCOPE_PRIVATE_*`` and do the same.
    """
    from .config import _override_text

    with _boot.own_writes():
        for variable, value in values.items():
            if value is None:
                continue
            _remember(variable)
            os.environ[variable] = _override_text(value)


def _remember(variable: str) -> None:
    if variable not in _saved_environ:
        _saved_environ[variable] = os.environ.get(variable)
