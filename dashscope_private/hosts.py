"""Host names, endpoints and host lists: the values the configuration is made of.

Pure and builtins only (loaded at start-up with the variable set, from
``config``). Every parser takes the variable its value came from, so an error
names it. Also the facts about Model Studio's public hosts and base paths that
parsing and routing share.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from .errors import ConfigError

__all__ = [
    "PUBLIC_MODEL_STUDIO_HOSTS",
    "BASE_PATHS",
    "Endpoint",
    "HostSet",
    "format_netloc",
    "parse_endpoint",
    "endpoint_base_path",
    "parse_pattern",
    "parse_hosts",
    "default_hosts_for",
]


def _error(variable: str, problem: str, fix: str = "") -> "ConfigError":
    """Build a ConfigError; ``errors`` is imported only when a value is actually wrong,
    which keeps it off the start-up path of a correctly configured process."""
    from .errors import ConfigError

    return ConfigError(variable, problem, fix)


#: Public Model Studio hosts: redirected when configured, otherwise warned
#: about (or blocked in strict mode) so that nothing leaves the VPC silently.
PUBLIC_MODEL_STUDIO_HOSTS = (
    "dashscope.aliyuncs.com",
    "dashscope-intl.aliyuncs.com",
    "dashscope-us.aliyuncs.com",
    "cn-hongkong.dashscope.aliyuncs.com",
    "*.maas.aliyuncs.com",
)

#: DashScope's base paths, as the PrivateLink guide writes them into base URLs
#: (``base_url=``, ``dashscope.base_http_api_url``, ``base_websocket_api_url``).
#: An endpoint value ending in one of them is taken as its scheme, host and port:
#: the path is kept from each request anyway.
BASE_PATHS = (
    "/compatible-mode/v1",
    "/api/v1",
    "/api-ws/v1/inference",
    "/api-ws/v1/realtime",
    "/apps/anthropic",
    "/api/v2/apps/protocols/compatible-mode/v1",
)
#: WebSocket schemes are accepted only together with a WebSocket base path (the
#: guide's ``base_websocket_api_url``); they stand for the HTTP scheme beneath.
_WS_SCHEMES = {"ws": "http", "wss": "https"}

_PRIVATELINK_SUFFIX = ".privatelink.aliyuncs.com"



def format_netloc(host: str, port: object = None, default_port: object = None) -> str:
    """``host[:port]`` as in a URL or ``Host`` header: IPv6 bracketed, a default port left out.

    The package's one netloc formatter (``routing`` exports it); it lives here because
    ``Endpoint`` needs it and this module is loaded at start-up, ``routing`` is not.
    """
    netloc = f"[{host}]" if ":" in host else host
    return netloc if port is None or port == default_port else f"{netloc}:{port}"


_REGION_DEFAULT_HOST = {
    "cn-beijing": "dashscope.aliyuncs.com",
    "cn-shanghai-finance-1": "dashscope.aliyuncs.com",
    "ap-southeast-1": "dashscope-intl.aliyuncs.com",
    "cn-hongkong": "cn-hongkong.dashscope.aliyuncs.com",
}
_FALLBACK_HOST = "dashscope.aliyuncs.com"
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")




class _Frozen:
    """Tiny immutable record: ``dataclasses`` would import ``re`` and ``inspect``."""

    __slots__: "tuple[str, ...]" = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _init(self, **values: object) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(
            getattr(self, n) == getattr(other, n) for n in self.__slots__
        )

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, n) for n in self.__slots__))


class Endpoint(_Frozen):
    """The private endpoint: ``scheme`` is ``None`` when the user gave none."""

    __slots__ = ("scheme", "host", "port")
    scheme: "str | None"
    host: str
    port: "int | None"

    def __init__(self, scheme: "str | None", host: str, port: "int | None") -> None:
        self._init(scheme=scheme, host=host, port=port)

    @property
    def netloc(self) -> str:
        """``host[:port]`` as it appears in a URL (IPv6 literals in brackets)."""
        return format_netloc(self.host, self.port)

    @property
    def is_privatelink_domain(self) -> bool:
        """The default ``ep-*`` domain, which serves plain HTTP only."""
        return self.host.endswith(_PRIVATELINK_SUFFIX)

    def __str__(self) -> str:
        return f"{self.scheme}://{self.netloc}" if self.scheme else self.netloc


class HostSet(_Frozen):
    """Exact host names plus ``*.suffix`` wildcards (which never match the bare suffix)."""

    __slots__ = ("exact", "suffixes")
    exact: frozenset
    suffixes: tuple

    def __init__(self, exact: frozenset = frozenset(), suffixes: tuple = ()) -> None:
        self._init(exact=frozenset(exact), suffixes=tuple(suffixes))

    def __contains__(self, host: object) -> bool:
        if host in self.exact:
            return True
        return isinstance(host, str) and any(host.endswith(s) for s in self.suffixes)

    def __bool__(self) -> bool:
        return bool(self.exact or self.suffixes)

    def patterns(self) -> tuple:
        """The set as the user would write it, sorted."""
        return tuple(sorted(self.exact)) + tuple("*" + s for s in sorted(self.suffixes))




def _normalize_dns_name(variable: str, name: str, what: str) -> str:
    """Lower-case, IDNA-encode and validate a DNS name; drop one trailing dot."""
    if name.endswith("."):
        name = name[:-1]
    if not name:
        raise _error(variable, f"the {what} is empty", "give a host name such as ep-xxxx.dashscope.cn-beijing.privatelink.aliyuncs.com")
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise _error(variable, f"the {what} {name!r} is not a valid internationalized domain name", "use the endpoint's ASCII domain name") from None
    name = name.lower()
    if len(name) > 253:
        raise _error(variable, f"the {what} is longer than 253 characters")
    for label in name.split("."):
        if not label or len(label) > 63 or label[0] == "-" or label[-1] == "-" or not _LABEL_CHARS.issuperset(label):
            raise _error(variable, f"the {what} {name!r} is not a valid host name", "use letters, digits, '-' and '.' only")
    return name


def _is_ipv4(host: str) -> bool:
    parts = host.split(".")
    return len(parts) == 4 and all(p.isdigit() and p.isascii() for p in parts)


def _validate_ipv4(variable: str, host: str) -> str:
    parts = host.split(".")
    if any(len(p) > 3 or int(p) > 255 or (len(p) > 1 and p[0] == "0") for p in parts):
        raise _error(variable, f"{host!r} is not a valid IPv4 address")
    return host


def _validate_ipv6(variable: str, literal: str) -> str:
    import ipaddress  # only for bracketed literals; not on the common path

    try:
        return str(ipaddress.IPv6Address(literal))
    except ValueError:
        raise _error(variable, f"[{literal}] is not a valid IPv6 address") from None


def _parse_port(variable: str, text: str) -> int:
    if not text or not (text.isascii() and text.isdigit()) or len(text) > 5 or not 0 < int(text) <= 65535:
        raise _error(variable, f"the port {text!r} is not a number from 1 to 65535")
    return int(text)


def parse_endpoint(value: str, variable: str) -> "Endpoint":
    """Parse ``host``, ``host:port``, ``http(s)://host[:port]`` or an IP literal; a trailing ``/`` is fine.

    A base URL from the guide (``http://ep-xxxx.../compatible-mode/v1``, ``.../api/v1``,
    ``ws://ep-xxxx.../api-ws/v1/inference``; see :data:`BASE_PATHS`) is taken as its
    scheme, host and port (``ws``/``wss`` as ``http``/``https``); any other path is refused.
    """
    text = value.strip()
    if not text:
        raise _error(variable, "the value is empty", "set it to the endpoint's domain, e.g. ep-xxxx.dashscope.cn-beijing.privatelink.aliyuncs.com")
    if any(c.isspace() for c in text):
        raise _error(variable, "the value contains whitespace", "set only the endpoint's domain")
    if "*" in text:
        raise _error(
            variable,
            "the value contains '*', the masked placeholder copied from the documentation",
            "copy the real default service domain of your endpoint from the PrivateLink console",
        )
    scheme, rest, _dropped = _split_base_url(variable, text)
    port_text = None
    if rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            raise _error(variable, "an IPv6 literal is missing its closing ']'")
        host = _validate_ipv6(variable, rest[1:close])
        after = rest[close + 1 :]
        if after:
            if not after.startswith(":"):
                raise _error(variable, f"unexpected text {after!r} after the IPv6 literal")
            port_text = after[1:]
    elif rest.count(":") > 1:
        raise _error(variable, "an IPv6 address must be written in brackets", "write it as [addr] or [addr]:port")
    else:
        host, sep, port_text_raw = rest.partition(":")
        port_text = port_text_raw if sep else None
        if not host:
            raise _error(variable, "the host is empty")
        host = _validate_ipv4(variable, host) if _is_ipv4(host) else _normalize_dns_name(variable, host, "host")
    port = _parse_port(variable, port_text) if port_text is not None else None
    return Endpoint(scheme, host, port)


def _split_base_url(variable: str, text: str) -> "tuple[str | None, str, str | None]":
    """``(scheme, host[:port], dropped base path)`` from an endpoint value; checks all but the host."""
    scheme = None
    rest = text
    if "://" in text:
        scheme, rest = text.split("://", 1)
        scheme = scheme.lower()
        if scheme not in ("http", "https") and scheme not in _WS_SCHEMES:
            raise _error(variable, f"the scheme {scheme!r} is not supported", "use http:// or https:// or no scheme")
    for mark, what in (("?", "a query"), ("#", "a fragment")):
        if mark in rest:
            raise _error(variable, f"{what} is not allowed", "set only scheme, host and port; paths such as /compatible-mode/v1 are kept from each request")
    dropped = None
    slash = rest.find("/")
    if slash >= 0:
        path = rest[slash:]
        if path != "/":
            dropped = path[:-1] if path.endswith("/") else path
            if dropped not in BASE_PATHS:
                raise _error(
                    variable,
                    f"the path {path!r} is not allowed",
                    "set only scheme, host and port, or a base URL from the guide ending in " + ", ".join(BASE_PATHS),
                )
        rest = rest[:slash]
    if scheme in _WS_SCHEMES:
        if dropped is None or not dropped.startswith("/api-ws/"):
            raise _error(variable, f"the scheme {scheme!r} is not supported", "use http:// or https:// or no scheme")
        scheme = _WS_SCHEMES[scheme]
    if "@" in rest:
        raise _error(variable, "user information ('user@') is not allowed", "set only the endpoint's domain")
    return scheme, rest, dropped


def endpoint_base_path(value: str, variable: str) -> "str | None":
    """The base path an endpoint value carries, which :func:`parse_endpoint` drops; ``None`` if none.

    For ``doctor``: ``http://ep-xxxx.../compatible-mode/v1`` -> ``/compatible-mode/v1``.
    The value must be valid (see :func:`parse_endpoint`).
    """
    return _split_base_url(variable, value.strip())[2]


def parse_pattern(item: str, variable: str) -> str:
    """One host pattern, normalized: an exact host (``dashscope.aliyuncs.com``) or ``*.suffix``."""
    item = item.strip()
    if "://" in item or any(c in item for c in "/?#@:=") or any(c.isspace() for c in item):
        raise _error(variable, f"{item!r} is not a host name", "list bare host names such as dashscope.aliyuncs.com, comma-separated")
    if item.startswith("*."):
        suffix = _normalize_dns_name(variable, item[2:], "wildcard suffix")
        if "." not in suffix:
            raise _error(variable, f"the wildcard {item!r} is too broad", "name at least a registered domain, e.g. *.maas.aliyuncs.com")
        return "*." + suffix
    if "*" in item:
        raise _error(variable, f"{item!r}: '*' is only allowed as a leading '*.'")
    return _normalize_dns_name(variable, item, "host")


def parse_hosts(value: str, variable: str) -> "HostSet":
    """Parse a comma-separated list of exact host names and ``*.suffix`` wildcards."""
    exact = set()
    suffixes = set()
    for item in value.split(","):
        if not item.strip():
            continue
        pattern = parse_pattern(item, variable)
        if pattern.startswith("*."):
            suffixes.add(pattern[1:])
        else:
            exact.add(pattern)
    if not exact and not suffixes:
        raise _error(variable, "the list names no host", "give at least one host, e.g. dashscope.aliyuncs.com")
    return HostSet(frozenset(exact), tuple(sorted(suffixes)))


def default_hosts_for(endpoint: "Endpoint") -> tuple:
    """The public host to redirect, inferred from the endpoint's region.

    Returns ``(host, region)``; ``region`` is ``None`` when nothing was recognised
    (an IP literal or a custom DNS name), in which case the Beijing host is used.
    """
    for label in endpoint.host.split("."):
        region = label[4:] if label.startswith("vpc-") else label
        if region in _REGION_DEFAULT_HOST:
            return _REGION_DEFAULT_HOST[region], region
    return _FALLBACK_HOST, None


