"""websockets (``integrations/websockets.py``): the legacy, asyncio and sync clients against the stand-in.

Each test runs the real library with the PUBLIC DashScope URL in the code and
checks where the request landed (``standin.records``: kind and Host). The
conftest points HTTP(S)_PROXY at the proxy trap and refuses non-loopback
lookups and connections, so anything that went out unredirected fails the test.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import ssl
import warnings

import pytest

import dashscope_private
from dashscope_private import PublicEgressBlocked
from dashscope_private import standin as standin_module
from dashscope_private.standin import StandIn
from support import ODD_VALUES, RUN_TASK, WS_INFERENCE, elsewhere, landed, no_proxy_names_only_another_host, odd_value_id, patched_hooks, returned_or_raised

WS_INTL = "wss://dashscope-intl.aliyuncs.com/api-ws/v1/inference"

websockets = pytest.importorskip("websockets")
WEBSOCKETS_MAJOR = int(websockets.__version__.split(".")[0])


def _legacy_client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return importlib.import_module("websockets.legacy.client")
        except ImportError:
            pytest.skip(f"websockets {websockets.__version__} has no legacy client")


def _asyncio_client():
    try:
        return importlib.import_module("websockets.asyncio.client")
    except ImportError:
        pytest.skip(f"websockets {websockets.__version__} has no asyncio client")


def _open(client: str, url: str, **options) -> str:
    """Connect the way a user of that client writes it; send run-task; return the first event."""
    if client == "sync":
        from websockets.sync.client import connect

        with connect(url, **options) as ws:
            ws.send(RUN_TASK)
            return json.loads(ws.recv())["header"]["event"]

    connect = {"asyncio": lambda: _asyncio_client().connect, "legacy": lambda: _legacy_client().connect, "top-level": lambda: websockets.connect}[client]()

    async def main() -> str:
        async with connect(url, **options) as ws:
            await ws.send(RUN_TASK)
            return json.loads(await ws.recv())["header"]["event"]

    return asyncio.run(main())


CLIENTS = ["asyncio", "sync", "legacy", "top-level"]


@pytest.mark.parametrize("client", CLIENTS)
def test_websockets_client_goes_private(private, client):
    assert _open(client, WS_INFERENCE) == "task-started"
    landed(private, "websocket", "/api-ws/v1/inference")


@pytest.mark.parametrize("client", CLIENTS)
def test_websockets_ssl_context_for_the_public_wss_url(private, client):
    """DashScope samples pass an SSL context; the plain ws:// endpoint must not make websockets refuse it."""
    context = ssl.create_default_context()
    assert _open(client, WS_INFERENCE, ssl=context, server_hostname="dashscope.aliyuncs.com") == "task-started"
    landed(private, "websocket", "/api-ws/v1/inference")


def test_websockets_realtime_url_with_query(private):
    from websockets.sync.client import connect

    with connect("wss://dashscope.aliyuncs.com/api-ws/v1/realtime?model=qwen-omni-turbo-realtime") as ws:
        assert json.loads(ws.recv())["type"] == "session.created"
    landed(private, "websocket", "/api-ws/v1/realtime?model=qwen-omni-turbo-realtime")


@pytest.mark.parametrize("client", ["asyncio", "sync", "top-level"])
def test_websockets_endpoint_bypasses_environment_proxies(standin, monkeypatch, trap, client):
    if WEBSOCKETS_MAJOR < 15:
        pytest.skip("websockets < 15 does not use proxies")
    dashscope_private.activate(standin.url)
    no_proxy_names_only_another_host(monkeypatch)
    assert _open(client, WS_INFERENCE) == "task-started"
    landed(standin, "websocket", "/api-ws/v1/inference")
    # Anything else still takes the configured proxy (here, the trap, which refuses it).
    with standin_module.StandIn() as other:
        with pytest.raises(Exception):
            _open(client, other.url.replace("http://127.0.0.1", "ws://localhost") + "/api-ws/v1/inference")
        assert other.records == []
    assert [(method, target) for method, target, _host in trap.take()] == [("CONNECT", f"localhost:{other.port}")]


