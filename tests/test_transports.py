"""The transport safety net: raw HTTP and WebSocket calls to the public host land on the endpoint.

Each test checks the Host header the endpoint received (it must follow the new
host) and relies on the proxy trap to prove nothing went out unredirected.
"""

from __future__ import annotations

import asyncio
import json
import os

import pytest

import dashscope_private
from dashscope_private.standin import StandIn

CHAT = "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions"
WS_INFERENCE = "wss://dashscope.aliyuncs.com/api-ws/v1/inference"
BODY = {"model": "qwen-plus", "messages": [{"role": "user", "content": "你是谁?"}]}
HEADERS = {"Authorization": "Bearer sk-dashscope"}


def landed(standin, kind="http", path="/compatible-mode/v1/chat/completions"):
    records = [r for r in standin.records if r.kind == kind]
    assert records, f"no {kind} request reached the endpoint"
    assert all(r.host == standin.netloc for r in records), records
    assert records[-1].path.startswith(path)
    return records


def test_requests(private):
    requests = pytest.importorskip("requests")
    response = requests.post(CHAT, json=BODY, headers=HEADERS, timeout=10)
    assert response.status_code == 200 and response.json()["choices"]
    with requests.Session() as session:
        session.get("https://dashscope.aliyuncs.com/compatible-mode/v1/models", timeout=10).raise_for_status()
    assert len(landed(private, path="/compatible-mode/v1/")) == 2


def test_requests_explicit_host_header_follows(private):
    requests = pytest.importorskip("requests")
    requests.post(CHAT, json=BODY, headers={**HEADERS, "Host": "dashscope.aliyuncs.com"}, timeout=10)
    landed(private)


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_httpx_family_sync_and_async(private, library):
    http = pytest.importorskip(library)
    assert http.post(CHAT, json=BODY, headers=HEADERS).status_code == 200
    with http.Client(base_url="https://dashscope.aliyuncs.com/compatible-mode/v1") as client:
        assert client.post("/chat/completions", json=BODY, headers={**HEADERS, "Host": "dashscope.aliyuncs.com"}).status_code == 200
        request = client.build_request("POST", CHAT, json=BODY)
        assert request.headers["Host"] == private.netloc
        assert client.send(request).status_code == 200

    async def main():
        async with http.AsyncClient() as client:
            response = await client.post(CHAT, json=BODY, headers=HEADERS)
            return response.status_code

    assert asyncio.run(main()) == 200
    assert len(landed(private)) == 4


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


def test_endpoint_bypasses_environment_proxies(standin, monkeypatch, trap):
    """HTTP(S)_PROXY points at the trap and NO_PROXY does not name loopback: the endpoint must go direct,
    without activation touching the proxy variables."""
    requests = pytest.importorskip("requests")
    httpx = pytest.importorskip("httpx")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    monkeypatch.setenv("no_proxy", "internal.example")
    before = dict(os.environ)
    dashscope_private.activate(standin.url)
    assert {k: v for k, v in os.environ.items() if "PROXY" in k.upper()} == {k: v for k, v in before.items() if "PROXY" in k.upper()}
    assert requests.post(CHAT, json=BODY, timeout=10).status_code == 200
    assert requests.post(standin.url + "/compatible-mode/v1/chat/completions", json=BODY, timeout=10).status_code == 200
    with httpx.Client() as client:  # reads the proxy environment now
        assert client.post(CHAT, json=BODY).status_code == 200
    landed(standin)
    assert len(standin.records) == 3
    # Other traffic still uses the proxy as configured.
    with StandIn() as other:
        response = requests.get(other.url.replace("127.0.0.1", "localhost") + "/x", timeout=10)
        assert response.status_code == 403  # answered by the trap proxy
        assert other.records == []
    assert [target for _method, target, _host in trap.take()] == [other.url.replace("127.0.0.1", "localhost") + "/x"]
    dashscope_private.deactivate()
    assert os.environ["NO_PROXY"] == "internal.example"


def test_disabled_integration_is_left_alone(standin, trap):
    requests = pytest.importorskip("requests")
    httpx = pytest.importorskip("httpx")
    dashscope_private.activate(standin.url, disabled_integrations="requests")
    with pytest.raises(requests.exceptions.ProxyError):
        requests.post(CHAT, json=BODY, timeout=10)
    assert [(method, target) for method, target, _host in trap.take()] == [("CONNECT", "dashscope.aliyuncs.com:443")]
    assert httpx.post(CHAT, json=BODY).status_code == 200
    landed(standin)


