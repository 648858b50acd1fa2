"""websocket-client: rewrite the URL given to ``WebSocket.connect``.

``WebSocketApp.run_forever`` and ``create_connection`` both end there; the
handshake's Host header, SNI and the ``no_proxy`` check follow the new URL.
``WebSocketApp`` also chooses its (SSL or plain) dispatcher from its own
``url`` attribute, so ``run_forever`` rewrites that first: a ``wss://`` public
URL sent to a plain ``ws://`` endpoint must not get the SSL dispatcher.
"""

from __future__ import annotations

from .._patching import Patcher
from ._urls import rewrite_str

__all__ = ["install", "uninstall"]

_patcher = Patcher("websocket-client")


def _connect(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    if args and isinstance(args[0], str):
        args = (rewrite_str(args[0]), *args[1:])
    elif isinstance(kwargs.get("url"), str):
        kwargs["url"] = rewrite_str(kwargs["url"])
    return wrapped(*args, **kwargs)


def _run_forever(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    url = getattr(instance, "url", None)
    if isinstance(url, str):
        instance.url = rewrite_str(url)
    return wrapped(*args, **kwargs)


def install() -> None:
    import websocket

    _patcher.wrap(websocket.WebSocket, "connect", _connect)
    _patcher.wrap(websocket.WebSocketApp, "run_forever", _run_forever)


def uninstall() -> list:
    return _patcher.undo()
