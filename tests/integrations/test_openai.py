"""The real openai SDK (1.x, 2.x, 3.x) against the loopback stand-in: every way code points it at DashScope."""

from __future__ import annotations

import asyncio
import inspect
import pickle

import pytest

import dashscope_private
from dashscope_private.standin import REPLY_TEXT, StandIn
from support import assert_blocked

openai = pytest.importorskip("openai")

PUBLIC = "https://dashscope.aliyuncs.com/compatible-mode/v1"
MESSAGES = [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "你是谁?"}]
OPENAI_MAJOR = int(openai.__version__.split(".")[0])


def http_library():
    """The HTTP library this openai version is built on (httpx, or httpx2 for 3.x)."""
    import openai._base_client as base

    return base.httpx2 if hasattr(base, "httpx2") else base.httpx


def assert_landed(standin, path="/compatible-mode/v1/chat/completions", count=None):
    records = [r for r in standin.records if r.kind == "http"]
    assert records, "nothing reached the private endpoint"
    assert all(r.host == standin.netloc for r in records), records
    assert all(r.authorization for r in records)
    assert records[-1].path == path
    if count is not None:
        assert len(records) == count


def test_guide_example_sync(private):
    client = openai.OpenAI(api_key="sk-dashscope", base_url=PUBLIC)
    assert str(client.base_url) == f"{private.url}/compatible-mode/v1/"
    completion = client.chat.completions.create(model="qwen-plus", messages=MESSAGES)
    assert completion.choices[0].message.content == REPLY_TEXT
    assert_landed(private, count=1)


def test_async_and_streaming(private):
    async def main():
        client = openai.AsyncOpenAI(api_key="sk-dashscope", base_url=PUBLIC)
        assert str(client.base_url).startswith(private.url)
        completion = await client.chat.completions.create(model="qwen-plus", messages=MESSAGES)
        stream = await client.chat.completions.create(model="qwen-plus", messages=MESSAGES, stream=True)
        text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])
        await client.close()
        return completion.choices[0].message.content, text

    content, streamed = asyncio.run(main())
    assert content == REPLY_TEXT
    assert streamed.strip() == REPLY_TEXT
    assert_landed(private, count=2)


