"""The standard library: ``urllib.request`` fully, ``http.client`` as far as its layer allows.

urllib.request
    ``OpenerDirector.open`` rewrites the URL (a ``str`` or a ``Request``, whose
    ``full_url`` is reassigned so ``type``/``host`` follow) before any handler
    runs, so the opener picks the handler for the *new* scheme: the default
    ``ep-*`` endpoint is plain HTTP while the public URL is HTTPS. ``urlopen``
    (the global opener) and redirects (``HTTPRedirectHandler`` opens the new
    ``Request`` through ``open`` again) are covered. A ``Host`` header the
    program set that names a redirected public host follows the new host, in
    ``headers`` and ``unredirected_hdrs``; a request we do not rewrite keeps
    every header byte for byte. Endpoint traffic goes direct: the module-global
    ``urllib.request.proxy_bypass``, which ``ProxyHandler.proxy_open`` looks up at
    call time, answers True for the endpoint host. (Modules that copied
    ``proxy_bypass`` with ``from urllib.request import proxy_bypass`` after
    install, such as ``requests.utils``, get the same answer; once deactivated it
    passes straight through to the original.)

http.client
    ``HTTPConnection.__init__`` (which ``HTTPSConnection`` and urllib3's
    connection classes run too) moves ``host``/``port`` to the endpoint after
    the original ``__init__``: the ``Host`` header and TLS SNI are derived from
    ``self.host`` later. On a connection bound for the endpoint, an explicit
    ``Host`` header naming a redirected public host is replaced at ``putheader``
    (an instance attribute, so other connections pay nothing).

    **Scheme mismatch.** A connection object cannot switch TLS on or off: an
    ``HTTPSConnection`` cannot speak to the default (plain HTTP) ``ep-*``
    endpoint, nor an ``HTTPConnection`` to an HTTPS custom domain. When the
    endpoint's scheme (``Router.target_scheme``) differs from the connection's,
    the connection is refused with :class:`PublicEgressBlocked` in strict mode;
    otherwise a warning is logged once per host and the connection is left
    alone (it goes to the public host, as without this plugin). An invalid
    configuration raises its ``ConfigError`` here as everywhere else (fail
    closed). Programs that need the redirect should use ``urllib.request`` or a
    higher-level library, or point ``DASHSCOPE_PRIVATE_ENDPOINT`` at the
    endpoint's HTTPS custom domain (``https://...``).

    Connections made through a proxy (``set_tunnel``) name the proxy as their
    host; they are not this layer's to redirect.

Every hook is a plain function that runs for every request or connection of
the program; anything it does not understand (bytes URLs, bytes header values,
odd types) passes through untouched.
"""

from __future__ import annotations

from types import ModuleType

from .. import _log
from .._patching import Patcher, loaded_module
from .._state import current, on_import, route_target
from ..routing import format_netloc
from ._urls import DEFAULT_PORTS, HOST_SPELLINGS, is_endpoint, names_redirected_host, route_url

__all__ = ["install", "uninstall", "follow_host_header", "hostport_host"]

_patcher = Patcher("urllib")

#: Instance attribute marking a connection we bound for the endpoint.
_BOUND = "_dashscope_private_netloc"


# ------------------------------------------------------------------ helpers


def hostport_host(hostport: str) -> str:
    """The host of ``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` (the text itself if unsure)."""
    if hostport.startswith("["):
        close = hostport.find("]")
        return hostport[1:close] if close > 0 else hostport
    if hostport.count(":") == 1:
        return hostport.partition(":")[0]
    return hostport


def follow_host_header(value: object, netloc: str) -> object:
    """``netloc`` when ``value`` (a ``Host`` header) names a redirected public host, else ``value``."""
    if isinstance(value, str) and value != netloc and names_redirected_host(value):
        return netloc
    return value


# ------------------------------------------------------------------ urllib.request


def _fix_request_host_headers(req: object, rewritten: bool) -> None:
    """Make ``Host`` headers naming a redirected host follow the request's (new) host."""
    headers = getattr(req, "headers", None)
    unredirected = getattr(req, "unredirected_hdrs", None)
    if not ((isinstance(headers, dict) and "Host" in headers) or (isinstance(unredirected, dict) and "Host" in unredirected)):
        return
    host = getattr(req, "host", None)
    if not isinstance(host, str) or not host:
        return
    if not rewritten and not _names_endpoint(host, getattr(req, "type", None)):
        return
    for store in (headers, unredirected):
        if isinstance(store, dict) and "Host" in store:
            new = follow_host_header(store["Host"], host)
            if new is not store["Host"]:
                store["Host"] = new


def _names_endpoint(hostport: str, scheme: object) -> bool:
    """True when ``host[:port]`` of a ``scheme`` request is the endpoint's host and port."""
    host = hostport_host(hostport)
    if not is_endpoint(host):
        return False
    rest = hostport[hostport.find("]") + 1 :] if hostport.startswith("[") else hostport[len(host) :]
    port: object = None
    if rest.startswith(":") and rest[1:].isdigit():
        port = int(rest[1:])
    return is_endpoint(host, port, DEFAULT_PORTS["https" if scheme == "https" else "http"])


