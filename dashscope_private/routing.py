"""The pure routing decision: should this URL go private, and to what exactly?

No I/O and no imports beyond builtins (and the package's ``config``/``errors``).
Hosts are compared exactly (after lower-casing and dropping one trailing dot),
never by substring, so ``dashscope.aliyuncs.com.evil.example`` and
``xdashscope.aliyuncs.com`` are left alone. Only scheme, host and port change;
userinfo, path, query and fragment are kept byte for byte.

This module is also the package's one URL vocabulary: :class:`SplitURL`,
:func:`format_netloc`, :data:`DEFAULT_PORTS` and :meth:`Router.is_endpoint`,
which every integration uses through ``integrations._urls``.
"""

from __future__ import annotations

from .config import Config
from .hosts import PUBLIC_MODEL_STUDIO_HOSTS, HostSet, format_netloc, parse_hosts
from .errors import ConfigError, DashscopePrivateError, PublicEgressBlocked

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

#: The schemes we route, and their default ports: the one scheme and default-port rule.
DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}
_SECURE = ("https", "wss")
_WEBSOCKET = ("ws", "wss")
_OSS_SUFFIX = ".aliyuncs.com"
_CACHE_LIMIT = 4096  # hosts; URL memos hold 512 (a signed OSS URL can be a kilobyte)
#: ``Router.is_endpoint(host, port=ANY_PORT)``: the host alone decides (proxy choices).
ANY_PORT = -1

_PUBLIC_HOSTS = parse_hosts(",".join(PUBLIC_MODEL_STUDIO_HOSTS), "PUBLIC_MODEL_STUDIO_HOSTS")


def normalize_host(host: str) -> str:
    """Lower-case a host and drop one trailing dot; brackets are removed from IPv6 literals."""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host.endswith("."):
        host = host[:-1]
    return host.lower()


class SplitURL(tuple):
    """``(scheme, userinfo, host, port_text, authority_end)``: a tuple (``parts[2]`` works) with names.

    A tuple subclass, not a ``NamedTuple`` (no ``typing`` import) nor a ``__slots__`` class (slower to build).
    """

    __slots__ = ()

    @property
    def scheme(self) -> str:
        return self[0]  # type: ignore[no-any-return]

    @property
    def host(self) -> str:
        return self[2]  # type: ignore[no-any-return]

    @property
    def port(self) -> str | None:
        return self[3]  # type: ignore[no-any-return]

    def port_number(self) -> int | None:
        """The port as an int, ``None`` when absent; ``-1`` when it is not a plain decimal number."""
        text = self[3]
        if not text:
            return None
        return int(text) if text.isascii() and text.isdigit() else -1


def split_url(url: str) -> SplitURL | None:
    """``url`` as a :class:`SplitURL`, or ``None`` unless it is an absolute http(s)/ws(s) URL with an
    unambiguous authority: callers then leave it alone and the transport hooks, seeing the library's parse, decide."""
    sep = url.find("://")
    if sep <= 0:
        return None
    scheme = url[:sep].lower()
    if scheme not in DEFAULT_PORTS:
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
    return SplitURL((scheme, userinfo, normalize_host(host), port, end))


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
        self._redirect = config.hosts if config is not None else HostSet()
        self._allow = config.allow if config is not None else HostSet()
        self._endpoint_host = config.endpoint.host if config is not None else ""
        self._endpoint_port = config.endpoint.port if config is not None else None
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
        return PublicEgressBlocked.unredirected(host, oss_upload=self._is_dashscope_oss(host))

    # ------------------------------------------------------------------ targets

    def target_scheme(self, scheme: str) -> str:
        """The scheme policy: explicit endpoint scheme wins; ``*.privatelink`` means http; else keep."""
        endpoint = self.config.endpoint  # type: ignore[union-attr]
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
            endpoint = self.config.endpoint  # type: ignore[union-attr]
            return self.target_scheme(scheme), endpoint.host, endpoint.port
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
        """True when ``host`` (str or bytes, any case, one trailing dot, brackets) is the endpoint's.

        ``port=ANY_PORT`` (proxy decisions) checks the host alone; otherwise ``port`` (``None``:
        ``default_port``) must be the endpoint's (its ``default_port`` when it names none).
        Never raises: anything it does not understand is not the endpoint.
        """
        endpoint = self._endpoint_host
        if not endpoint or not host:
            return False
        if not isinstance(host, str):
            if not isinstance(host, (bytes, bytearray)):
                return False
            try:
                host = bytes(host).decode("ascii")
            except UnicodeDecodeError:
                return False
        if host != endpoint:  # the endpoint as libraries give it back (normalized) skips the rest
            if host.startswith("["):  # type: ignore[union-attr]
                if not host.endswith("]"):  # type: ignore[union-attr]
                    return False
                host = host[1:-1]  # type: ignore[index]
            if not (len(host) - len(endpoint) <= 1 and host.lower().rstrip(".") == endpoint):  # type: ignore[union-attr,arg-type]
                return False
        if port == ANY_PORT:
            return True
        wanted = self._endpoint_port
        port = port or default_port
        return port is not None and port == (default_port if wanted is None else wanted)

    def url_is_endpoint(self, url: str, any_port: bool = False) -> bool:
        """True when the string ``url`` is addressed to the endpoint (``any_port``: its host, on any port).

        A substring test first, so other URLs cost one ``in``; an endpoint URL seen
        before is one dict lookup.
        """
        endpoint = self._endpoint_host
        if not endpoint or (endpoint not in url and endpoint not in url.lower()):
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
