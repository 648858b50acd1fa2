"""Strict mode: public Model Studio hosts that are not redirected are refused before any connection."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

import dashscope_private
from dashscope_private import PublicEgressBlocked

INTL = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions"
OSS_HOST = "dashscope-file-mgr.oss-cn-beijing.aliyuncs.com"
BODY = {"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def strict(standin):
    dashscope_private.activate(standin.url, strict=True)
    yield standin


def _assert_blocked(exc_info, host="dashscope-intl.aliyuncs.com"):
    error = exc_info.value
    while not isinstance(error, PublicEgressBlocked) and error.__cause__ is not None:
        error = error.__cause__
    assert isinstance(error, PublicEgressBlocked), repr(exc_info.value)
    assert error.host == host
    assert "DASHSCOPE_PRIVATE_HOSTS" in str(error) or "DASHSCOPE_PRIVATE_OSS" in str(error)


@pytest.mark.parametrize(
    "url",
    [INTL, "https://dashscope-us.aliyuncs.com/api/v1/x", "https://cn-hongkong.dashscope.aliyuncs.com/api/v1/x", "https://ws-1.cn-beijing.maas.aliyuncs.com/api/v1/x"],
)
def test_requests_blocked(strict, url):
    requests = pytest.importorskip("requests")
    with pytest.raises(PublicEgressBlocked) as info:
        requests.post(url, json=BODY, timeout=5)
    assert info.value.url == url or info.value.host in url


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_httpx_family_blocked_sync_and_async(strict, library):
    http = pytest.importorskip(library)
    with pytest.raises(PublicEgressBlocked):
        http.post(INTL, json=BODY)

    async def main():
        async with http.AsyncClient() as client:
            await client.post(INTL, json=BODY)

    with pytest.raises(PublicEgressBlocked):
        asyncio.run(main())


def test_aiohttp_http_and_websocket_blocked(strict):
    aiohttp = pytest.importorskip("aiohttp")

    async def post():
        async with aiohttp.ClientSession() as session:
            async with session.post(INTL, json=BODY):
                pass

    async def ws():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect("wss://dashscope-intl.aliyuncs.com/api-ws/v1/inference"):
                pass

    for coroutine in (post, ws):
        with pytest.raises(PublicEgressBlocked):
            asyncio.run(coroutine())


def test_websocket_client_blocked(strict):
    websocket = pytest.importorskip("websocket")
    with pytest.raises(PublicEgressBlocked):
        websocket.create_connection("wss://dashscope-intl.aliyuncs.com/api-ws/v1/realtime?model=x", timeout=5)


def test_openai_sdk_blocked_at_request_not_at_construction(strict):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(api_key="sk-x", base_url="https://dashscope-intl.aliyuncs.com/compatible-mode/v1", max_retries=0)
    assert "dashscope-intl.aliyuncs.com" in str(client.base_url)  # building a client sends nothing
    with pytest.raises(Exception) as info:
        client.chat.completions.create(model="qwen-plus", messages=BODY["messages"])
    _assert_blocked(info)


def test_dashscope_sdk_blocked(strict):
    dashscope = pytest.importorskip("dashscope")
    from dashscope import Generation

    with pytest.raises(Exception) as info:
        Generation.call(model="qwen-max", messages=BODY["messages"], result_format="message", api_key="sk-x", base_address="https://dashscope-intl.aliyuncs.com/api/v1") if _takes_base_address(dashscope) else _call_with_global(dashscope, Generation)
    _assert_blocked(info)


def _takes_base_address(dashscope) -> bool:
    import inspect

    from dashscope.api_entities import api_request_factory

    return "base_address" in inspect.signature(api_request_factory._build_api_request).parameters


def _call_with_global(dashscope, Generation):
    saved = vars(dashscope)["base_http_api_url"]
    dashscope.base_http_api_url = "https://dashscope-intl.aliyuncs.com/api/v1"
    try:
        return Generation.call(model="qwen-max", messages=BODY["messages"], result_format="message", api_key="sk-x")
    finally:
        dashscope.base_http_api_url = saved


def test_configured_host_still_goes_private(strict):
    requests = pytest.importorskip("requests")
    assert requests.post("https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions", json=BODY, timeout=5).status_code == 200
    assert [r.host for r in strict.records] == [strict.netloc]


def test_allow_list_lets_a_named_host_through(standin, trap):
    requests = pytest.importorskip("requests")
    dashscope_private.activate(standin.url, strict=True, allow="dashscope-intl.aliyuncs.com")
    with pytest.raises(requests.exceptions.ProxyError):  # it went out: here, to the loopback trap
        requests.post(INTL, json=BODY, timeout=5)
    assert [target for _m, target, _h in trap.take()] == ["dashscope-intl.aliyuncs.com:443"]


def test_not_strict_warns_once_per_host_and_goes_ahead(standin, trap, caplog):
    requests = pytest.importorskip("requests")
    dashscope_private.activate(standin.url)
    with caplog.at_level(logging.WARNING, logger="dashscope_private"):
        for _ in range(3):
            with pytest.raises(requests.exceptions.ProxyError):
                requests.post(INTL, json=BODY, timeout=5)
    warnings = [r.getMessage() for r in caplog.records if "dashscope-intl.aliyuncs.com" in r.getMessage()]
    assert len(warnings) == 1 and "leaving the VPC" in warnings[0]
    assert len(trap.take()) == 3


# ------------------------------------------------------------------ OSS uploads of local files


def _upload(dashscope, tmp_path):
    from dashscope import MultiModalConversation

    image = tmp_path / "pixel.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    messages = [{"role": "user", "content": [{"image": f"file://{image}"}, {"text": "describe"}]}]
    return MultiModalConversation.call(model="qwen-vl-plus", messages=messages, api_key="sk-x")


def test_oss_upload_blocked_in_strict_mode(standin, tmp_path):
    dashscope = pytest.importorskip("dashscope")
    standin.upload_host = f"https://{OSS_HOST}"
    dashscope_private.activate(standin.url, strict=True)
    with pytest.raises(Exception) as info:
        _upload(dashscope, tmp_path)
    _assert_blocked(info, host=OSS_HOST)
    assert "DASHSCOPE_PRIVATE_OSS=internal" in str(info.value)
    assert [r.path.split("?")[0] for r in standin.records] == ["/api/v1/uploads"]  # the policy came through the endpoint


def test_oss_internal_rewrites_to_the_vpc_endpoint(standin, tmp_path, trap):
    dashscope = pytest.importorskip("dashscope")
    requests = pytest.importorskip("requests")
    standin.upload_host = f"https://{OSS_HOST}"
    dashscope_private.activate(standin.url, strict=True, oss="internal")
    with pytest.raises((requests.exceptions.ProxyError, requests.exceptions.ConnectionError)):
        _upload(dashscope, tmp_path)  # the internal OSS host is not reachable here: it reached the trap
    assert [target for _m, target, _h in trap.take()] == ["dashscope-file-mgr.oss-cn-beijing-internal.aliyuncs.com:443"]


def test_rewrite_url_reports_blocks(strict):
    with pytest.raises(PublicEgressBlocked) as info:
        dashscope_private.rewrite_url(INTL)
    assert info.value.url == INTL and json.dumps(str(info.value))
