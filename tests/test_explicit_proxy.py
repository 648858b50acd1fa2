"""A proxy passed in code is never used for the endpoint, on any stack; every other host keeps it.

The environment's proxies are covered elsewhere (``test_transports``,
``test_websockets_dspy``). Here the program names the proxy trap explicitly
(``proxy=trap.url`` and each library's equivalent), which libraries use without
asking ``NO_PROXY``. A public DashScope URL must land on the stand-in, with
nothing reaching the trap; a loopback URL for another server must still go
through that proxy (the trap records it and answers 403), untouched.
"""

from __future__ import annotations

import asyncio
import importlib
import json

import pytest

from conftest import landed

from dashscope_private.standin import StandIn

CHAT = "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions"
CHAT_PATH = "/compatible-mode/v1/chat/completions"
WS_INFERENCE = "wss://dashscope.aliyuncs.com/api-ws/v1/inference"
BODY = {"model": "qwen-plus", "messages": [{"role": "user", "content": "你是谁?"}]}
RUN_TASK = json.dumps({"header": {"action": "run-task", "task_id": "t1", "streaming": "duplex"}, "payload": {"task": "asr"}})


def elsewhere(server) -> str:
    """``server``'s URL by another name: the endpoint is 127.0.0.1 (any port), this is not."""
    return server.url.replace("127.0.0.1", "localhost")


def trap_port(trap) -> int:
    return int(trap.url.rsplit(":", 1)[1])


# ------------------------------------------------------------------ aiohttp


def test_aiohttp_request_proxy_is_not_used_for_the_endpoint(private, trap):
    aiohttp = pytest.importorskip("aiohttp")

    async def main(url: str) -> int:
        async with aiohttp.ClientSession() as session:
            async with session.post(url, json=BODY, proxy=trap.url, proxy_headers={"X-Proxy-Token": "secret"}) as response:
                await response.read()
                return response.status

    assert asyncio.run(main(CHAT)) == 200
    landed(private, "http", CHAT_PATH)
    assert trap.take() == []
    # Any other host still goes through the proxy the program gave.
    with StandIn() as other:
        assert asyncio.run(main(elsewhere(other) + CHAT_PATH)) == 403  # answered by the trap
        assert other.records == []
    assert [(method, target) for method, target, _host in trap.take()] == [("POST", elsewhere(other) + CHAT_PATH)]


def test_aiohttp_session_proxy_is_not_used_for_the_endpoint(private, trap):
    aiohttp = pytest.importorskip("aiohttp")

    async def main(url: str) -> int:
        async with aiohttp.ClientSession(proxy=trap.url) as session:
            async with session.post(url, json=BODY) as response:
                await response.read()
                return response.status

    try:
        assert asyncio.run(main(CHAT)) == 200
    except TypeError as exc:
        if "proxy" not in str(exc):
            raise
        pytest.skip(f"aiohttp {aiohttp.__version__} has no ClientSession(proxy=)")
    landed(private, "http", CHAT_PATH)
    assert trap.take() == []

    async def websocket() -> str:
        async with aiohttp.ClientSession(proxy=trap.url) as session:
            async with session.ws_connect(WS_INFERENCE) as ws:
                await ws.send_str(RUN_TASK)
                return json.loads((await ws.receive()).data)["header"]["event"]

    assert asyncio.run(websocket()) == "task-started"
    landed(private, "websocket", "/api-ws/v1/inference")
    with StandIn() as other:
        assert asyncio.run(main(elsewhere(other) + CHAT_PATH)) == 403
        assert other.records == []
    assert [(method, target) for method, target, _host in trap.take()] == [("POST", elsewhere(other) + CHAT_PATH)]


