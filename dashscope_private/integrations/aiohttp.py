"""aiohttp: rewrite where ``ClientSession`` resolves a request URL.

``ClientSession._build_url`` (aiohttp 3.8+) is used by every request and by
``ws_connect``, after ``base_url`` is joined; the connection, Host header, SNI
and ``trust_env`` proxy lookup all follow its result; that lookup never
proxies the endpoint (activation does not edit ``NO_PROXY``). Older releases fall back
to the URL argument of ``ClientSession._request``.

A proxy given in code (``session.get(url, proxy=...)``, ``ClientSession(proxy=...)``)
is not used for the endpoint either: ``ClientRequest.update_proxy``, where
every request (redirects included) takes the proxy it will use, gets none,
with no proxy auth or headers, when the request's URL names the endpoint
host. Requests for any other host keep theirs. Plain-function hooks: they
run for every request.
"""

from __future__ import annotations

from .._patching import Patcher
from ._urls import is_endpoint, note_proxy_dropped, rewrite_yarl_url, route_url

__all__ = ["install", "uninstall"]

_patcher = Patcher("aiohttp")


def _make_build_url(original):  # type: ignore[no-untyped-def]
    def _build_url(self, str_or_url):  # type: ignore[no-untyped-def]
        return rewrite_yarl_url(original(self, str_or_url))

    return _build_url


def _make_request(original):  # type: ignore[no-untyped-def]
    def _request(self, method, str_or_url, *args, **kwargs):  # type: ignore[no-untyped-def]
        url = route_url(str_or_url) if isinstance(str_or_url, str) else rewrite_yarl_url(str_or_url)
        return original(self, method, url, *args, **kwargs)

    return _request


def _make_get_env_proxy_for_url(original):  # type: ignore[no-untyped-def]
    def get_env_proxy_for_url(url):  # type: ignore[no-untyped-def]
        if is_endpoint(getattr(url, "host", None)):
            raise LookupError("dashscope-private: the private endpoint is never proxied")
        return original(url)

    return get_env_proxy_for_url


def _make_update_proxy(original):  # type: ignore[no-untyped-def]
    def update_proxy(self, proxy, *args, **kwargs):  # type: ignore[no-untyped-def]
        if proxy is not None and is_endpoint(getattr(getattr(self, "url", None), "host", None)):
            # The endpoint is inside the VPC: no proxy, and so no proxy auth or headers.
            note_proxy_dropped("aiohttp")
            return original(self, None, None, None)
        return original(self, proxy, *args, **kwargs)

    return update_proxy


def install() -> None:
    import aiohttp
    import aiohttp.client
    import aiohttp.client_reqrep

    session = aiohttp.ClientSession
    if hasattr(session, "_build_url"):
        _patcher.replace(session, "_build_url", _make_build_url)
    else:
        _patcher.replace(session, "_request", _make_request)
    if hasattr(aiohttp.client, "get_env_proxy_for_url"):  # trust_env=True: proxies from the environment
        _patcher.replace(aiohttp.client, "get_env_proxy_for_url", _make_get_env_proxy_for_url)
    _patcher.replace(aiohttp.client_reqrep.ClientRequest, "update_proxy", _make_update_proxy)


def uninstall() -> list:
    return _patcher.undo()
