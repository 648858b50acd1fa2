"""websocket-client (``integrations/websocket_client.py``): create_connection, WebSocketApp, a SOCKS proxy in code, strict mode."""

from __future__ import annotations

import json

import pytest

from dashscope_private import PublicEgressBlocked
from dashscope_private.standin import StandIn
from support import RUN_TASK, WS_INFERENCE, elsewhere, landed, trap_port


def test_websocket_client(private):
    websocket = pytest.importorskip("websocket")
    ws = websocket.create_connection(WS_INFERENCE, header=["Authorization: Bearer sk-dashscope"], timeout=10)
    try:
        ws.send(json.dumps({"header": {"action": "run-task", "task_id": "t2", "streaming": "duplex"}, "payload": {"task": "asr"}}))
        assert json.loads(ws.recv())["header"]["event"] == "task-started"
    finally:
        ws.close()
    landed(private, kind="websocket", path="/api-ws/v1/inference")


def test_websocket_app_hard_coded_realtime_url(private):
    websocket = pytest.importorskip("websocket")
    received = []

    def on_message(app, message):
        received.append(json.loads(message))
        app.close()

    app = websocket.WebSocketApp("wss://dashscope.aliyuncs.com/api-ws/v1/realtime?model=qwen-omni-turbo-realtime", on_message=on_message)
    app.run_forever()
    assert received and received[0]["type"] == "session.created"
    landed(private, kind="websocket", path="/api-ws/v1/realtime?model=qwen-omni-turbo-realtime")


# ------------------------------------------------------------------ a proxy passed in code


def test_websocket_client_socks_proxy_is_not_used_for_the_endpoint(private, trap):
    """``proxy_type="socks5"`` connects through the proxy before websocket-client's proxy lookup."""
    websocket = pytest.importorskip("websocket")
    ws = websocket.create_connection(
        WS_INFERENCE, http_proxy_host="127.0.0.1", http_proxy_port=trap_port(trap), proxy_type="socks5", timeout=10
    )
    try:
        ws.send(RUN_TASK)
        assert json.loads(ws.recv())["header"]["event"] == "task-started"
    finally:
        ws.close()
    landed(private, "websocket", "/api-ws/v1/inference")
    # An HTTP proxy given in code still serves other hosts (the trap refuses the tunnel).
    with StandIn() as other:
        with pytest.raises(websocket.WebSocketProxyException):
            websocket.create_connection(
                elsewhere(other).replace("http://", "ws://") + "/api-ws/v1/inference",
                http_proxy_host="127.0.0.1",
                http_proxy_port=trap_port(trap),
                proxy_type="http",
                http_no_proxy=["internal.example"],  # else websocket-client applies NO_PROXY (loopback) to it
                timeout=10,
            )
        assert other.records == []
    assert [(method, target) for method, target, _host in trap.take()] == [("CONNECT", f"localhost:{other.port}")]


# ------------------------------------------------------------------ strict mode


def test_websocket_client_blocked(strict):
    websocket = pytest.importorskip("websocket")
    with pytest.raises(PublicEgressBlocked):
        websocket.create_connection("wss://dashscope-intl.aliyuncs.com/api-ws/v1/realtime?model=x", timeout=5)
