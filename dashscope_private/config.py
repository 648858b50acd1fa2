"""Read and validate the ``DASHSCOPE_PRIVATE_*`` environment, once.

Pure: :func:`load` takes a mapping and returns a frozen :class:`Config` or raises
:class:`ConfigError` naming the variable (a settings file is read by ``config_file``,
imported only when ``DASHSCOPE_PRIVATE_CONFIG`` is set). Loaded at start-up when the
plugin is enabled, so it imports builtins only (``re``, ``typing``, ``logging`` would
add milliseconds to every process). Values (endpoints, host lists) are parsed in ``hosts``.

It also holds the registry: one declarative row per integration (:data:`INTEGRATION_ROWS`;
``registry`` gives them named fields), the single place an integration's facts live.
Configuration, start-up, the installer, ``doctor``, the README, the CI pins and the
peer suites read it; it lives here as start-up needs it (a module costs ~300k instructions).
"""

from . import hosts as _hosts
from .hosts import BASE_PATHS, PUBLIC_MODEL_STUDIO_HOSTS, Endpoint, HostSet, _error, _Frozen, default_hosts_for, parse_hosts  # noqa: F401

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, Mapping, Tuple

__all__ = [
    "ENDPOINT",
    "ROUTES",
    "CONFIG",
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
ROUTES = "DASHSCOPE_PRIVATE_ROUTES"
CONFIG = "DASHSCOPE_PRIVATE_CONFIG"

#: Every variable the plugin reads, in documentation order.
VARIABLES = (ENDPOINT, HOSTS, DISABLE, DISABLED_INTEGRATIONS, LOG, STRICT, OSS, ALLOW, AUDIT, PROPAGATE, ROUTES, CONFIG)
ACTIVATING = (ENDPOINT, ROUTES, CONFIG)  # any of these set turns the plugin on


# --------------------------------------------------------------------------- integrations: one row each

#: ``Integration.distribution`` of an integration that patches the standard library.
STDLIB = "stdlib"


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
#: ``checked``       CI leg -> what ``.ci/run`` installs there (``registry.ci_requirements``)
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


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")
_LOG_LEVELS = ("debug", "info", "warning", "error")
_OSS_MODES = ("", "internal", "public")


class Config(_Frozen):
    """The validated configuration. ``sources`` maps each variable to where its value came from.

    ``endpoint`` (``None`` when only routes are set) serves ``hosts``; ``routes`` are the
    ``DASHSCOPE_PRIVATE_ROUTES`` entries (and the file's), ``(pattern, Endpoint)`` pairs;
    :meth:`routing_table` is what the router uses.
    """

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
        "routes",
    )
    endpoint: "Endpoint | None"
    hosts: HostSet
    disabled_integrations: frozenset
    log_level: "str | None"
    strict: bool
    oss: str
    allow: HostSet
    sources: tuple
    audit: "str | None"  # a file path, "stderr", or None
    propagate: bool
    routes: tuple

    def __init__(
        self,
        endpoint: "Endpoint | None",
        hosts: "HostSet",
        disabled_integrations: frozenset = frozenset(),
        log_level: "str | None" = None,
        strict: bool = False,
        oss: str = "",
        allow: "HostSet" = HostSet(),
        sources: tuple = (),
        audit: "str | None" = None,
        propagate: bool = True,
        routes: tuple = (),
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
            routes=tuple(routes),
        )

    def routing_table(self) -> "Tuple[Tuple[str, Endpoint], ...]":
        """Every routed host pattern with its endpoint: the routes, then the endpoint's hosts no route names.

        The router picks per host: an exact host beats a wildcard, a longer ``*.suffix`` a shorter one.
        """
        named = {pattern for pattern, _ in self.routes}
        table = list(self.routes)
        if self.endpoint is not None and self.endpoint.host:
            table.extend((pattern, self.endpoint) for pattern in self.hosts.patterns() if pattern not in named)
        return tuple(table)

    def endpoints(self) -> "Tuple[Endpoint, ...]":
        """The distinct endpoints, in table order."""
        seen: "Dict[Endpoint, None]" = {}
        for _, endpoint in self.routing_table():
            seen.setdefault(endpoint, None)
        return tuple(seen)


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
    """The cheap start-up test: is the endpoint, a route list or a settings file set (non-empty)?"""
    return any(environ.get(name) for name in ACTIVATING)


#: Keys of a ``DASHSCOPE_PRIVATE_CONFIG`` file: the variables' names without the prefix (as ``activate()`` takes them).
FILE_KEYS = {
    "endpoint": ENDPOINT, "hosts": HOSTS, "disable": DISABLE, "disabled_integrations": DISABLED_INTEGRATIONS, "log": LOG,
    "strict": STRICT, "oss": OSS, "allow": ALLOW, "audit": AUDIT, "propagate": PROPAGATE,
}


