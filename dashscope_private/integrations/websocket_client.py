"""websocket-client: rewrite the URL given to ``WebSocket.connect``.

``WebSocketApp.run_forever`` and ``create_connection`` both end there; the
handshake's Host header, SNI and the ``no_proxy`` check follow the new URL.
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


def install() -> None:
    import websocket

    _patcher.wrap(websocket.WebSocket, "connect", _connect)


def uninstall() -> list:
    return _patcher.undo()
