"""websockets (legacy, asyncio, sync clients) and DSPy (its bundled lm15 transports) against the stand-in.

Each test runs the real library with the PUBLIC DashScope URL in the code and
checks where the request landed (``standin.records``: kind and Host). The
root conftest points HTTP(S)_PROXY at the proxy trap and refuses non-loopback
lookups and connections, so anything that went out unredirected fails the test.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import ssl
import warnings

import pytest

from conftest import landed

import dashscope_private
from dashscope_private import PublicEgressBlocked
from dashscope_private import standin as standin_module

# DSPy fetches a model price map from GitHub on first use unless told to use its bundled copy;
# that request has nothing to do with DashScope (the trap would catch it), so use the local copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

WS_INFERENCE = "wss://dashscope.aliyuncs.com/api-ws/v1/inference"
WS_INTL = "wss://dashscope-intl.aliyuncs.com/api-ws/v1/inference"
COMPATIBLE = "https://dashscope.aliyuncs.com/compatible-mode/v1"
COMPATIBLE_INTL = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
RUN_TASK = json.dumps({"header": {"action": "run-task", "task_id": "t1", "streaming": "duplex"}, "payload": {"task": "asr"}})
DSPY_REPLY = "[[ ## answer ## ]]\nFrom the private endpoint.\n\n[[ ## completed ## ]]"


def blocked(exc: BaseException) -> PublicEgressBlocked | None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, PublicEgressBlocked):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return None


def no_proxy_names_only_another_host(monkeypatch) -> None:
    """NO_PROXY as a program might set it, without the endpoint. Set after activation, so that
    nothing activation did to the environment can be what exempts the endpoint."""
    monkeypatch.setenv("NO_PROXY", "internal.example")
    monkeypatch.setenv("no_proxy", "internal.example")


# ------------------------------------------------------------------ websockets

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


# ------------------------------------------------------------------ hooks never raise on what they do not understand


ODD_VALUES = [None, b"wss://dashscope.aliyuncs.com/api-ws/v1/inference", 42, object(), "", "dashscope.aliyuncs.com", "wss://[::1", "ftp://dashscope.aliyuncs.com/"]


def _outcome(function, *args, **kwargs):
    try:
        return ("returned", repr(function(*args, **kwargs)))
    except Exception as exc:  # noqa: BLE001 - comparing the library's own behaviour
        return ("raised", type(exc))


def _hooks(module, names):
    from dashscope_private._patching import _ORIGINAL

    found = [(name, getattr(module, name)) for name in names if hasattr(getattr(module, name, None), _ORIGINAL)]
    assert found, f"nothing patched in {module.__name__}"
    return [(name, hook, getattr(hook, _ORIGINAL)) for name, hook in found]


@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
def test_websockets_hooks_pass_odd_input_through(private, value):
    from websockets.sync import client as sync_client

    for _name, hook, original in _hooks(sync_client, ["parse_uri", "get_proxy"]):
        assert _outcome(hook, value) == _outcome(original, value)
    init = vars(_asyncio_client().connect)["__init__"]
    assert _outcome(init, object.__new__(_asyncio_client().connect), value) == _outcome(init.__wrapped__, object.__new__(_asyncio_client().connect), value)


# ------------------------------------------------------------------ DSPy


@pytest.fixture
def dspy_reply(standin, monkeypatch):
    """DSPy, and the stand-in answering in the format DSPy's ChatAdapter parses."""
    pytest.importorskip("dspy")
    monkeypatch.setattr(standin, "reply_text", DSPY_REPLY)


def _predict(api_base: str, mode: str = "sync") -> str:
    import dspy

    lm = dspy.LM("openai/qwen-plus", api_base=api_base, api_key="sk-dashscope", cache=False)
    dspy.configure(lm=lm)
    predict = dspy.Predict("question -> answer")
    if mode == "sync":
        return predict(question="你是谁?").answer

    async def main() -> str:
        return (await predict.acall(question="你是谁?")).answer

    return asyncio.run(main())


def _uses_lm15() -> bool:
    import importlib.util

    return importlib.util.find_spec("dspy._vendor.lm15.transports") is not None


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_dspy_predict_goes_private(private, dspy_reply, mode):
    assert _predict(COMPATIBLE, mode) == "From the private endpoint."
    records = landed(private, "http", "/compatible-mode/v1/chat/completions")
    assert len(records) == 1 and records[0].authorization


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_dspy_endpoint_bypasses_environment_proxies(standin, dspy_reply, monkeypatch, trap, mode):
    dashscope_private.activate(standin.url)
    no_proxy_names_only_another_host(monkeypatch)
    assert _predict(COMPATIBLE, mode) == "From the private endpoint."
    landed(standin, "http", "/compatible-mode/v1/chat/completions")


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_dspy_strict_blocks_before_connecting(standin, dspy_reply, mode):
    dashscope_private.activate(standin.url, strict=True)
    with pytest.raises(Exception) as info:
        _predict(COMPATIBLE_INTL, mode)
    error = blocked(info.value)
    assert error is not None, repr(info.value)
    assert error.host == "dashscope-intl.aliyuncs.com"
    assert standin.records == []


def test_dspy_disabled_integration_is_left_alone(standin, trap):
    dspy = pytest.importorskip("dspy")
    if not _uses_lm15():
        pytest.skip("this DSPy sends through litellm (httpx/aiohttp), covered by those integrations")
    dashscope_private.activate(standin.url, disabled_integrations="dspy")
    lm = dspy.LM("openai/qwen-plus", api_base=COMPATIBLE, api_key="sk-dashscope", cache=False, num_retries=0)
    with pytest.raises(Exception):
        lm("hello")
    assert ("CONNECT", "dashscope.aliyuncs.com:443") in [(method, target) for method, target, _host in trap.take()]
    assert standin.records == []


@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
def test_dspy_hooks_pass_odd_input_through(private, value):
    pytest.importorskip("dspy")
    if not _uses_lm15():
        pytest.skip("no lm15 transports in this DSPy")
    from dspy._vendor.lm15.transports import _async, _sync

    for module in (_sync, _async):
        for name, hook, original in _hooks(module, ["parse_url", "proxy_route_for"]):
            if name == "parse_url":
                assert _outcome(hook, value) == _outcome(original, value)
            else:
                assert _outcome(hook, value, proxy=None, trust_env=False) == _outcome(original, value, proxy=None, trust_env=False)
