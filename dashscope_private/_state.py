"""The activation state the request path reads: the router in force, and what could not be patched.

The integrations and strict mode's net read this module and nothing above it;
activation (``_runtime``) and the installer (``_installer``) write it. The router
in force is one module global swapped atomically (:func:`swap`), so the request
path (:func:`route_url`, :func:`route_target`) reads it without locking.
"""

from __future__ import annotations

from . import _log
from ._boot import finder
from .errors import IntegrationError
from .hosts import format_netloc

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from types import ModuleType
    from typing import Any, Callable, Dict, Optional

    from .routing import Router, Target

__all__ = [
    "current",
    "swap",
    "endpoint_host",
    "route_url",
    "route_target",
    "warn_public",
    "on_import",
    "report_failure",
    "integration_failures",
    "forget_failures",
]

_router: Optional[Router] = None
#: ``_audit.Recorder`` while audit or metrics are on, else ``None``: the request path's one extra test
_recorder: Any = None
#: integration name -> {"target": module it could not patch, "error": "Type: message"}; read by doctor's child check
_failures: Dict[str, Dict[str, str]] = {}


def current() -> Router | None:
    """The router in force, or ``None`` when inactive."""
    return _router


def swap(router: Router | None) -> None:
    """Put ``router`` in force (``None``: inactive). Called by activation under its lock."""
    global _router
    _router = router


def endpoint_host() -> str | None:
    """The host of ``DASHSCOPE_PRIVATE_ENDPOINT`` while a valid configuration with one is in force."""
    router = _router
    config = router.config if router is not None else None
    return config.endpoint.host if config is not None and config.endpoint is not None else None


# ------------------------------------------------------------------ request path


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


def warn_public(host: str, kind: str) -> None:
    """The router's ``on_warn``: a public host is being reached, unredirected (outside strict mode)."""
    _log.once(
        "warning",
        ("public", host),
        "a request to public host %s is leaving the VPC: it is not redirected; add it to "
        "DASHSCOPE_PRIVATE_HOSTS (or route it: DASHSCOPE_PRIVATE_ROUTES) to send it through a private endpoint (or DASHSCOPE_PRIVATE_ALLOW "
        "to silence this; DASHSCOPE_PRIVATE_STRICT=1 blocks such requests)",
        host,
    )


# ------------------------------------------------------------------ what could not be patched


def on_import(integration: str, module_name: str, callback: Callable[[ModuleType], None]) -> None:
    """Run ``callback(module)`` when ``module_name`` is imported (now, if it already is).

    For submodules an integration patches lazily (openai's realtime module is
    not imported by ``import openai``). A failure is handled like a failed
    install: logged once, or raised in strict mode.
    """

    def guarded(module: ModuleType) -> None:
        try:
            callback(module)
        except Exception as exc:
            report_failure(integration, module_name, exc)

    finder.register(module_name, guarded)


def report_failure(name: str, target: str, exc: BaseException) -> None:
    """``name`` could not patch ``target``: recorded as data, logged once; raised in strict mode."""
    _failures.setdefault(name, {"target": target, "error": f"{type(exc).__name__}: {exc}"})
    message = f"dashscope-private could not patch {target} ({type(exc).__name__}: {exc})"
    router = _router
    if router is not None and router.config is not None and router.config.strict:
        raise IntegrationError(
            message + "; DASHSCOPE_PRIVATE_STRICT=1 turns this into an error. Upgrade dashscope-private, "
            f"or add {name} to DASHSCOPE_PRIVATE_DISABLED_INTEGRATIONS to accept the risk"
        ) from exc
    _log.once("warning", ("install", name, target), "%s; its requests are not redirected", message)


def integration_failures() -> Dict[str, Dict[str, str]]:
    """What could not be patched since activation, per integration: data, so no caller parses log wording."""
    return {name: dict(failure) for name, failure in _failures.items()}


def forget_failures() -> None:
    """Deactivation: the next activation starts with a clean record."""
    _failures.clear()
