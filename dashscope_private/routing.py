"""The pure routing decision: should this URL go private, and to what exactly?

No I/O and no imports beyond builtins. Hosts are compared exactly (after
lower-casing and dropping one trailing dot), never by substring, so
``dashscope.aliyuncs.com.evil.example`` and ``xdashscope.aliyuncs.com`` are
left alone. Only scheme, host and port change; userinfo, path, query and
fragment are kept byte for byte.
"""

from __future__ import annotations

from .config import PUBLIC_MODEL_STUDIO_HOSTS, Config, HostSet, parse_hosts
from .errors import ConfigError, PublicEgressBlocked

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Callable, Optional, Tuple

    Target = Tuple[str, str, Optional[int]]

__all__ = ["Router", "split_url", "normalize_host", "PASS", "REDIRECT", "WARN", "OSS_INTERNAL"]

PASS = 0
REDIRECT = 1
WARN = 2
OSS_INTERNAL = 3

_URL_SCHEMES = ("http", "https", "ws", "wss")
_SECURE = ("https", "wss")
_WEBSOCKET = ("ws", "wss")
_OSS_SUFFIX = ".aliyuncs.com"
_CACHE_LIMIT = 4096

_PUBLIC_HOSTS = parse_hosts(",".join(PUBLIC_MODEL_STUDIO_HOSTS), "PUBLIC_MODEL_STUDIO_HOSTS")


def normalize_host(host: str) -> str:
    """Lower-case a host and drop one trailing dot; brackets are removed from IPv6 literals."""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host.endswith("."):
        host = host[:-1]
    return host.lower()