@pytest.mark.parametrize("client", CLIENTS)
def test_websockets_strict_blocks_before_connecting(standin, client):
    dashscope_private.activate(standin.url, strict=True)
    with pytest.raises(PublicEgressBlocked) as info:
        _open(client, WS_INTL)
    assert info.value.host == "dashscope-intl.aliyuncs.com"
    assert standin.records == []


def test_websockets_disabled_integration_is_left_alone(standin, trap):
    """With the integration off, the same code goes to the public host (here: the trap), so the tests above can fail."""
    if WEBSOCKETS_MAJOR < 15:
        pytest.skip("websockets < 15 does not use proxies; the loopback guard refuses it instead")
    dashscope_private.activate(standin.url, disabled_integrations="websockets")
    with pytest.raises(Exception):
        _open("asyncio", WS_INFERENCE)
    assert [(method, target) for method, target, _host in trap.take()] == [("CONNECT", "dashscope.aliyuncs.com:443")]
    assert standin.records == []


def test_websockets_deactivate_restores(private):
    from websockets.sync import client as sync_client

    from dashscope_private._patching import is_patched

    assert is_patched(sync_client, "parse_uri")
    dashscope_private.deactivate()
    assert not is_patched(sync_client, "parse_uri")
    assert not is_patched(_asyncio_client().connect, "__init__")


# ------------------------------------------------------------------ a proxy passed in code is never used for the endpoint; every other host keeps it


def _websockets_with_proxy():
    websockets = pytest.importorskip("websockets")
    if int(websockets.__version__.split(".")[0]) < 15:
        pytest.skip(f"websockets {websockets.__version__} has no proxy= argument")
    return websockets


@pytest.mark.parametrize("client", ["asyncio", "sync"])
def test_websockets_explicit_proxy_is_not_used_for_the_endpoint(private, trap, client):
    websockets = _websockets_with_proxy()
    assert _open(client, WS_INFERENCE, proxy=trap.url, open_timeout=10) == "task-started"
    landed(private, "websocket", "/api-ws/v1/inference")
    assert trap.take() == []
    # Another host keeps the explicit proxy (the trap refuses the tunnel).
    with StandIn() as other:
        with pytest.raises(websockets.exceptions.ProxyError):  # a 403, or (15.x) the trap's HTTP/1.0 reply refused
            _open(client, elsewhere(other).replace("http://", "ws://") + "/api-ws/v1/inference", proxy=trap.url, open_timeout=10)
        assert other.records == []
    assert [(method, target) for method, target, _host in trap.take()] == [("CONNECT", f"localhost:{other.port}")]


def test_websockets_proxy_connection_arguments_are_dropped_for_the_endpoint(private, trap):
    """The asyncio client hands ``proxy_*`` arguments to the proxy connection only; sent direct,
    asyncio would refuse them, so they go with the proxy."""
    _websockets_with_proxy()
    options = {"proxy": trap.url, "proxy_ssl_handshake_timeout": 5, "open_timeout": 10}
    assert _open("asyncio", WS_INFERENCE, **options) == "task-started"
    landed(private, "websocket", "/api-ws/v1/inference")


# ------------------------------------------------------------------ hooks never raise on what they do not understand


@pytest.mark.parametrize("value", ODD_VALUES, ids=odd_value_id)
def test_websockets_hooks_pass_odd_input_through(private, value):
    from websockets.sync import client as sync_client

    for _name, hook, original in patched_hooks(sync_client, ["parse_uri", "get_proxy"]):
        assert returned_or_raised(hook, value) == returned_or_raised(original, value)
    init = vars(_asyncio_client().connect)["__init__"]
    assert returned_or_raised(init, object.__new__(_asyncio_client().connect), value) == returned_or_raised(init.__wrapped__, object.__new__(_asyncio_client().connect), value)
