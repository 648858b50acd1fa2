"""Read and validate the ``DASHSCOPE_PRIVATE_*`` environment, once.

Pure and I/O-free: :func:`load` takes a mapping and returns a frozen
:class:`Config` or raises :class:`ConfigError` naming the variable. This module
runs at interpreter start-up when the plugin is enabled, so it imports nothing
beyond builtins (no ``re``, ``urllib``, ``dataclasses``, ``typing`` or
``logging``); each of those would add milliseconds to every Python process.
The values it is made of (endpoints, host lists) are parsed in ``hosts``.

It also holds the registry: one declarative row per integration
(:data:`INTEGRATION_ROWS`; ``registry`` gives them named fields), the single place
an integration's facts live. Configuration
(the names ``DASHSCOPE_PRIVATE_DISABLED_INTEGRATIONS`` accepts), start-up (which
imports trigger activation), the installer (which module implements each),
``doctor`` and its stacks table, the README tables, the CI matrix's pins
(``.ci/run`` reads :func:`ci_requirements`) and the peer-suite runner all read it.
It lives here, not in a module of its own, because start-up needs it and every
module on the start-up path costs every Python process ~300,000 instructions.
"""

from . import hosts as _hosts
from .hosts import BASE_PATHS, PUBLIC_MODEL_STUDIO_HOSTS, Endpoint, HostSet, _error, _Frozen, default_hosts_for, parse_hosts

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, Mapping, Tuple

