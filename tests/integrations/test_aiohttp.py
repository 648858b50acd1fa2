"""aiohttp (``integrations/aiohttp.py``): HTTP and WebSocket, the environment's proxies and one given in code."""

from __future__ import annotations

import asyncio
import json

import pytest

from dashscope_private import PublicEgressBlocked
from dashscope_private.standin import StandIn
from support import BODY, CHAT, CHAT_PATH, HEADERS, INTL, RUN_TASK, WS_INFERENCE, elsewhere, landed


def test_aiohttp_http_and_websocket(private):
    aiohttp = pytest.importorskip("aiohttp")

    async def main():
        async with aiohttp.ClientSession() as session:
            async with session.post(CHAT, json=BODY, headers=HEADERS) as response:
                assert response.status == 200
                await response.json()
            async with session.ws_connect(WS_INFERENCE, headers=HEADERS) as ws:
                await ws.send_str(json.dumps({"header": {"action": "run-task", "task_id": "t1", "streaming": "duplex"}, "payload": {"task": "asr"}}))
                started = json.loads((await ws.receive()).data)
                return started["header"]["event"]

    assert asyncio.run(main()) == "task-started"
    landed(private)
    landed(private, kind="websocket", path="/api-ws/v1/inference")


def test_aiohttp_base_url(private):
    aiohttp = pytest.importorskip("aiohttp")

    async def main():
        async with aiohttp.ClientSession(base_url="https://dashscope.aliyuncs.com") as session:
            async with session.post("/compatible-mode/v1/chat/completions", json=BODY, headers=HEADERS) as response:
                return response.status

    try:
        assert asyncio.run(main()) == 200
    except TypeError:
        pytest.skip("this aiohttp has no base_url")
    landed(private)


# ------------------------------------------------------------------ a proxy passed in code is never used for the endpoint; every other host keeps it


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


# ------------------------------------------------------------------ strict mode


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


def test_aiohttp_keep_alive_session_rebuilds_a_public_url_once(private):
    aiohttp = pytest.importorskip("aiohttp")
    from dashscope_private import _state

    async def main():
        async with aiohttp.ClientSession() as session:
            for _ in range(3):
                async with session.post(CHAT, json=BODY, headers=HEADERS) as response:
                    assert response.status == 200
                    await response.read()

    asyncio.run(main())
    assert len(landed(private)) == 3
    rebuilt = _state.current()._url_objects
    assert [str(url) for url in rebuilt] == [CHAT] and str(next(iter(rebuilt.values()))).startswith(private.url)


def test_aiohttp_blocks_an_unredirected_public_host_on_every_request(standin):
    aiohttp = pytest.importorskip("aiohttp")
    import dashscope_private

    dashscope_private.activate(standin.url, strict="1")

    async def main():
        async with aiohttp.ClientSession() as session:
            for _ in range(2):
                with pytest.raises(PublicEgressBlocked):
                    await session.post(INTL, json=BODY)

    asyncio.run(main())
    assert not standin.records
