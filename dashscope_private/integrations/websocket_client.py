"""websocket-client: rewrite the URL given to ``WebSocket.connect``.

``WebSocketApp.run_forever`` and ``create_connection`` both end there; the
handshake's Host header and SNI follow the new URL, and the proxy lookup
never proxies the endpoint (activation does not edit ``NO_PROXY``). A proxy
given in code (``http_proxy_host=``) is not used for the endpoint either:
``get_proxy_info`` ignores it for HTTP proxies, but a SOCKS ``proxy_type``
connects through the proxy before that lookup, so ``connect`` drops the proxy
options when the (rewritten) URL names the endpoint host.
``WebSocketApp`` also chooses its (SSL or plain) dispatcher from its own
``url`` attribute, so ``run_forever`` rewrites that first: a ``wss://`` public
URL sent to a plain ``ws://`` endpoint must not get the SSL dispatcher.
"""

from __future__ import annotations

from .._patching import Patcher
from ._urls import is_endpoint, note_proxy_dropped, route_url, url_is_for_endpoint

__all__ = ["install", "uninstall"]

_patcher = Patcher("websocket-client")


#: ``WebSocket.connect`` options that configure a proxy given in code.
_PROXY_OPTIONS = ("http_proxy_host", "http_proxy_port", "http_proxy_auth", "http_proxy_timeout", "proxy_type")


def _make_connect(original):  # type: ignore[no-untyped-def]
    def connect(self, url, **options):  # type: ignore[no-untyped-def]
        if isinstance(url, str):
            url = route_url(url)
            if options.get("http_proxy_host") and url_is_for_endpoint(url, any_port=True):
                for name in _PROXY_OPTIONS:
                    options.pop(name, None)
                note_proxy_dropped("websocket-client")
        return original(self, url, **options)

    return connect


def _make_run_forever(original):  # type: ignore[no-untyped-def]
    def run_forever(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        url = getattr(self, "url", None)
        if isinstance(url, str):
            self.url = route_url(url)
        return original(self, *args, **kwargs)

    return run_forever


def _make_get_proxy_info(original):  # type: ignore[no-untyped-def]
    def get_proxy_info(hostname, *args, **kwargs):  # type: ignore[no-untyped-def]
        if is_endpoint(hostname):
            return None, 0, None  # the private endpoint is never proxied
        return original(hostname, *args, **kwargs)

    return get_proxy_info


def install() -> None:
    import websocket
    import websocket._http

    _patcher.replace(websocket.WebSocket, "connect", _make_connect)
    _patcher.replace(websocket.WebSocketApp, "run_forever", _make_run_forever)
    if hasattr(websocket._http, "get_proxy_info"):
        _patcher.replace(websocket._http, "get_proxy_info", _make_get_proxy_info)


def uninstall() -> list:
    return _patcher.undo()