def split_url(url: str) -> tuple | None:
    """Split ``url`` into ``(scheme, userinfo, host, port_text, authority_end)``.

    Returns ``None`` for anything that is not an absolute http(s)/ws(s) URL with
    an unambiguous authority; callers then leave the URL alone and the
    transport-level hooks, which see the HTTP library's own parse, decide.
    """
    sep = url.find("://")
    if sep <= 0:
        return None
    scheme = url[:sep].lower()
    if scheme not in _URL_SCHEMES:
        return None
    start = sep + 3
    end = len(url)
    for mark in "/?#":
        i = url.find(mark, start)
        if 0 <= i < end:
            end = i
    authority = url[start:end]
    if "\\" in authority or (authority and authority.split() != [authority]):  # any whitespace, in C
        return None
    before_at, at, hostport = authority.rpartition("@")
    userinfo = before_at if at else None
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            return None
        host = hostport[1:close]
        rest = hostport[close + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port = rest[1:] if rest else None
    else:
        host, colon, port_text = hostport.partition(":")
        port = port_text if colon else None
    return scheme, userinfo, normalize_host(host), port, end


class Router:
    """Decides per host and rewrites URLs for one configuration.

    A ``Router`` is immutable apart from its decision cache; the active one is
    swapped atomically on activate/deactivate, so a request in flight always
    sees one consistent configuration.
    """

    def __init__(
        self,
        config: Config | None,
        error: ConfigError | None = None,
        on_warn: Callable[[str, str], None] | None = None,
    ) -> None:
        if config is None and error is None:
            raise ValueError("a Router needs a configuration or a configuration error")
        self.config = config
        self.error = error
        self._on_warn = on_warn
        self._cache: dict = {}
        if config is not None:
            self._redirect = config.hosts
            self._allow = config.allow
            self._endpoint_host = config.endpoint.host
        else:
            self._redirect = HostSet()
            self._allow = HostSet()
            self._endpoint_host = ""
        self._tokens = self._prefilter_tokens()

    def _prefilter_tokens(self) -> tuple:
        """Cheap substring pre-filter for string URLs: a URL that contains none of
        these cannot name a host we act on. Built from the hosts in force."""
        tokens = {".".join(h.split(".")[-2:]) for h in self._redirect.exact}
        tokens.update(".".join(s.split(".")[-2:]) for s in self._redirect.suffixes)
        tokens.add("aliyuncs.com")
        return tuple(sorted(tokens))

    @classmethod
    def failing(cls, error: ConfigError, hosts: HostSet | None = None) -> Router:
        """A router for an invalid configuration: requests to public hosts raise ``error``.

        ``hosts`` (the configured hosts, when they could be read) replaces the
        default set, and the pre-filter is rebuilt from it: otherwise a string URL
        for a custom host would pass ``might_match`` and go out (fail open) while
        ``target`` for the same host raises.
        """
        router = cls(None, error=error)
        if hosts:
            router._redirect = hosts
            router._tokens = router._prefilter_tokens()
        return router

    # ------------------------------------------------------------------ decisions

    def decide(self, host: str) -> int:
        """Classify a normalized host: PASS, REDIRECT, WARN or OSS_INTERNAL.

        Raises the configuration error (fail closed) or :class:`PublicEgressBlocked`
        (strict mode) for public hosts that must not be reached.
        """
        try:
            action = self._cache[host]
        except KeyError:
            action = self._classify(host)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[host] = action
        if action >= 0:
            return action
        raise self._blocked_error(host)

    def _classify(self, host: str) -> int:
        """-1 means blocked; the exception is built by the caller so the cache stays plain ints."""
        if not host or host == self._endpoint_host:
            return PASS
        if self.config is None:
            # Invalid configuration: fail closed for every public Model Studio host.
            return -1 if (host in self._redirect or host in _PUBLIC_HOSTS) else PASS
        if host in self._allow:
            return PASS
        if host in self._redirect:
            return REDIRECT
        if host in _PUBLIC_HOSTS:
            return -1 if self.config.strict else WARN
        if self._is_dashscope_oss(host):
            if self.config.oss == "internal":
                return OSS_INTERNAL
            if self.config.oss == "public":
                return PASS
            return -1 if self.config.strict else WARN
        return PASS

    @staticmethod
    def _is_dashscope_oss(host: str) -> bool:
        """``dashscope-*.oss-<region>.aliyuncs.com``: the SDK's upload buckets."""
        if not host.endswith(_OSS_SUFFIX) or not host.startswith("dashscope"):
            return False
        labels = host.split(".")
        return len(labels) == 4 and labels[1].startswith("oss-") and not labels[1].endswith("-internal")

    def _blocked_error(self, host: str) -> Exception:
        if self.error is not None:
            # A fresh instance each time: re-raising one shared exception object
            # from many threads would pile tracebacks onto it.
            return ConfigError(self.error.variable, self.error.problem, self.error.fix)
        if self._is_dashscope_oss(host):
            hint = (
                "a local file upload goes to DashScope's public OSS bucket, which the PrivateLink endpoint "
                "does not cover; set DASHSCOPE_PRIVATE_OSS=internal to use the VPC-internal OSS endpoint, "
                f"or DASHSCOPE_PRIVATE_ALLOW={host} to permit it"
            )
        else:
            hint = (
                "it is a public Model Studio host that is not redirected; add it to DASHSCOPE_PRIVATE_HOSTS "
                "to send it through the private endpoint, or to DASHSCOPE_PRIVATE_ALLOW to permit it"
            )
        return PublicEgressBlocked(host, "", hint)

    # ------------------------------------------------------------------ targets

    def target_scheme(self, scheme: str) -> str:
        """The scheme policy: explicit endpoint scheme wins; ``*.privatelink`` means http; else keep."""
        endpoint = self.config.endpoint  # type: ignore[union-attr]
        if endpoint.scheme is not None:
            secure = endpoint.scheme == "https"
        elif endpoint.is_privatelink_domain:
            secure = False
        else:
            secure = scheme in _SECURE
        if scheme in _WEBSOCKET:
            return "wss" if secure else "ws"
        return "https" if secure else "http"

    def target(self, scheme: str, host: str, warn: bool = True) -> Target | None:
        """Where a request for ``scheme://host`` should go: ``(scheme, host, port)`` or ``None`` to leave it.

        ``host`` must already be normalized (see :func:`normalize_host`). The
        returned port is ``None`` when the default port of the scheme applies.
        ``warn=False`` is for reads that send nothing (a setting shown to the
        user): they must not use up the once-per-host warning.
        """
        action = self.decide(host)
        if action == PASS:
            return None
        if action == REDIRECT:
            endpoint = self.config.endpoint  # type: ignore[union-attr]
            return self.target_scheme(scheme), endpoint.host, endpoint.port
        if action == OSS_INTERNAL:
            bucket, region, rest = host.split(".", 2)
            return scheme, f"{bucket}.{region}-internal.{rest}", None
        if warn and self._on_warn is not None:
            self._on_warn(host, "public")
        return None

    def might_match(self, url: str) -> bool:
        """Cheap pre-filter: ``False`` means no host in ``url`` can need any action."""
        low = url.lower()
        for token in self._tokens:
            if token in low:
                return True
        return False

    def rewrite(self, url: str, warn: bool = True) -> str:
        """Return ``url`` pointed at the private endpoint, or unchanged when it is not ours to touch."""
        if not self.might_match(url):
            return url
        parts = split_url(url)
        if parts is None:
            return url
        scheme, userinfo, host, _port, end = parts
        try:
            found = self.target(scheme, host, warn)
        except PublicEgressBlocked as exc:
            exc.url = url
            raise
        if found is None:
            return url
        new_scheme, new_host, new_port = found
        netloc = f"[{new_host}]" if ":" in new_host else new_host
        if new_port is not None:
            netloc = f"{netloc}:{new_port}"
        if userinfo is not None:
            netloc = f"{userinfo}@{netloc}"
        return f"{new_scheme}://{netloc}{url[end:]}"
