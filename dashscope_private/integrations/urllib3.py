"""urllib3 (2.x): rewrite absolute URLs before a connection pool is chosen.

``PoolManager.urlopen`` (``urllib3.request()``, ``PoolManager().request()`` and
every redirect it follows), ``PoolManager.connection_from_url`` and the module
function ``connection_from_url`` rewrite the URL string first, so the pool's
scheme, host and port, the ``Host`` header and TLS SNI all follow the
endpoint; a ``Host`` header the program set that names a redirected public
host follows too. Anything else passes through untouched.

``ProxyManager`` sends endpoint traffic direct, never through its proxy: the
endpoint is inside the VPC. For the endpoint host, ``connection_from_host``
returns a pool built without the proxy settings (keyed apart from the proxied
pools, closed with the manager), ``urlopen`` skips the proxy headers, and the
request line uses origin form (``/path``) as to any direct server. Redirects
still pass through the ``ProxyManager``, so a redirect elsewhere uses the proxy
as configured.

Pools built directly, ``HTTPConnectionPool("dashscope.aliyuncs.com")``, end in
``http.client.HTTPConnection.__init__``, which the ``urllib`` integration
redirects (within that layer's limits on the scheme; see ``urllib``).
"""

from __future__ import annotations

from .._patching import Patcher
from ..routing import format_netloc, split_url
from ._urls import HOST_SPELLINGS, is_endpoint, names_redirected_host, rewrite_first_argument, rewrite_method_argument, route_url, url_is_for_endpoint

__all__ = ["install", "uninstall"]

_patcher = Patcher("urllib3")

#: Pool settings that make a pool go through the proxy; ``None`` removes them.
_NO_PROXY_POOL_KW = {"_proxy": None, "_proxy_headers": None, "_proxy_config": None}


def _netloc(url: str) -> str | None:
    """``host[:port]`` of an absolute URL, as it goes in a ``Host`` header."""
    parts = split_url(url)
    return None if parts is None else format_netloc(parts.host, parts.port)


#: ``urllib3.HTTPHeaderDict``, whose ``in`` ignores case (set by ``install``).
_header_dict: type | None = None


def _may_hold_host(headers) -> bool:  # type: ignore[no-untyped-def]
    """False when ``headers`` surely has no ``Host`` key: the usual request, decided without copying its items."""
    kind = type(headers)
    if kind is dict:
        for key in headers:
            if isinstance(key, str) and key in HOST_SPELLINGS:
                return True
        return False
    if kind is _header_dict:
        return "host" in headers
    return True  # another mapping: look at its items


def _follow_host(headers, url: str):  # type: ignore[no-untyped-def]
    """``headers`` with a ``Host`` naming a redirected public host set to ``url``'s; else ``headers`` itself."""
    if not _may_hold_host(headers):
        return headers
    try:
        items = list(headers.items())
    except Exception:
        return headers
    for key, value in items:
        if isinstance(key, str) and key.lower() == "host" and isinstance(value, str) and names_redirected_host(value):
            netloc = _netloc(url)
            if netloc is None:
                return headers
            try:
                new = headers.copy()
                new[key] = netloc
            except Exception:
                return headers
            return new
    return headers


def _fix_kw_headers(manager, kw: dict, url: str) -> None:  # type: ignore[no-untyped-def]
    headers = kw["headers"] if "headers" in kw else getattr(manager, "headers", None)
    if headers:
        new = _follow_host(headers, url)
        if new is not headers:
            kw["headers"] = new


def _rewrite_urlopen_url(manager, url, kw):  # type: ignore[no-untyped-def]
    """``url`` pointed at the endpoint (a ``Host`` header in ``kw`` follows), or itself."""
    if isinstance(url, str):
        new = route_url(url)
        if new is not url:
            _fix_kw_headers(manager, kw, new)
            return new
    return url


def _make_urlopen(original):  # type: ignore[no-untyped-def]
    def urlopen(self, method, url, redirect=True, **kw):  # type: ignore[no-untyped-def]
        return original(self, method, _rewrite_urlopen_url(self, url, kw), redirect, **kw)

    return urlopen


def _make_proxy_urlopen(original, plain_urlopen):  # type: ignore[no-untyped-def]
    def urlopen(self, method, url, redirect=True, **kw):  # type: ignore[no-untyped-def]
        url = _rewrite_urlopen_url(self, url, kw)
        if isinstance(url, str):
            if url_is_for_endpoint(url, any_port=True):
                # Direct: no proxy headers (Accept, Host for the proxy); the pool and the
                # request form come from connection_from_host / _proxy_requires_url_absolute_form.
                return plain_urlopen(self, method, url, redirect, **kw)
        return original(self, method, url, redirect, **kw)

    return urlopen


def _make_proxy_connection_from_host(plain_connection_from_host):  # type: ignore[no-untyped-def]
    def make(original):  # type: ignore[no-untyped-def]
        def connection_from_host(self, host, port=None, scheme="http", pool_kwargs=None):  # type: ignore[no-untyped-def]
            if is_endpoint(host):
                direct = dict(pool_kwargs) if isinstance(pool_kwargs, dict) else {}
                direct.update(_NO_PROXY_POOL_KW)
                return plain_connection_from_host(self, host, port, scheme, pool_kwargs=direct)
            return original(self, host, port, scheme, pool_kwargs)

        return connection_from_host

    return make


def _make_requires_absolute_form(original):  # type: ignore[no-untyped-def]
    def _proxy_requires_url_absolute_form(self, parsed_url):  # type: ignore[no-untyped-def]
        if is_endpoint(getattr(parsed_url, "host", None)):
            return False
        return original(self, parsed_url)

    return _proxy_requires_url_absolute_form


def install() -> None:
    import urllib3
    import urllib3.connectionpool
    import urllib3.poolmanager

    global _header_dict
    _header_dict = getattr(urllib3, "HTTPHeaderDict", None)
    pool_manager = urllib3.poolmanager.PoolManager
    proxy_manager = urllib3.poolmanager.ProxyManager
    # The unpatched PoolManager methods, for the ProxyManager's direct path.
    plain_urlopen = pool_manager.urlopen
    plain_connection_from_host = pool_manager.connection_from_host

    _patcher.replace(pool_manager, "urlopen", _make_urlopen)
    _patcher.replace(pool_manager, "connection_from_url", rewrite_method_argument)
    _patcher.replace(proxy_manager, "urlopen", lambda original: _make_proxy_urlopen(original, plain_urlopen))
    _patcher.replace(proxy_manager, "connection_from_host", _make_proxy_connection_from_host(plain_connection_from_host))
    if hasattr(pool_manager, "_proxy_requires_url_absolute_form"):
        _patcher.replace(proxy_manager, "_proxy_requires_url_absolute_form", _make_requires_absolute_form)
    _patcher.replace(urllib3.connectionpool, "connection_from_url", rewrite_first_argument)
    if getattr(urllib3, "connection_from_url", None) is not None:
        _patcher.replace(urllib3, "connection_from_url", rewrite_first_argument)


def uninstall() -> list:
    return _patcher.undo()