def _rewrite_request(req: object) -> None:
    try:
        url = req.full_url  # type: ignore[attr-defined]
    except Exception:
        return
    if not isinstance(url, str):
        return
    new = route_url(url)
    if new is not url:
        try:
            req.full_url = new  # type: ignore[attr-defined]
        except Exception:
            return
    _fix_request_host_headers(req, new is not url)


def _make_open(original, request_type):  # type: ignore[no-untyped-def]
    from urllib.parse import unwrap

    def open(self, fullurl, *args, **kwargs):  # type: ignore[no-untyped-def]  # noqa: A001
        if isinstance(fullurl, str):
            new = route_url(fullurl)
            # urllib strips "<URL:...>" and surrounding white space itself: look again at what it will use.
            if new is fullurl and fullurl and (fullurl[0] == "<" or fullurl[0] <= " " or fullurl[-1] <= " "):
                cleaned = unwrap(fullurl)
                redirected = route_url(cleaned)
                if redirected is not cleaned:
                    new = redirected
            fullurl = new
        elif isinstance(fullurl, request_type):
            _rewrite_request(fullurl)
        return original(self, fullurl, *args, **kwargs)

    return open


def _make_proxy_bypass(original):  # type: ignore[no-untyped-def]
    def proxy_bypass(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(host, str) and is_endpoint(hostport_host(host)):
            return True
        return original(host, *args, **kwargs)

    return proxy_bypass


def _patch_urllib_request(module: ModuleType) -> None:
    request_type = module.Request
    _patcher.replace(module.OpenerDirector, "open", lambda original: _make_open(original, request_type))
    _patcher.replace(module, "proxy_bypass", _make_proxy_bypass)


# ------------------------------------------------------------------ http.client


def _cannot_redirect(conn: object, host: str, scheme: str, why: str) -> None:
    """Strict mode: refuse the connection; otherwise warn once and leave it to the public host."""
    router = current()
    hint = (
        f"http.client cannot redirect an {type(conn).__name__} ({scheme}) to the private endpoint: {why}. "
        "Use urllib.request (or requests/httpx), which choose the connection for the endpoint's scheme, or set "
        "DASHSCOPE_PRIVATE_ENDPOINT to the endpoint's HTTPS custom domain (https://...)"
    )
    if router is not None and router.config is not None and router.config.strict:
        from ..errors import PublicEgressBlocked

        raise PublicEgressBlocked(host, f"{scheme}://{host}", hint)
    _log.once("warning", ("http.client", host, scheme), "%s; this connection goes to public host %s", hint, host)


def _make_putheader(conn: object, netloc: str):  # type: ignore[no-untyped-def]
    import weakref

    ref = weakref.ref(conn)
    putheader = type(conn).putheader  # type: ignore[attr-defined]

    def follow(header, *values):  # type: ignore[no-untyped-def]
        # isinstance first: a bytes name must never be compared with the str spellings (python -bb).
        if isinstance(header, str) and header in HOST_SPELLINGS and values:
            values = (follow_host_header(values[0], netloc), *values[1:])
        return putheader(ref(), header, *values)

    return follow


def _bind(conn: object, host: str, port: object) -> None:
    netloc = format_netloc(host, port, getattr(conn, "default_port", None))
    try:
        conn.__dict__[_BOUND] = netloc
        conn.putheader = _make_putheader(conn, netloc)  # type: ignore[attr-defined]
    except Exception:  # an unusual subclass (slots, read-only attributes): the Host header is left to it
        pass


def _make_connection_init(original, https_type):  # type: ignore[no-untyped-def]
    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        router = current()
        host = getattr(self, "host", None)
        if router is None or not isinstance(host, str) or not host:
            return
        target = None
        if router.might_match(host):  # cheap: only hosts that could be ours are decided
            secure = (https_type is not None and isinstance(self, https_type)) or getattr(self, "default_port", None) == 443
            scheme = "https" if secure else "http"
            target = route_target(scheme, host)  # strict mode / invalid configuration raise here
        if target is None:
            port = getattr(self, "port", None)
            if is_endpoint(host, port, getattr(self, "default_port", None)):
                _bind(self, host, port)
            return
        new_scheme, new_host, new_port = target
        if new_scheme != scheme:
            why = f"the endpoint takes {new_scheme}, and a connection object cannot switch TLS on or off"
            _cannot_redirect(self, host, scheme, why)
            return
        port = getattr(self, "port", None)
        try:
            self.host = new_host
            self.port = new_port if new_port is not None else self.default_port
        except Exception as exc:  # a subclass that will not let us: do not leave it half-moved
            try:
                self.host, self.port = host, port
            except Exception:
                pass
            _cannot_redirect(self, host, scheme, f"{type(self).__name__} refused the new host ({type(exc).__name__})")
            return
        _bind(self, new_host, self.port)

    return __init__


def install() -> None:
    # Not ``http.client`` as an attribute: during its post-import hook the submodule
    # may not be bound on the ``http`` package yet.
    client = loaded_module("http.client")
    https_type = getattr(client, "HTTPSConnection", None)  # absent without ssl
    _patcher.replace(client.HTTPConnection, "__init__", lambda original: _make_connection_init(original, https_type))
    # urllib.request may be imported later (or never): patch it when it is.
    on_import("urllib", "urllib.request", _patch_urllib_request)


def uninstall() -> list:
    return _patcher.undo()
