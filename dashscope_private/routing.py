"""The pure routing decision: should this URL go private, and to what exactly?

No I/O and no imports beyond builtins (and the package's ``config``/``errors``).
Hosts are compared exactly (after lower-casing and dropping one trailing dot),
never by substring, so ``dashscope.aliyuncs.com.evil.example`` and
``xdashscope.aliyuncs.com`` are left alone. Only scheme, host and port change;
userinfo, path, query and fragment are kept byte for byte.

With ``url_parts`` (:class:`SplitURL`, :func:`split_url`, :data:`DEFAULT_PORTS`) and
``hosts.format_netloc``, re-exported here, this module is the package's one URL
vocabulary; :meth:`Router.is_endpoint` is the one endpoint predicate, which every
integration uses through ``integrations._urls``.
"""

from __future__ import annotations

from .config import Config
from .hosts import PUBLIC_MODEL_STUDIO_HOSTS, Endpoint, HostSet, format_netloc, parse_hosts
from .errors import ConfigError, DashscopePrivateError, PublicEgressBlocked
from .url_parts import DEFAULT_PORTS, SplitURL, normalize_host, split_url

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Callable, Optional, Tuple

    Target = Tuple[str, str, Optional[int]]

__all__ = [
    "Router",
    "SplitURL",
    "split_url",
    "normalize_host",
    "format_netloc",
    "DEFAULT_PORTS",
    "ANY_PORT",
    "PASS",
    "REDIRECT",
    "WARN",
    "OSS_INTERNAL",
]

PASS = 0
REDIRECT = 1
WARN = 2
OSS_INTERNAL = 3

_SECURE = ("https", "wss")
_WEBSOCKET = ("ws", "wss")
_OSS_SUFFIX = ".aliyuncs.com"
_CACHE_LIMIT = 4096  # hosts; URL memos hold 512 (a signed OSS URL can be a kilobyte)
#: ``Router.is_endpoint(host, port=ANY_PORT)``: the host alone decides (proxy choices).
ANY_PORT = -1

