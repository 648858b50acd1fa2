"""DSPy (``integrations/dspy.py``): its bundled lm15 transports against the stand-in.

Each test runs the real library with the PUBLIC DashScope URL in the code and
checks where the request landed; the proxy trap and the loopback guard
(``conftest.py``) fail anything that went out unredirected.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os

import pytest

import dashscope_private
from dashscope_private.standin import StandIn
from support import CHAT, CHAT_PATH, ODD_VALUES, blocked_in, elsewhere, landed, no_proxy_names_only_another_host, odd_value_id, patched_hooks, returned_or_raised

# DSPy fetches a model price map from GitHub on first use unless told to use its bundled copy;
# that request has nothing to do with DashScope (the trap would catch it), so use the local copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

COMPATIBLE = "https://dashscope.aliyuncs.com/compatible-mode/v1"
COMPATIBLE_INTL = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
BODY = {"model": "qwen-plus", "messages": [{"role": "user", "content": "你是谁?"}]}
DSPY_REPLY = "[[ ## answer ## ]]\nFrom the private endpoint.\n\n[[ ## completed ## ]]"


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
    error = blocked_in(info.value)
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


# ------------------------------------------------------------------ a proxy passed in code (lm15's transports)


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


# ------------------------------------------------------------------ hooks never raise on what they do not understand


@pytest.mark.parametrize("value", ODD_VALUES, ids=odd_value_id)
def test_dspy_hooks_pass_odd_input_through(private, value):
    pytest.importorskip("dspy")
    if not _uses_lm15():
        pytest.skip("no lm15 transports in this DSPy")
    from dspy._vendor.lm15.transports import _async, _sync

    for module in (_sync, _async):
        for name, hook, original in patched_hooks(module, ["parse_url", "proxy_route_for"]):
            if name == "parse_url":
                assert returned_or_raised(hook, value) == returned_or_raised(original, value)
            else:
                assert returned_or_raised(hook, value, proxy=None, trust_env=False) == returned_or_raised(original, value, proxy=None, trust_env=False)