__all__ = [
    "ENDPOINT",
    "HOSTS",
    "DISABLE",
    "DISABLED_INTEGRATIONS",
    "LOG",
    "STRICT",
    "OSS",
    "ALLOW",
    "AUDIT",
    "PROPAGATE",
    "VARIABLES",
    "INTEGRATION_ROWS",
    "INTEGRATION_NAMES",
    "TRIGGERS",
    "STDLIB",
    "ci_requirements",
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
AUDIT = "DASHSCOPE_PRIVATE_AUDIT"
PROPAGATE = "DASHSCOPE_PRIVATE_PROPAGATE"

#: Every variable the plugin reads, in documentation order.
VARIABLES = (ENDPOINT, HOSTS, DISABLE, DISABLED_INTEGRATIONS, LOG, STRICT, OSS, ALLOW, AUDIT, PROPAGATE)


# --------------------------------------------------------------------------- integrations: one row each

#: ``Integration.distribution`` of an integration that patches the standard library.
STDLIB = "stdlib"
#: The CI matrix's legs that install integrations' libraries (``.ci/run``): oldest SDKs first, then the clusters.
LEGS = ("oldest", "middle", "newest", "clusters")


#: One declarative row per integration, the single place its facts live:
#: ``name: (modules, distribution, covers, checked, peer)``. Literals, so that start-up
#: (which needs only the names and the trigger modules) pays almost nothing for them;
#: ``registry.Integration`` gives each row named fields:
#:
#: ``name``          as accepted by ``DASHSCOPE_PRIVATE_DISABLED_INTEGRATIONS`` (the library's
#:                   distribution name, except for the standard library's)
#: ``modules``       the imports that install it (post-import hooks; nothing loads before)
#: ``distribution``  the distribution ``doctor`` looks up for its version, or :data:`STDLIB`
#: ``covers``        ``(stack, what is redirected)`` pairs, the rows ``doctor`` and the README show;
#:                   a stack is a distribution name, or a module name for the standard library
#: ``checked``       CI leg -> the requirement ``.ci/run`` installs there (absent: not on that leg)
#: ``peer``          ``dist==version`` of the library whose own test suite runs with the plugin
#:                   (``tests/peers``), or ``None``
INTEGRATION_ROWS = {
    "openai": (
        ("openai",), "openai", (("openai", "clients, per-request URLs and WebSocket connection managers"),),
        {"oldest": "openai==1.55.3", "middle": "openai>=2,<3", "newest": "openai"}, "openai==3.57.0",
    ),
    "dashscope": (
        ("dashscope",), "dashscope", (("dashscope", "URL globals and the 2.x Client; the rest through its transports"),),
        {"oldest": "dashscope==1.14.0", "middle": "dashscope==1.27.8", "newest": "dashscope"}, "dashscope==1.26.2",
    ),
    "requests": (
        ("requests",), "requests", (("requests", ""),),
        {"oldest": "requests", "middle": "requests", "newest": "requests"}, "requests==2.34.2",
    ),
    "httpx": (
        ("httpx",), "httpx", (("httpx", ""),),
        {"oldest": "httpx==0.28.1", "middle": "httpx", "newest": "httpx"}, "httpx==0.28.1",
    ),
    "httpx2": (  # not on Python 3.9
        ("httpx2",), "httpx2", (("httpx2", ""),),
        {"middle": "httpx2", "newest": "httpx2"}, "httpx2==2.16.2",
    ),
    "aiohttp": (
        ("aiohttp",), "aiohttp", (("aiohttp", "HTTP and ws_connect"),),
        {"oldest": "aiohttp", "middle": "aiohttp", "newest": "aiohttp"}, "aiohttp==3.14.5",
    ),
    "websocket-client": (
        ("websocket",), "websocket-client", (("websocket-client", ""),),
        {"oldest": "websocket-client", "middle": "websocket-client", "newest": "websocket-client"}, "websocket-client==1.9.2",
    ),
    "urllib": (
        ("http.client",), STDLIB,
        (
            ("urllib.request", "the scheme may change (https -> http endpoint)"),
            ("http.client", "same scheme only: a connection object cannot switch TLS; refused in strict mode otherwise"),
        ),
        {}, None,
    ),
    "urllib3": (
        ("urllib3",), "urllib3", (("urllib3", "PoolManager, ProxyManager, urllib3.request"),),
        {"oldest": "urllib3", "middle": "urllib3", "newest": "urllib3"}, "urllib3==2.8.0",
    ),
    "websockets": (
        ("websockets",), "websockets", (("websockets", "asyncio, sync and legacy clients"),),
        {"oldest": "websockets==13.1", "middle": "websockets>=15,<16", "newest": "websockets"}, "websockets==17.0.1",
    ),
    "dspy": (("dspy",), "dspy", (("dspy", "its bundled lm15 client"),), {"newest": "dspy"}, None),
    # Cluster engines: no URL of theirs is rewritten (no stack rows); a driver carries its settings to the workers.
    "ray": (("ray",), "ray", (), {"clusters": "ray[default]"}, None),  # [default]: the dashboard, for job submission
    "pyspark": (("pyspark",), "pyspark", (), {"clusters": "pyspark"}, None),
    "distributed": (("distributed",), "distributed", (), {"clusters": "dask[distributed]"}, None),  # dask pinned to it
}
#: Names in row order, as ``DASHSCOPE_PRIVATE_DISABLED_INTEGRATIONS`` lists them in errors.
INTEGRATION_NAMES = tuple(INTEGRATION_ROWS)
#: Module name -> names of the integrations its import installs.
TRIGGERS: "Dict[str, Tuple[str, ...]]" = {}
for _name, _row in INTEGRATION_ROWS.items():
    for _module in _row[0]:
        TRIGGERS[_module] = TRIGGERS.get(_module, ()) + (_name,)
del _name, _row, _module


def ci_requirements(leg: str) -> "Tuple[str, ...]":
    """The requirements ``.ci/run`` installs for a leg's integrations (the leg adds its tools)."""
    if leg not in LEGS:
        raise ValueError(f"unknown leg {leg!r}; known: {', '.join(LEGS)}")
    return tuple(row[3][leg] for row in INTEGRATION_ROWS.values() if leg in row[3])


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
        "audit",
        "propagate",
    )
    endpoint: Endpoint
    hosts: HostSet
    disabled_integrations: frozenset
    log_level: "str | None"
    strict: bool
    oss: str
    allow: HostSet
    sources: tuple
    audit: "str | None"  # a file path, "stderr", or None
    propagate: bool

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
        audit: "str | None" = None,
        propagate: bool = True,
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
            audit=audit,
            propagate=propagate,
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
        if name not in INTEGRATION_ROWS:
            raise _error(variable, f"unknown integration {item.strip()!r}", "choose from " + ", ".join(INTEGRATION_NAMES))
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
    propagate_text = values.get(PROPAGATE, "").strip()
    return Config(
        endpoint=endpoint,
        hosts=hosts,
        disabled_integrations=_parse_integrations(DISABLED_INTEGRATIONS, values.get(DISABLED_INTEGRATIONS, "")),
        log_level=_parse_choice(LOG, log_text, _LOG_LEVELS) if log_text else None,
        strict=_parse_bool(STRICT, values.get(STRICT, "")),
        oss=_parse_choice(OSS, values.get(OSS, ""), _OSS_MODES),
        allow=allow,
        sources=tuple(sorted(sources.items())),
        audit=_parse_audit(values.get(AUDIT, "")),
        propagate=_parse_bool(PROPAGATE, propagate_text) if propagate_text else True,
    )


def _parse_audit(text: str) -> "str | None":
    """``DASHSCOPE_PRIVATE_AUDIT``: a file to append JSON lines to, or ``stderr``; empty is off."""
    if not text.strip():
        return None
    if text.strip().lower() == "stderr":
        return "stderr"
    if "\x00" in text:
        raise _error(AUDIT, "the path contains a NUL character", "give a file path, or stderr")
    if text != text.strip():
        raise _error(AUDIT, f"the path {text!r} starts or ends with whitespace", "give a file path, or stderr")
    if text.endswith(("/", "\\")):
        raise _error(AUDIT, f"{text!r} names a folder", "give a file path such as /var/log/dashscope-private.jsonl, or stderr")
    return text


def _override_text(value: "Any") -> str:
    """Turn an ``activate(**overrides)`` value into the text the variable would hold."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(str(v) for v in value)
    return str(value)