def test_non_dashscope_urls_pass_untouched(private):
    requests = pytest.importorskip("requests")
    httpx = pytest.importorskip("httpx")
    with StandIn() as other:
        requests.get(other.url + "/compatible-mode/v1/models", timeout=10)
        httpx.get(other.url + "/compatible-mode/v1/models")
        assert [r.host for r in other.records] == [other.netloc, other.netloc]
    assert private.records == []


def test_requests_prepared_before_activation_does_not_use_the_proxy(standin):
    """Proxies are chosen for the public URL at prepare time; the send backstop rewrites the URL and
    must not then send the private request through them (found by the load test)."""
    requests = pytest.importorskip("requests")
    session = requests.Session()
    prepared = session.prepare_request(requests.Request("POST", CHAT, json=BODY))
    settings = session.merge_environment_settings(prepared.url, {}, None, None, None)
    assert settings["proxies"]  # the trap, chosen for dashscope.aliyuncs.com
    dashscope_private.activate(standin.url)
    assert session.send(prepared, **settings).status_code == 200
    landed(standin)


def test_every_spelling_of_host_is_one_set_lookup():
    from hypothesis import given
    from hypothesis import strategies as st

    from dashscope_private.integrations._urls import HOST_SPELLINGS

    assert len(HOST_SPELLINGS) == 16 and all(isinstance(name, str) for name in HOST_SPELLINGS)

    @given(st.one_of(st.text(alphabet="hHoOsStTK\u212a ", max_size=6), st.sampled_from(["Host", "HOST", "hOsT", "host ", "hostx"])))
    def same_as_lower(name):
        assert (name in HOST_SPELLINGS) == (name.lower() == "host")

    same_as_lower()


def test_keep_alive_sessions_send_host_headers_that_follow_in_any_spelling(private):
    requests = pytest.importorskip("requests")
    with requests.Session() as session:
        for spelling in ("Host", "hOsT", "HOST"):
            session.post(CHAT, json=BODY, headers={**HEADERS, spelling: "dashscope.aliyuncs.com"}, timeout=10).raise_for_status()
    httpx = pytest.importorskip("httpx")
    with httpx.Client() as client:
        for headers in ({"hOsT": "dashscope.aliyuncs.com"}, [("Host", "dashscope.aliyuncs.com"), ("X-A", b"\xe9")], {"X-A": "b"}):
            assert client.post(CHAT, json=BODY, headers=headers).status_code == 200
    assert len(landed(private)) == 6


def test_urllib3_host_headers_follow_in_any_spelling_by_themselves(standin):
    urllib3 = pytest.importorskip("urllib3")
    # Without the http.client layer, which would fix the header again underneath.
    dashscope_private.activate(standin.url, disabled_integrations="urllib")
    manager = urllib3.PoolManager()
    for headers in ({"HOST": "dashscope.aliyuncs.com"}, urllib3.HTTPHeaderDict({"hoST": "dashscope.aliyuncs.com"}), {"Accept": "*/*"}):
        assert manager.request("POST", CHAT, json=BODY, headers=headers).status == 200
    plain = {"HOST": "dashscope.aliyuncs.com", "Content-Type": "application/json"}  # urlopen keeps a dict a dict
    assert manager.urlopen("POST", CHAT, body=json.dumps(BODY), headers=plain).status == 200
    manager.clear()
    assert len(landed(standin)) == 4


def test_aiohttp_keep_alive_session_rebuilds_a_public_url_once(private):
    aiohttp = pytest.importorskip("aiohttp")
    from dashscope_private import _runtime

    async def main():
        async with aiohttp.ClientSession() as session:
            for _ in range(3):
                async with session.post(CHAT, json=BODY, headers=HEADERS) as response:
                    assert response.status == 200
                    await response.read()

    asyncio.run(main())
    assert len(landed(private)) == 3
    rebuilt = _runtime.current()._url_objects
    assert [str(url) for url in rebuilt] == [CHAT] and str(next(iter(rebuilt.values()))).startswith(private.url)


def test_aiohttp_blocks_an_unredirected_public_host_on_every_request(standin):
    aiohttp = pytest.importorskip("aiohttp")
    from dashscope_private.errors import PublicEgressBlocked

    dashscope_private.activate(standin.url, strict="1")

    async def main():
        async with aiohttp.ClientSession() as session:
            for _ in range(2):
                with pytest.raises(PublicEgressBlocked):
                    await session.post("https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions", json=BODY)

    asyncio.run(main())
    assert not standin.records