def load(environ: "Mapping[str, str]", overrides: "Mapping[str, Any] | None" = None) -> "Config | None":
    """:func:`_load`, with an error's context (a route, a file's key) moved from its variable into its problem."""
    try:
        return _load(environ, overrides)
    except Exception as exc:
        variable, context = getattr(exc, "variable", ""), ""
        if " (" in variable:
            variable, _, context = variable.partition(" (")
            raise _error(variable, f"{context[:-1]}: {exc.problem}", exc.fix) from None  # type: ignore[attr-defined]
        raise


def _load(environ: "Mapping[str, str]", overrides: "Mapping[str, Any] | None" = None) -> "Config | None":
    """Build the configuration from ``environ`` plus ``activate()`` overrides, over a settings file.

    ``None`` when the plugin is off (no endpoint, route or file set, or the kill switch).
    Raises :class:`ConfigError` on any invalid value, naming the variable (or the file and
    its key). ``config_file``, the one place that does I/O, is imported only when
    ``DASHSCOPE_PRIVATE_CONFIG`` is set.
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

    labels: "Dict[str, str]" = {}  # variable -> how an error names it (a file's key)
    file_routes: list = []
    path = values.get(CONFIG, "").strip()
    if path:  # the environment (and activate()) override the file, key by key
        from .config_file import read_into

        labels, file_routes = read_into(values, sources, path, FILE_KEYS, CONFIG)

    def label(name: str) -> str:
        return labels.get(name, name)

    if _parse_bool(label(DISABLE), values.get(DISABLE, "")):
        return None
    routes: tuple = ()
    if ROUTES in values or file_routes:  # only then: start-up with the endpoint alone does not load ``routes``
        from .routes import merge_routes

        routes = merge_routes(values.get(ROUTES, ""), ROUTES, file_routes)
    if file_routes and not values.get(ROUTES, "").strip():
        sources[ROUTES] = f"file {path}"
    endpoint_text = values.get(ENDPOINT, "")
    if not endpoint_text and not routes:
        if path:
            raise _error(CONFIG, f"{path!r} names no endpoint and no route", "add endpoint = \"...\" or a [routes] table")
        return None
    endpoint = parse_endpoint(endpoint_text, label(ENDPOINT)) if endpoint_text else None
    hosts = HostSet()
    if endpoint is not None:
        if values.get(HOSTS, "").strip():
            hosts = parse_hosts(values[HOSTS], label(HOSTS))
        else:
            host, region = default_hosts_for(endpoint)
            hosts = HostSet(frozenset([host]))
            sources[HOSTS] = f"default (inferred from region {region})" if region else "default (no region recognised in the endpoint)"
    allow = parse_hosts(values[ALLOW], label(ALLOW)) if values.get(ALLOW, "").strip() else HostSet()
    log_text = values.get(LOG, "").strip()
    propagate_text = values.get(PROPAGATE, "").strip()
    return Config(
        endpoint=endpoint,
        hosts=hosts,
        disabled_integrations=_parse_integrations(label(DISABLED_INTEGRATIONS), values.get(DISABLED_INTEGRATIONS, "")),
        log_level=_parse_choice(label(LOG), log_text, _LOG_LEVELS) if log_text else None,
        strict=_parse_bool(label(STRICT), values.get(STRICT, "")),
        oss=_parse_choice(label(OSS), values.get(OSS, ""), _OSS_MODES),
        allow=allow,
        sources=tuple(sorted(sources.items())),
        audit=_parse_audit(values.get(AUDIT, ""), label(AUDIT)),
        propagate=_parse_bool(label(PROPAGATE), propagate_text) if propagate_text else True,
        routes=routes,
    )


def _parse_audit(text: str, variable: str = AUDIT) -> "str | None":
    """``DASHSCOPE_PRIVATE_AUDIT``: a file to append JSON lines to, or ``stderr``; empty is off."""
    if not text.strip():
        return None
    if text.strip().lower() == "stderr":
        return "stderr"
    if "\x00" in text:
        raise _error(variable, "the path contains a NUL character", "give a file path, or stderr")
    if text != text.strip():
        raise _error(variable, f"the path {text!r} starts or ends with whitespace", "give a file path, or stderr")
    if text.endswith(("/", "\\")):
        raise _error(variable, f"{text!r} names a folder", "give a file path such as /var/log/dashscope-private.jsonl, or stderr")
    return text


def _override_text(value: "Any") -> str:
    """Turn an ``activate(**overrides)`` value into the text the variable would hold."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dict):  # routes={"dashscope.aliyuncs.com": "http://ep-..."}
        return ",".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(str(v) for v in value)
    return str(value)