def test_sync_streaming(private):
    client = openai.OpenAI(api_key="sk-dashscope", base_url=PUBLIC)
    chunks = list(client.chat.completions.create(model="qwen-plus", messages=MESSAGES, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).strip() == REPLY_TEXT
    assert_landed(private, count=1)


def test_openai_base_url_environment(private, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", PUBLIC)
    client = openai.OpenAI(api_key="sk-dashscope")
    assert str(client.base_url).startswith(private.url)
    client.chat.completions.create(model="qwen-plus", messages=MESSAGES)
    assert_landed(private)


def test_base_url_assigned_after_construction(private):
    client = openai.OpenAI(api_key="sk-dashscope", base_url="http://127.0.0.1:9/v1")
    client.base_url = PUBLIC
    assert str(client.base_url).startswith(private.url)
    client.chat.completions.create(model="qwen-plus", messages=MESSAGES)
    assert_landed(private)


def test_with_options_and_copy(private):
    client = openai.OpenAI(api_key="sk-dashscope", base_url=PUBLIC)
    for derived in (client.with_options(timeout=5), client.copy(max_retries=0), client.with_options(base_url=PUBLIC + "/")):
        assert str(derived.base_url) == f"{private.url}/compatible-mode/v1/"
        derived.chat.completions.create(model="qwen-plus", messages=MESSAGES)
    assert_landed(private, count=3)


def test_module_level_client(private):
    saved = (openai.api_key, openai.base_url)
    try:
        openai.api_key = "sk-dashscope"
        openai.base_url = PUBLIC + "/"
        completion = openai.chat.completions.create(model="qwen-plus", messages=MESSAGES)
        assert completion.choices[0].message.content == REPLY_TEXT
    finally:
        openai.api_key, openai.base_url = saved
        openai._client = None
    assert_landed(private, count=1)


def test_absolute_urls_in_get_and_post(private):
    client = openai.OpenAI(api_key="sk-dashscope", base_url="http://127.0.0.1:9/unused")
    models = client.get(PUBLIC + "/models", cast_to=object)
    assert models["data"][0]["id"] == "qwen-plus"
    assert_landed(private, path="/compatible-mode/v1/models")


def test_subclasses_defined_before_activation(standin):
    class LangchainStyleClient(openai.OpenAI):  # as langchain-openai / litellm subclass or alias it early
        pass

    Early = openai.OpenAI  # `from openai import OpenAI` before activation
    dashscope_private.activate(standin.url)
    for cls in (LangchainStyleClient, Early):
        client = cls(api_key="sk-dashscope", base_url=PUBLIC)
        assert str(client.base_url).startswith(standin.url)
        client.chat.completions.create(model="qwen-plus", messages=MESSAGES)
    assert_landed(standin, count=2)


def test_client_built_before_activation_is_caught_by_the_transport_net(standin):
    client = openai.OpenAI(api_key="sk-dashscope", base_url=PUBLIC, max_retries=0)
    dashscope_private.activate(standin.url)
    client.chat.completions.create(model="qwen-plus", messages=MESSAGES)
    assert_landed(standin, count=1)


def test_patched_in_place_not_swapped(private):
    before = {"signature": inspect.signature(openai.OpenAI), "pickle": pickle.dumps(openai.OpenAI)}
    dashscope_private.deactivate()
    unpatched_signature = inspect.signature(openai.OpenAI)
    dashscope_private.activate(private.url)
    client = openai.OpenAI(api_key="sk-dashscope", base_url=PUBLIC)
    assert type(client) is openai.OpenAI
    assert isinstance(client, openai.OpenAI)
    assert before["signature"] == unpatched_signature == inspect.signature(openai.OpenAI)
    assert pickle.loads(before["pickle"]) is openai.OpenAI
    assert inspect.signature(openai.AsyncOpenAI).parameters.keys() >= {"api_key", "base_url"}


def test_other_constructor_arguments_pass_through(private):
    http = http_library()
    user_http_client = http.Client()
    client = openai.OpenAI(api_key="sk-dashscope", base_url=PUBLIC, http_client=user_http_client, max_retries=0, default_headers={"X-Mine": "1"})
    assert client._client is user_http_client
    assert client.max_retries == 0
    client.chat.completions.create(model="qwen-plus", messages=MESSAGES)
    assert_landed(private)


def test_callable_api_key_passes_through(private):
    if "api_key" not in inspect.signature(openai.OpenAI).parameters:
        pytest.skip("no api_key parameter")
    try:
        client = openai.OpenAI(api_key=lambda: "sk-from-callable", base_url=PUBLIC)
    except Exception as exc:  # older SDKs accept only strings
        pytest.skip(f"this openai version does not take a callable api_key: {exc}")
    client.chat.completions.create(model="qwen-plus", messages=MESSAGES)
    assert_landed(private)


def test_other_hosts_are_never_touched(private, trap):
    with StandIn() as vllm:
        local = openai.OpenAI(api_key="sk-local", base_url=f"{vllm.url}/v1")
        assert str(local.base_url) == f"{vllm.url}/v1/"
        local.chat.completions.create(model="qwen-plus", messages=MESSAGES)
        assert [r.path for r in vllm.records] == ["/v1/chat/completions"]
    real_openai = openai.OpenAI(api_key="sk-openai-secret", base_url="https://api.openai.com/v1", max_retries=0)
    assert str(real_openai.base_url) == "https://api.openai.com/v1/"
    with pytest.raises(openai.APIConnectionError):
        real_openai.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    escaped = trap.take()
    assert escaped and all("api.openai.com" in target for _method, target, _host in escaped)
    assert private.records == []  # the OpenAI key never reached the DashScope endpoint


def test_deactivate_restores(private):
    dashscope_private.deactivate()
    client = openai.OpenAI(api_key="sk", base_url=PUBLIC)
    assert str(client.base_url) == PUBLIC + "/"


def _realtime_manager(client):
    realtime = getattr(client, "realtime", None) or getattr(getattr(client, "beta", None), "realtime", None)
    if realtime is None:
        pytest.skip(f"openai {openai.__version__} has no realtime API")
    return realtime


@pytest.mark.parametrize("websocket_base_url", [None, "wss://dashscope.aliyuncs.com/api-ws/v1"])
def test_realtime_websocket_goes_private(private, websocket_base_url):
    pytest.importorskip("websockets")
    _realtime_manager(openai.OpenAI(api_key="sk-dashscope", base_url=PUBLIC))  # skips on SDKs without it
    kwargs = {"websocket_base_url": websocket_base_url} if websocket_base_url else {}
    client = openai.OpenAI(api_key="sk-dashscope", base_url=PUBLIC, **kwargs)
    realtime = _realtime_manager(client)
    with realtime.connect(model="qwen-omni-turbo-realtime") as connection:
        first = connection.recv_bytes()
    assert b"session.created" in first
    ws = [r for r in private.records if r.kind == "websocket"]
    assert len(ws) == 1 and ws[0].host == private.netloc
    expected = "/api-ws/v1/realtime" if websocket_base_url else "/compatible-mode/v1/realtime"
    assert ws[0].path.startswith(expected)


# ------------------------------------------------------------------ every WebSocket connection manager

#: (resource path on the client, connect() arguments, path under the websocket base URL)
CONNECTION_MANAGERS = [
    ("realtime", {"model": "qwen-omni-turbo-realtime"}, "/realtime?model=qwen-omni-turbo-realtime"),
    ("beta.realtime", {"model": "qwen-omni-turbo-realtime"}, "/realtime?model=qwen-omni-turbo-realtime"),
    ("realtime.translations", {"model": "qwen3-livetranslate-flash-realtime"}, "/realtime/translations?model=qwen3-livetranslate-flash-realtime"),
    ("responses", {}, "/responses"),
    ("beta.responses", {}, "/responses"),
    ("live", {}, "/live/sessions"),
    ("live.forks", {"session_id": "s1"}, "/live/sessions/s1/fork"),
    ("live.sideband", {"session_id": "s1"}, "/live/sessions/s1/attach"),
]


def _resource(client, path):
    resource = client
    for name in path.split("."):
        resource = getattr(resource, name, None)
        if resource is None or not hasattr(resource, "__dict__"):
            pytest.skip(f"openai {openai.__version__} has no client.{path}")
    if not callable(getattr(resource, "connect", None)):
        pytest.skip(f"openai {openai.__version__} has no client.{path}.connect")
    return resource


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("path,arguments,expected", CONNECTION_MANAGERS, ids=[c[0] for c in CONNECTION_MANAGERS])
def test_every_websocket_connection_manager_goes_private(standin, path, arguments, expected, mode):
    """With the websockets integration off, only the SDK-level wrappers redirect these: the manager's own
    ``_prepare_url`` (what older SDKs connect to) and ``BaseClient._prepare_url`` (3.x passes the URL through it)."""
    pytest.importorskip("websockets")
    _resource(openai.OpenAI(api_key="sk-dashscope", base_url=PUBLIC), path)  # skips on SDKs without it
    dashscope_private.activate(standin.url, disabled_integrations="websockets")
    options = {"api_key": "sk-dashscope", "base_url": PUBLIC, "websocket_base_url": "wss://dashscope.aliyuncs.com/api-ws/v1"}
    if mode == "sync":
        manager = _resource(openai.OpenAI(**options), path).connect(**arguments)
        assert str(manager._prepare_url()).startswith(f"ws://{standin.netloc}/api-ws/v1/")
        with manager:
            pass
    else:

        async def main():
            manager = _resource(openai.AsyncOpenAI(**options), path).connect(**arguments)
            assert str(manager._prepare_url()).startswith(f"ws://{standin.netloc}/api-ws/v1/")
            async with manager:
                pass

        asyncio.run(main())
    ws = [r for r in standin.records if r.kind == "websocket"]
    assert len(ws) == 1 and ws[0].host == standin.netloc
    assert ws[0].path == "/api-ws/v1" + expected


def test_every_prepare_url_in_the_installed_sdk_is_wrapped(private):
    """Found independently of the rule the integration uses: grep the SDK's source for ``def _prepare_url``."""
    import importlib
    import os
    import sys

    from dashscope_private._patching import is_patched

    root = os.path.dirname(openai.__file__)
    modules = []
    for folder, _dirs, files in os.walk(os.path.join(root, "resources")):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(folder, name), encoding="utf-8") as source:
                    if "def _prepare_url(" in source.read():
                        relative = os.path.relpath(os.path.join(folder, name[:-3]), os.path.dirname(root))
                        modules.append(relative.replace(os.sep, ".").removesuffix(".__init__"))
    if not modules:
        pytest.skip(f"openai {openai.__version__} has no WebSocket connection managers")
    managers = []
    for name in modules:
        module = importlib.import_module(name)
        managers += [v for v in vars(sys.modules[name]).values() if isinstance(v, type) and v.__module__ == module.__name__ and "_prepare_url" in vars(v)]
    assert managers
    assert [m.__qualname__ for m in managers if not is_patched(m, "_prepare_url")] == []


# ------------------------------------------------------------------ strict mode


def test_openai_sdk_blocked_at_request_not_at_construction(strict):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(api_key="sk-x", base_url="https://dashscope-intl.aliyuncs.com/compatible-mode/v1", max_retries=0)
    assert "dashscope-intl.aliyuncs.com" in str(client.base_url)  # building a client sends nothing
    with pytest.raises(Exception) as info:
        client.chat.completions.create(model="qwen-plus", messages=MESSAGES)
    assert_blocked(info)
