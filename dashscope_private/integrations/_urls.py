"""Rewrite the URL types of the HTTP libraries with the router in force.

Object URLs (httpx/httpx2 ``URL``, yarl ``URL``) already carry a parsed host,
so the check is one normalized-host lookup; string URLs go through the
router's substring pre-filter first. Either way the pass-through path for a
non-DashScope URL allocates nothing. The URL vocabulary itself (splitting,
netlocs, default ports, the endpoint predicate) lives in ``routing``; this
module adds only what needs the router in force or a library's URL type.
"""

from __future__ import annotations

from .. import _log
from .._state import current, route_target, route_url
from ..errors import DashscopePrivateError
from ..routing import ANY_PORT, DEFAULT_PORTS

__all__ = [
    "route_url",
    "rewrite_first_argument",
    "rewrite_method_argument",
    "rewrite_httpx_url",
    "route_httpx_url",
    "rewrite_yarl_url",
    "rewrite_setting",
    "names_redirected_host",
    "is_endpoint",
    "url_is_for_endpoint",
    "ANY_PORT",
    "DEFAULT_PORTS",
    "note_proxy_dropped",
    "HOST_SPELLINGS",
]

#: Every spelling of ``Host`` (``name in HOST_SPELLINGS`` is ``name.lower() == "host"`` for a str):
#: hooks that look at every header of every request test it with one set lookup. Test
#: ``isinstance(name, str)`` first: a bytes name must never meet a str (``python -bb``).
HOST_SPELLINGS = frozenset("".join(c.upper() if i >> n & 1 else c for n, c in enumerate("host")) for i in range(16))


def rewrite_first_argument(original):  # type: ignore[no-untyped-def]
    """A ``Patcher.replace`` factory for ``original(url, ...)``: ``url`` goes through the router first.

    For the narrow functions where a library turns a URL string into its parts (websockets'
    ``parse_uri``, DSPy's ``parse_url``, urllib3's ``connection_from_url``); anything that is not
    a string passes through untouched.
    """

    def rewriting(url, *args, **kwargs):  # type: ignore[no-untyped-def]
        return original(route_url(url), *args, **kwargs)

    return rewriting


def rewrite_method_argument(original):  # type: ignore[no-untyped-def]
    """As :func:`rewrite_first_argument`, for a method ``original(self, url, ...)``.

    requests' ``PreparedRequest.prepare_url``, urllib3's ``PoolManager.connection_from_url``,
    httpx's ``BaseClient._merge_url``: a plain function, it runs for every request.
    """

    def rewriting(self, url, *args, **kwargs):  # type: ignore[no-untyped-def]
        return original(self, route_url(url), *args, **kwargs)

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


def route_httpx_url(url):  # type: ignore[no-untyped-def]
    """:func:`rewrite_httpx_url` for an object that is an ``httpx.URL``/``httpx2.URL``: its scheme
    and host are strings, so the checks an unknown object needs are skipped (``Request.__init__``
    runs this for every request)."""
    target = route_target(url.scheme, url.host)
    if target is None:
        return url
    scheme, host, port = target
    return url.copy_with(scheme=scheme, host=host, port=port)


def rewrite_yarl_url(url):  # type: ignore[no-untyped-def]
    """A ``yarl.URL`` pointed at the endpoint, or ``url`` itself; a keep-alive session's URL is rebuilt once."""
    if not url.is_absolute():
        return url
    target = route_target(url.scheme, url.host or "")
    router = current()
    if target is None or router is None:
        return url
    return router.rewritten_object(url, target, _build_yarl_url)


def _build_yarl_url(url, target):  # type: ignore[no-untyped-def]
    scheme, host, port = target
    return url.with_scheme(scheme).with_host(host).with_port(port)


def rewrite_setting(url):  # type: ignore[no-untyped-def]
    """For URLs an SDK stores (a client's base URL): rewrite, but never raise or warn.

    Building a client sends nothing; blocking and warning happen when a request
    is made, in the transport integrations.
    """
    try:
        return route_url(url, warn=False) if isinstance(url, str) else rewrite_httpx_url(url, warn=False)
    except DashscopePrivateError:
        return url


def names_redirected_host(host_header: object) -> bool:
    """True when a ``Host`` header value (``host[:port]``) names a host being redirected.

    Header values may be bytes or anything else a library accepts: whatever is
    not a ``str`` is not ours to judge.
    """
    router = current()
    return router is not None and isinstance(host_header, str) and router.names_redirected(host_header)


def is_endpoint(host: object, port: object = ANY_PORT, default_port: object = None) -> bool:
    """The one "is this the endpoint?" predicate (``Router.is_endpoint``) for the router in force.

    ``port=ANY_PORT``: the host alone, for proxy decisions. Every integration whose
    library honours proxy settings uses that to send endpoint traffic direct: the
    endpoint is inside the VPC, and activation does not edit ``NO_PROXY`` (that
    would change how the program's own later proxy settings behave). Otherwise the
    port too (``None``: ``default_port``, e.g. ``DEFAULT_PORTS.get(scheme)``).
    Never raises.
    """
    router = current()
    return router is not None and router.is_endpoint(host, port, default_port)


def url_is_for_endpoint(url: object, any_port: bool = False) -> bool:
    """True when the string ``url`` is addressed to the endpoint (``any_port``: its host on any port).

    Cheap for other URLs (one substring test); anything not a string is not the endpoint.
    """
    router = current()
    return router is not None and isinstance(url, str) and router.url_is_endpoint(url, any_port)


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
