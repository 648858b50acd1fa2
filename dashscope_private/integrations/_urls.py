"""Rewrite the URL types of the HTTP libraries with the router in force.

Object URLs (httpx/httpx2 ``URL``, yarl ``URL``) already carry a parsed host,
so the check is one normalized-host lookup; string URLs go through the
router's substring pre-filter first. Either way the pass-through path for a
non-DashScope URL allocates nothing.
"""

from __future__ import annotations

from .. import _log
from .._runtime import current, endpoint_host, route_target, route_url
from ..errors import DashscopePrivateError
from ..routing import split_url

__all__ = [
    "rewrite_str",
    "rewrite_first_argument",
    "rewrite_httpx_url",
    "rewrite_yarl_url",
    "rewrite_setting",
    "names_redirected_host",
    "is_endpoint_host",
    "url_is_for_endpoint",
    "url_is_for_endpoint_host",
    "is_endpoint_address",
    "note_proxy_dropped",
]

rewrite_str = route_url


def rewrite_first_argument(original):  # type: ignore[no-untyped-def]
    """A ``Patcher.replace`` factory for ``original(url, ...)``: ``url`` goes through the router first.

    For the narrow functions where a library turns a URL string into its parts (websockets'
    ``parse_uri``, DSPy's ``parse_url``, urllib3's ``connection_from_url``); anything that is not
    a string passes through untouched.
    """

    def rewriting(url, *args, **kwargs):  # type: ignore[no-untyped-def]
        return original(rewrite_str(url), *args, **kwargs)

    return rewriting


def rewrite_httpx_url(url, warn: bool = True):  # type: ignore[no-untyped-def]
    """An ``httpx.URL``/``httpx2.URL`` pointed at the endpoint, or ``url`` itself."""
    scheme, host = getattr(url, "scheme", None), getattr(url, "host", None)
    if not isinstance(scheme, str) or not isinstance(host, str) or not hasattr(url, "copy_with"):
        return url  # not an httpx-style URL: not ours to judge
    target = route_target(scheme, host, warn)
    if target is None:
        return url
    scheme, host, port = target
    return url.copy_with(scheme=scheme, host=host, port=port)


def rewrite_yarl_url(url):  # type: ignore[no-untyped-def]
    """A ``yarl.URL`` pointed at the endpoint, or ``url`` itself."""
    if not url.is_absolute():
        return url
    target = route_target(url.scheme, url.host or "")
    if target is None:
        return url
    scheme, host, port = target
    new = url.with_scheme(scheme).with_host(host)
    return new.with_port(port)


def rewrite_setting(url):  # type: ignore[no-untyped-def]
    """For URLs an SDK stores (a client's base URL): rewrite, but never raise or warn.

    Building a client sends nothing; blocking and warning happen when a request
    is made, in the transport integrations.
    """
    try:
        return rewrite_str(url, warn=False) if isinstance(url, str) else rewrite_httpx_url(url, warn=False)
    except DashscopePrivateError:
        return url


def names_redirected_host(host_header: object) -> bool:
    """True when a ``Host`` header value (``host[:port]``) names a host being redirected.

    Header values may be bytes or anything else a library accepts: whatever is
    not a ``str`` is not ours to judge.
    """
    router = current()
    if router is None or not isinstance(host_header, str) or not router.might_match(host_header):
        return False
    parts = split_url("http://" + host_header.strip())
    if parts is None:
        return False
    try:
        return route_target("http", parts[2], warn=False) is not None
    except DashscopePrivateError:
        return False


def is_endpoint_host(host: object) -> bool:
    """True when ``host`` (a str or bytes host name, any case, one trailing dot) is the endpoint's.

    Every integration whose library honours proxy settings uses this to send
    endpoint traffic direct: the endpoint is inside the VPC, and activation
    does not edit ``NO_PROXY`` (that would change how the program's own later
    proxy settings behave). Never raises; anything it does not understand is
    not the endpoint.
    """
    endpoint = endpoint_host()
    if endpoint is None or not host:
        return False
    if isinstance(host, (bytes, bytearray)):
        try:
            host = bytes(host).decode("ascii")
        except UnicodeDecodeError:
            return False
    if not isinstance(host, str):
        return False
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return len(host) - len(endpoint) <= 1 and host.lower().rstrip(".") == endpoint


_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


def is_endpoint_address(scheme: object, host: object, port: object) -> bool:
    """True when ``scheme://host:port`` (``port`` None for the scheme's default) is the endpoint."""
    router = current()
    config = router.config if router is not None else None
    if config is None or not is_endpoint_host(host) or scheme not in _DEFAULT_PORTS:
        return False
    default = _DEFAULT_PORTS[scheme]  # type: ignore[index]
    return (port or default) == (config.endpoint.port or default)


def url_is_for_endpoint_host(url: object) -> bool:
    """True when the string URL ``url`` names the endpoint's host, on any port (cheap for other URLs).

    For proxy decisions: nothing addressed to the endpoint host goes through a proxy.
    """
    host = endpoint_host()
    if host is None or not isinstance(url, str) or (host not in url and host not in url.lower()):
        return False
    parts = split_url(url)
    return parts is not None and is_endpoint_host(parts[2])


def url_is_for_endpoint(url: object) -> bool:
    """True when the string URL ``url`` is addressed to the endpoint, host and port (cheap for other URLs)."""
    host = endpoint_host()
    if host is None or not isinstance(url, str) or (host not in url and host not in url.lower()):
        return False
    parts = split_url(url)
    if parts is None:
        return False
    port_text = parts[3]
    if port_text and not (port_text.isascii() and port_text.isdigit()):
        return False
    return is_endpoint_address(parts[0], parts[2], int(port_text) if port_text else None)


def note_proxy_dropped(library: str) -> None:
    """Say once, at info level, that a proxy the program passed in code was not used for the endpoint.

    The endpoint is inside the VPC, so a proxy is never right for it, even one
    given explicitly (``proxy=`` and the like); the program's proxy still
    serves every other host.
    """
    _log.once(
        "info",
        ("explicit-proxy", library),
        "%s: the private endpoint is inside the VPC, so the proxy passed for a request to it is not used",
        library,
    )