# ------------------------------------------------------------------ httpx, httpx2


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_httpx_proxied_transport_sends_the_endpoint_direct(private, trap, library):
    """``proxy=`` and ``mounts=`` leave the client a direct transport for the endpoint; a proxied
    ``transport=`` does not, so the transport itself must send endpoint requests direct."""
    http = pytest.importorskip(library)
    transport = http.HTTPTransport(proxy=trap.url)
    with http.Client(transport=transport) as client:
        assert client.post(CHAT, json=BODY).status_code == 200
        twin = vars(transport)["_dashscope_private_direct_twin"]
        assert twin._pool.connections  # the endpoint connection, kept alive in the twin's pool
        # Another host keeps the proxy (the trap answers 403).
        with StandIn() as other:
            assert client.get(elsewhere(other) + CHAT_PATH).status_code == 403
            assert other.records == []
    landed(private, "http", CHAT_PATH)
    assert [(method, target) for method, target, _host in trap.take()] == [("GET", elsewhere(other) + CHAT_PATH)]
    assert not twin._pool.connections and "_dashscope_private_direct_twin" not in vars(transport)  # closed with it

    async def main() -> int:
        async with http.AsyncClient(transport=http.AsyncHTTPTransport(proxy=trap.url)) as client:
            return (await client.post(CHAT, json=BODY)).status_code

    assert asyncio.run(main()) == 200
    assert len(landed(private, "http", CHAT_PATH)) == 2
    assert trap.take() == []


# ------------------------------------------------------------------ websockets


def _websockets_with_proxy():
    websockets = pytest.importorskip("websockets")
    if int(websockets.__version__.split(".")[0]) < 15:
        pytest.skip(f"websockets {websockets.__version__} has no proxy= argument")
    return websockets


def _ws_open(client: str, url: str, **options) -> str:
    if client == "sync":
        from websockets.sync.client import connect

        with connect(url, **options) as ws:
            ws.send(RUN_TASK)
            return json.loads(ws.recv())["header"]["event"]

    connect = importlib.import_module("websockets.asyncio.client").connect

    async def main() -> str:
        async with connect(url, **options) as ws:
            await ws.send(RUN_TASK)
            return json.loads(await ws.recv())["header"]["event"]

    return asyncio.run(main())


@pytest.mark.parametrize("client", ["asyncio", "sync"])
def test_websockets_explicit_proxy_is_not_used_for_the_endpoint(private, trap, client):
    websockets = _websockets_with_proxy()
    assert _ws_open(client, WS_INFERENCE, proxy=trap.url, open_timeout=10) == "task-started"
    landed(private, "websocket", "/api-ws/v1/inference")
    assert trap.take() == []
    # Another host keeps the explicit proxy (the trap refuses the tunnel).
    with StandIn() as other:
        with pytest.raises(websockets.exceptions.ProxyError):  # a 403, or (15.x) the trap's HTTP/1.0 reply refused
            _ws_open(client, elsewhere(other).replace("http://", "ws://") + "/api-ws/v1/inference", proxy=trap.url, open_timeout=10)
        assert other.records == []
    assert [(method, target) for method, target, _host in trap.take()] == [("CONNECT", f"localhost:{other.port}")]


def test_websockets_proxy_connection_arguments_are_dropped_for_the_endpoint(private, trap):
    """The asyncio client hands ``proxy_*`` arguments to the proxy connection only; sent direct,
    asyncio would refuse them, so they go with the proxy."""
    _websockets_with_proxy()
    options = {"proxy": trap.url, "proxy_ssl_handshake_timeout": 5, "open_timeout": 10}
    assert _ws_open("asyncio", WS_INFERENCE, **options) == "task-started"
    landed(private, "websocket", "/api-ws/v1/inference")


# ------------------------------------------------------------------ websocket-client


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


# ------------------------------------------------------------------ DSPy (lm15's transports)


def _lm15():
    pytest.importorskip("dspy")
    try:
        sync = importlib.import_module("dspy._vendor.lm15.transports._sync")
        types = importlib.import_module("dspy._vendor.lm15.transports._types")
    except ImportError:
        pytest.skip("this DSPy has no lm15 transports")
    return sync, types


def test_dspy_transport_proxy_is_not_used_for_the_endpoint(private, trap):
    sync, types = _lm15()

    def post(url: str) -> int:
        with sync.StdlibTransport(proxy=trap.url) as transport:
            request = types.TransportRequest("POST", url, [("Content-Type", "application/json")], json.dumps(BODY).encode())
            with transport.stream(request) as response:
                response.read()
                return response.status

    assert post(CHAT) == 200
    landed(private, "http", CHAT_PATH)
    assert trap.take() == []
    with StandIn() as other:
        assert post(elsewhere(other) + CHAT_PATH) == 403
        assert other.records == []
    assert [(method, target) for method, target, _host in trap.take()] == [("POST", elsewhere(other) + CHAT_PATH)]
