"""Read and validate the ``DASHSCOPE_PRIVATE_*`` environment, once.

Pure and I/O-free: :func:`load` takes a mapping and returns a frozen
:class:`Config` or raises :class:`ConfigError` naming the variable. This module
runs at interpreter start-up when the plugin is enabled, so it imports nothing
beyond builtins (no ``re``, ``urllib``, ``dataclasses``, ``typing`` or
``logging``); each of those would add milliseconds to every Python process.
The values it is made of (endpoints, host lists) are parsed in ``hosts``; the
integration names it accepts come from ``_registry``.
"""

from . import hosts as _hosts
from ._registry import NAMES as INTEGRATIONS
from .hosts import BASE_PATHS, PUBLIC_MODEL_STUDIO_HOSTS, Endpoint, HostSet, _error, _Frozen, default_hosts_for, parse_hosts

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Mapping

__all__ = [
    "ENDPOINT",
    "HOSTS",
    "DISABLE",
    "DISABLED_INTEGRATIONS",
    "LOG",
    "STRICT",
    "OSS",
    "ALLOW",
    "VARIABLES",
    "INTEGRATIONS",
    "Config",
    "load",
    "is_enabled",
    # the value parsers and facts of ``hosts``, for callers that think in variables
    "PUBLIC_MODEL_STUDIO_HOSTS",
    "BASE_PATHS",
    "Endpoint",
    "HostSet",
    "parse_endpoint",
    "endpoint_base_path",
    "parse_hosts",
    "default_hosts_for",
]

ENDPOINT = "DASHSCOPE_PRIVATE_ENDPOINT"
HOSTS = "DASHSCOPE_PRIVATE_HOSTS"
DISABLE = "DASHSCOPE_PRIVATE_DISABLE"
DISABLED_INTEGRATIONS = "DASHSCOPE_PRIVATE_DISABLED_INTEGRATIONS"
LOG = "DASHSCOPE_PRIVATE_LOG"
STRICT = "DASHSCOPE_PRIVATE_STRICT"
OSS = "DASHSCOPE_PRIVATE_OSS"
ALLOW = "DASHSCOPE_PRIVATE_ALLOW"

#: Every variable the plugin reads, in documentation order.
VARIABLES = (ENDPOINT, HOSTS, DISABLE, DISABLED_INTEGRATIONS, LOG, STRICT, OSS, ALLOW)

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")
_LOG_LEVELS = ("debug", "info", "warning", "error")
_OSS_MODES = ("", "internal", "public")


class Config(_Frozen):
    """The validated configuration. ``sources`` maps each variable to where its value came from."""

    __slots__ = (
        "endpoint",
        "hosts",
        "disabled_integrations",
        "log_level",
        "strict",
        "oss",
        "allow",
        "sources",
    )
    endpoint: Endpoint
    hosts: HostSet
    disabled_integrations: frozenset
    log_level: "str | None"
    strict: bool
    oss: str
    allow: HostSet
    sources: tuple

    def __init__(
        self,
        endpoint: "Endpoint",
        hosts: "HostSet",
        disabled_integrations: frozenset = frozenset(),
        log_level: "str | None" = None,
        strict: bool = False,
        oss: str = "",
        allow: "HostSet" = HostSet(),
        sources: tuple = (),
    ) -> None:
        self._init(
            endpoint=endpoint,
            hosts=hosts,
            disabled_integrations=frozenset(disabled_integrations),
            log_level=log_level,
            strict=strict,
            oss=oss,
            allow=allow,
            sources=tuple(sources),
        )


# --------------------------------------------------------------------------- parsing


def parse_endpoint(value: str, variable: str = ENDPOINT) -> Endpoint:
    """:func:`hosts.parse_endpoint`, for ``DASHSCOPE_PRIVATE_ENDPOINT`` unless told otherwise."""
    return _hosts.parse_endpoint(value, variable)


def endpoint_base_path(value: str, variable: str = ENDPOINT) -> "str | None":
    """:func:`hosts.endpoint_base_path`, for ``DASHSCOPE_PRIVATE_ENDPOINT`` unless told otherwise."""
    return _hosts.endpoint_base_path(value, variable)


def _parse_bool(variable: str, value: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise _error(variable, f"{value!r} is not a boolean", "use 1 or 0")


def _parse_integrations(variable: str, value: str) -> frozenset:
    names = set()
    for item in value.split(","):
        name = item.strip().lower().replace("_", "-")
        if not name:
            continue
        if name not in INTEGRATIONS:
            raise _error(variable, f"unknown integration {item.strip()!r}", "choose from " + ", ".join(INTEGRATIONS))
        names.add(name)
    return frozenset(names)


def _parse_choice(variable: str, value: str, choices: tuple) -> str:
    v = value.strip().lower()
    if v not in choices:
        raise _error(variable, f"{value!r} is not one of " + ", ".join(c for c in choices if c), "")
    return v


def is_enabled(environ: "Mapping[str, str]") -> bool:
    """The cheap start-up test: is the endpoint variable set (to anything non-empty)?"""
    return bool(environ.get(ENDPOINT))


def load(environ: "Mapping[str, str]", overrides: "Mapping[str, Any] | None" = None) -> "Config | None":
    """Build the configuration from ``environ`` plus ``activate()`` overrides.

    Returns ``None`` when the plugin is off (endpoint unset or empty, or the
    kill switch set). Raises :class:`ConfigError` on any invalid value.
    """
    values = {}
    sources = {}
    for name in VARIABLES:
        if name in environ:
            values[name] = environ[name]
            sources[name] = "environment"
    for name, value in (overrides or {}).items():
        if value is None:
            continue
        values[name] = _override_text(value)
        sources[name] = "activate()"

    if _parse_bool(DISABLE, values.get(DISABLE, "")):
        return None
    endpoint_text = values.get(ENDPOINT, "")
    if not endpoint_text:
        return None
    endpoint = parse_endpoint(endpoint_text)
    if values.get(HOSTS, "").strip():
        hosts = parse_hosts(values[HOSTS], HOSTS)
    else:
        host, region = default_hosts_for(endpoint)
        hosts = HostSet(frozenset([host]))
        sources[HOSTS] = f"default (inferred from region {region})" if region else "default (no region recognised in the endpoint)"
    allow = parse_hosts(values[ALLOW], ALLOW) if values.get(ALLOW, "").strip() else HostSet()
    log_text = values.get(LOG, "").strip()
    return Config(
        endpoint=endpoint,
        hosts=hosts,
        disabled_integrations=_parse_integrations(DISABLED_INTEGRATIONS, values.get(DISABLED_INTEGRATIONS, "")),
        log_level=_parse_choice(LOG, log_text, _LOG_LEVELS) if log_text else None,
        strict=_parse_bool(STRICT, values.get(STRICT, "")),
        oss=_parse_choice(OSS, values.get(OSS, ""), _OSS_MODES),
        allow=allow,
        sources=tuple(sorted(sources.items())),
    )


def _override_text(value: "Any") -> str:
    """Turn an ``activate(**overrides)`` value into the text the variable would hold."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(str(v) for v in value)
    return str(value)