_PUBLIC_HOSTS = parse_hosts(",".join(PUBLIC_MODEL_STUDIO_HOSTS), "PUBLIC_MODEL_STUDIO_HOSTS")


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
        self._cache: dict = {}  # normalized host -> action
        self._rewritten: dict = {}  # URL -> its rewrite ("" when it passes unchanged); never a warned URL
        self._endpoint_urls: dict = {}  # URL naming the endpoint host -> (host matches, host and port match)
        self._host_headers: dict = {}  # Host header value -> names a redirected host
        self._url_objects: dict = {}  # immutable URL object (yarl) -> its rewrite; only redirected ones
        table = config.routing_table() if config is not None else ()
        #: Routed host -> its endpoint; ``*.suffix`` routes longest suffix first (the more specific wins).
        self._exact_routes = {pattern: endpoint for pattern, endpoint in table if not pattern.startswith("*.")}
        self._suffix_routes = tuple(sorted(((p[1:], e) for p, e in table if p.startswith("*.")), key=lambda r: -len(r[0])))
        self._redirect = HostSet(frozenset(self._exact_routes), tuple(suffix for suffix, _ in self._suffix_routes))
        self._allow = config.allow if config is not None else HostSet()
        #: Endpoint host -> the ports it serves (``None``: the scheme's default), for :meth:`is_endpoint`.
        self._endpoint_ports: dict = {}
        for _, endpoint in table:
            if endpoint.host:
                self._endpoint_ports[endpoint.host] = self._endpoint_ports.get(endpoint.host, frozenset()) | {endpoint.port}
        self._endpoint_hosts = tuple(self._endpoint_ports)
        self._longest_endpoint = max((len(h) for h in self._endpoint_hosts), default=0) + 3  # brackets, one dot
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
            self._remember(self._cache, host, action, _CACHE_LIMIT)
        if action >= 0:
            return action
        raise self._blocked_error(host)

    def _classify(self, host: str) -> int:
        """-1 means blocked; the exception is built by the caller so the cache stays plain ints."""
        if not host or host in self._endpoint_ports:
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
        return PublicEgressBlocked.unredirected(host, oss_upload=self._is_dashscope_oss(host))

    # ------------------------------------------------------------------ targets

    def route_of(self, host: str) -> tuple[str, Endpoint] | None:
        """``(pattern, endpoint)`` of the route a normalized ``host`` takes: its exact route, else the
        longest matching ``*.suffix``; ``None`` when no route names it."""
        endpoint = self._exact_routes.get(host)
        if endpoint is not None:
            return host, endpoint
        for suffix, candidate in self._suffix_routes:
            if host.endswith(suffix):
                return "*" + suffix, candidate
        return None

    def route_for(self, host: str) -> Endpoint | None:
        """The endpoint a normalized routed ``host`` goes to (see :meth:`route_of`)."""
        route = self.route_of(host)
        return route[1] if route is not None else None

    @staticmethod
    def target_scheme(scheme: str, endpoint: Endpoint) -> str:
        """The scheme policy: explicit endpoint scheme wins; ``*.privatelink`` means http; else keep."""
        if endpoint.scheme is not None:
            secure = endpoint.scheme == "https"
        elif endpoint.is_privatelink_domain:
            secure = False
        else:
            secure = scheme in _SECURE  # https, wss
        if scheme in _WEBSOCKET:
            return "wss" if secure else "ws"
        return "https" if secure else "http"

    def target(self, scheme: str, host: str, warn: bool = True) -> Target | None:
        """Where a request for ``scheme://host`` should go: ``(scheme, host, port)`` or ``None`` to leave it.

        ``host`` must be normalized (:func:`normalize_host`); the port is ``None`` for the scheme's default.
        ``warn=False`` is for reads that send nothing: they must not use up the once-per-host warning.
        """
        action = self.decide(host)
        if action == PASS:
            return None
        if action == REDIRECT:
            endpoint = self.route_for(host)
            if endpoint is not None:
                return self.target_scheme(scheme, endpoint), endpoint.host, endpoint.port
        if action == OSS_INTERNAL:
            bucket, region, rest = host.split(".", 2)
            return scheme, f"{bucket}.{region}-internal.{rest}", None
        if warn and self._on_warn is not None:
            self._on_warn(host, "public")
        return None

    def target_for(self, scheme: str, host: str, warn: bool = True) -> Target | None:
        """:meth:`target` for a host as a library gives it (any case, brackets, one trailing dot); a host
        decided to pass is one lookup (keys are normalized: only a normalized host hits), e.g. the endpoint."""
        if self._cache.get(host) == PASS:
            return None
        return self.target(scheme, normalize_host(host), warn)

    def might_match(self, url: str) -> bool:
        """Cheap pre-filter: ``False`` means no host in ``url`` can need any action."""
        low = url.lower()
        for token in self._tokens:
            if token in low:
                return True
        return False

    def rewrite(self, url: str, warn: bool = True) -> str:
        """Return ``url`` pointed at the private endpoint, or unchanged when it is not ours to touch.

        A URL seen before is one dict lookup (a keep-alive client sends the same URL
        again and again), before the pre-filter; a URL whose host warns or is blocked
        is never remembered, so the warning and the error happen on every request as
        before. Only URLs that pass the pre-filter are remembered.
        """
        known = self._rewritten.get(url)  # first: a keep-alive client's URL is one lookup, no pre-filter
        if known is not None:
            return known or url
        if not self.might_match(url):
            return url
        parts = split_url(url)
        if parts is None:
            self._remember(self._rewritten, url, "")
            return url
        scheme, userinfo, host, _port, end = parts
        try:
            found = self.target(scheme, host, warn)
        except PublicEgressBlocked as exc:
            exc.url = url
            raise
        if found is None:
            if self._cache.get(host) == PASS:
                self._remember(self._rewritten, url, "")
            return url
        new_scheme, new_host, new_port = found
        netloc = format_netloc(new_host, new_port)
        if userinfo is not None:
            netloc = f"{userinfo}@{netloc}"
        new = f"{new_scheme}://{netloc}{url[end:]}"
        self._remember(self._rewritten, url, new)
        return new

    def rewritten_object(self, url: object, target: Target, build: Callable[[object, Target], object]) -> object:
        """``build(url, target)`` for an immutable, hashable URL object a library parsed (yarl), remembered:
        rebuilding one costs ~10 us, a lookup ~1 us. Call it only with the ``target`` the router gave
        ``url`` (a redirect never warns, so nothing that warns or is blocked gets here)."""
        try:
            return self._url_objects[url]
        except KeyError:
            new = build(url, target)
            self._remember(self._url_objects, url, new)
            return new

    @staticmethod
    def _remember(memo: dict, key: object, value: object, limit: int = 512) -> None:
        if len(memo) >= limit:
            memo.clear()
        memo[key] = value

    # ------------------------------------------------------------------ the endpoint

    def is_endpoint(self, host: object, port: object = ANY_PORT, default_port: object = None) -> bool:
        """True when ``host`` (str or bytes, any case, one trailing dot, brackets) is an endpoint's.

        ``port=ANY_PORT`` (proxy decisions) checks the host alone; otherwise ``port`` (``None``:
        ``default_port``) must be one that endpoint host serves (its ``default_port`` when a route
        names none). Never raises: anything it does not understand is not an endpoint.
        """
        if not host or not self._endpoint_hosts:
            return False
        if not isinstance(host, str):
            if not isinstance(host, (bytes, bytearray)):
                return False
            try:
                host = bytes(host).decode("ascii")
            except UnicodeDecodeError:
                return False
        ports = self._endpoint_ports.get(host)  # an endpoint as libraries give it back (normalized): one lookup
        if ports is None:
            if len(host) > self._longest_endpoint:  # type: ignore[arg-type]
                return False
            if host.startswith("["):  # type: ignore[union-attr]
                if not host.endswith("]"):  # type: ignore[union-attr]
                    return False
                host = host[1:-1]  # type: ignore[index]
            host = host.lower()  # type: ignore[union-attr]
            ports = self._endpoint_ports.get(host[:-1] if host.endswith(".") else host)
            if ports is None:
                return False
        if port == ANY_PORT:
            return True
        port = port or default_port
        if port is None:
            return False
        for wanted in ports:
            if port == (default_port if wanted is None else wanted):
                return True
        return False

    def url_is_endpoint(self, url: str, any_port: bool = False) -> bool:
        """True when the string ``url`` is addressed to the endpoint (``any_port``: its host, on any port).

        A substring test first, so other URLs cost one ``in``; an endpoint URL seen
        before is one dict lookup.
        """
        for endpoint in self._endpoint_hosts:
            if endpoint in url or endpoint in url.lower():
                break
        else:
            return False
        seen = self._endpoint_urls.get(url)
        if seen is None:
            parts = split_url(url)
            if parts is None or not self.is_endpoint(parts[2]):
                seen = (False, False)
            else:
                port = parts.port_number()
                seen = (True, port != -1 and self.is_endpoint(parts[2], port, DEFAULT_PORTS[parts[0]]))
            self._remember(self._endpoint_urls, url, seen)
        return seen[1 - any_port]

    def names_redirected(self, host_header: str) -> bool:
        """True when a ``Host`` header value (``host[:port]``) names a redirected host (never warns or raises)."""
        known = self._host_headers.get(host_header)
        if known is None:
            if not self.might_match(host_header):
                return False
            parts = split_url("http://" + host_header.strip())
            try:
                known = parts is not None and bool(parts[2]) and self.decide(parts[2]) in (REDIRECT, OSS_INTERNAL)
            except DashscopePrivateError:
                known = False
            self._remember(self._host_headers, host_header, known)
        return known
