"""Frameworks built on the SDKs, installed for real, running unchanged user code.

Each test is what a user of that framework writes, with the PUBLIC DashScope
URL or model name, exactly as the framework's and Alibaba's docs show it; the
only difference from production is that the plugin is active (the ``private``
fixture, or the environment variable for Ray's workers) with the loopback
stand-in as the endpoint. Each asserts that the call returned the stand-in's
reply and that every request reached the stand-in (Host = its address); the
root conftest's proxy trap fails the test if anything went out unredirected.

The frameworks are not dependencies of the project: each test skips when its
framework is not installed, so the ordinary CI legs skip them and the
``frameworks`` leg of ``.ci/run`` (which installs them all) runs them. Test
names start with the framework's key in ``compat_table.FRAMEWORKS``, which
turns this module's JUnit results into the compatibility table.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import inspect
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
from importlib import metadata

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compat_table  # noqa: E402
from dashscope_private.standin import REPLY_TEXT  # noqa: E402

# litellm fetches its model price map from GitHub at import unless told to use the
# bundled copy. That request has nothing to do with DashScope (the proxy trap would
# catch it and fail the test), so use the local copy, as offline deployments do.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

COMPATIBLE = "https://dashscope.aliyuncs.com/compatible-mode/v1"
ANTHROPIC = "https://dashscope.aliyuncs.com/apps/anthropic"
CHAT_PATH = "/compatible-mode/v1/chat/completions"
EMBEDDINGS_PATH = "/compatible-mode/v1/embeddings"
GENERATION_PATH = "/api/v1/services/aigc/text-generation/generation"
TEXT_EMBEDDING_PATH = "/api/v1/services/embeddings/text-embedding/text-embedding"
MESSAGES_PATH = "/apps/anthropic/v1/messages"


@pytest.fixture(scope="module", autouse=True)
def _versions_in_junit(record_testsuite_property):
    """The versions this run tested, as JUnit test-suite properties for compat_table.py."""
    record_testsuite_property("python", platform.python_version())
    for dist in [f.distribution for f in compat_table.FRAMEWORKS] + list(compat_table.SDKS):
        try:
            record_testsuite_property(dist, metadata.version(dist))
        except metadata.PackageNotFoundError:
            pass


#: Where each HTTP library hands a request to the network, none of them patched by dashscope-private:
#: observed per test, so the table reports what actually carried each framework's calls, and which
#: SDK (a module of one of ``SDK_PACKAGES`` on the call stack) sent them.
TRANSPORTS = (
    ("requests", "requests.adapters", "HTTPAdapter", "send"),
    ("httpx", "httpx", "Client", "send"),
    ("httpx", "httpx", "AsyncClient", "send"),
    ("httpx2", "httpx2", "Client", "send"),
    ("httpx2", "httpx2", "AsyncClient", "send"),
    ("aiohttp", "aiohttp.connector", "BaseConnector", "connect"),
)
SDK_PACKAGES = ("openai", "dashscope", "anthropic")


def _sdks_on_stack() -> set:
    found = set()
    frame = sys._getframe(2)
    while frame is not None:
        package = str(frame.f_globals.get("__name__", "")).split(".", 1)[0]
        if package in SDK_PACKAGES:
            found.add(package)
        frame = frame.f_back
    return found


@pytest.fixture(autouse=True)
def _transports_in_junit(request, monkeypatch, record_testsuite_property):
    transports, sdks = set(), set()
    for label, module_name, owner_name, attr in TRANSPORTS:
        try:
            owner = getattr(importlib.import_module(module_name), owner_name)
        except (ImportError, AttributeError):
            continue
        original = getattr(owner, attr)
        if inspect.iscoroutinefunction(original):
            async def observed(*args, _original=original, _label=label, **kwargs):
                transports.add(_label)
                sdks.update(_sdks_on_stack())
                return await _original(*args, **kwargs)
        else:
            def observed(*args, _original=original, _label=label, **kwargs):
                transports.add(_label)
                sdks.update(_sdks_on_stack())
                return _original(*args, **kwargs)
        monkeypatch.setattr(owner, attr, functools.wraps(original)(observed))
    yield
    if transports:
        record_testsuite_property(f"transports:{request.node.name}", ",".join(sorted(transports)))
        record_testsuite_property(f"sdks:{request.node.name}", ",".join(sorted(sdks)))


def arrived(standin, *paths: str) -> None:
    """Every request reached the stand-in by its own address, and each of ``paths`` was asked for."""
    records = standin.records
    assert records, "nothing reached the stand-in"
    assert {r.host for r in records} == {standin.netloc}, [(r.path, r.host) for r in records]
    seen = {r.path.split("?", 1)[0] for r in records}
    assert set(paths) <= seen, f"expected {paths}, stand-in saw {sorted(seen)}"


def api_key() -> str:
    return os.environ["DASHSCOPE_API_KEY"]


# --------------------------------------------------------------------------- langchain-openai


def test_langchain_openai_invoke(private):
    langchain_openai = pytest.importorskip("langchain_openai")
    llm = langchain_openai.ChatOpenAI(model="qwen-plus", base_url=COMPATIBLE, api_key=api_key())
    assert llm.invoke("Who are you?").content == REPLY_TEXT
    arrived(private, CHAT_PATH)


def test_langchain_openai_async(private):
    langchain_openai = pytest.importorskip("langchain_openai")
    llm = langchain_openai.ChatOpenAI(model="qwen-plus", base_url=COMPATIBLE, api_key=api_key())

    async def main():
        return await llm.ainvoke("Who are you?")

    assert asyncio.run(main()).content == REPLY_TEXT
    arrived(private, CHAT_PATH)


def test_langchain_openai_streaming(private):
    langchain_openai = pytest.importorskip("langchain_openai")
    llm = langchain_openai.ChatOpenAI(model="qwen-plus", base_url=COMPATIBLE, api_key=api_key(), streaming=True)
    chunks = list(llm.stream("Who are you?"))
    assert len(chunks) > 1
    assert "".join(c.content for c in chunks).strip() == REPLY_TEXT
    arrived(private, CHAT_PATH)
    assert private.records[-1].body["stream"] is True


def test_langchain_openai_base_url_from_environment(private, monkeypatch):
    langchain_openai = pytest.importorskip("langchain_openai")
    monkeypatch.setenv("OPENAI_API_BASE", COMPATIBLE)  # what langchain's docs set instead of base_url=
    monkeypatch.setenv("OPENAI_API_KEY", api_key())
    assert langchain_openai.ChatOpenAI(model="qwen-plus").invoke("Who are you?").content == REPLY_TEXT
    arrived(private, CHAT_PATH)


# --------------------------------------------------------------------------- langchain-community (dashscope SDK)


def _tongyi():
    pytest.importorskip("dashscope")
    return pytest.importorskip("langchain_community.chat_models.tongyi")


def test_langchain_community_chat_tongyi_invoke(private):
    llm = _tongyi().ChatTongyi(model="qwen-plus")
    assert llm.invoke("Who are you?").content == REPLY_TEXT
    arrived(private, GENERATION_PATH)


def test_langchain_community_chat_tongyi_async(private):
    llm = _tongyi().ChatTongyi(model="qwen-plus")

    async def main():
        return await llm.ainvoke("Who are you?")

    assert asyncio.run(main()).content == REPLY_TEXT
    arrived(private, GENERATION_PATH)


def test_langchain_community_chat_tongyi_streaming(private):
    llm = _tongyi().ChatTongyi(model="qwen-plus", streaming=True)
    chunks = list(llm.stream("Who are you?"))
    assert len(chunks) > 1
    assert "".join(c.content for c in chunks).strip() == REPLY_TEXT
    arrived(private, GENERATION_PATH)


def test_langchain_community_dashscope_embeddings(private):
    pytest.importorskip("dashscope")
    embeddings = pytest.importorskip("langchain_community.embeddings.dashscope")
    model = embeddings.DashScopeEmbeddings(model="text-embedding-v3")
    assert model.embed_query("hello") == [0.1, 0.2, 0.3]
    assert model.embed_documents(["hello"]) == [[0.1, 0.2, 0.3]]
    arrived(private, TEXT_EMBEDDING_PATH)


# --------------------------------------------------------------------------- llama-index-llms-dashscope


def _llama_index_dashscope():
    return pytest.importorskip("llama_index.llms.dashscope")


def test_llama_index_dashscope_complete(private):
    llm = _llama_index_dashscope().DashScope(model_name="qwen-plus", api_key=api_key())
    assert llm.complete("Who are you?").text == REPLY_TEXT
    arrived(private, GENERATION_PATH)


def test_llama_index_dashscope_chat(private):
    llm = _llama_index_dashscope().DashScope(model_name="qwen-plus", api_key=api_key())
    from llama_index.core.llms import ChatMessage

    assert llm.chat([ChatMessage(role="user", content="Who are you?")]).message.content == REPLY_TEXT
    arrived(private, GENERATION_PATH)


def test_llama_index_dashscope_stream(private):
    llm = _llama_index_dashscope().DashScope(model_name="qwen-plus", api_key=api_key())
    deltas = [r.delta for r in llm.stream_complete("Who are you?")]
    assert len(deltas) > 1
    assert "".join(deltas).strip() == REPLY_TEXT
    arrived(private, GENERATION_PATH)


def test_llama_index_dashscope_async(private):
    llm = _llama_index_dashscope().DashScope(model_name="qwen-plus", api_key=api_key())

    async def main():
        return await llm.acomplete("Who are you?")

    assert asyncio.run(main()).text == REPLY_TEXT
    arrived(private, GENERATION_PATH)


# --------------------------------------------------------------------------- litellm


def test_litellm_completion(private):
    litellm = pytest.importorskip("litellm")
    response = litellm.completion(model="dashscope/qwen-plus", messages=[{"role": "user", "content": "Who are you?"}])
    assert response.choices[0].message.content == REPLY_TEXT
    arrived(private, CHAT_PATH)


def test_litellm_async_streaming(private):
    litellm = pytest.importorskip("litellm")

    async def main():
        stream = await litellm.acompletion(model="dashscope/qwen-plus", messages=[{"role": "user", "content": "Who are you?"}], stream=True)
        return [chunk.choices[0].delta.content or "" async for chunk in stream]

    assert "".join(asyncio.run(main())).strip() == REPLY_TEXT
    arrived(private, CHAT_PATH)


def test_litellm_embedding(private):
    litellm = pytest.importorskip("litellm")
    response = litellm.embedding(model="dashscope/text-embedding-v3", input=["hello"])
    assert response.data[0]["embedding"] == [0.1, 0.2, 0.3]
    arrived(private, EMBEDDINGS_PATH)


# --------------------------------------------------------------------------- anthropic SDK


def test_anthropic_messages(private):
    anthropic = pytest.importorskip("anthropic")
    client = anthropic.Anthropic(base_url=ANTHROPIC, api_key=api_key())
    message = client.messages.create(model="qwen-plus", max_tokens=256, messages=[{"role": "user", "content": "Who are you?"}])
    assert message.content[0].text == REPLY_TEXT
    arrived(private, MESSAGES_PATH)


def test_anthropic_async_streaming(private):
    anthropic = pytest.importorskip("anthropic")

    async def main():
        client = anthropic.AsyncAnthropic(base_url=ANTHROPIC, api_key=api_key())
        async with client.messages.stream(model="qwen-plus", max_tokens=256, messages=[{"role": "user", "content": "Who are you?"}]) as stream:
            return [text async for text in stream.text_stream]

    pieces = asyncio.run(main())
    assert len(pieces) > 1 and "".join(pieces) == REPLY_TEXT
    arrived(private, MESSAGES_PATH)


def test_anthropic_base_url_from_environment(private, monkeypatch):
    anthropic = pytest.importorskip("anthropic")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", ANTHROPIC)  # how DashScope's docs configure Claude Code and the SDK
    monkeypatch.setenv("ANTHROPIC_API_KEY", api_key())
    message = anthropic.Anthropic().messages.create(model="qwen-plus", max_tokens=256, messages=[{"role": "user", "content": "Who are you?"}])
    assert message.content[0].text == REPLY_TEXT
    arrived(private, MESSAGES_PATH)


# --------------------------------------------------------------------------- Ray

RAY_DRIVER = textwrap.dedent(
    """
    import json, os, sys
    import ray

    @ray.remote
    def ask():
        import openai, requests

        raw = requests.post(
            "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions",
            headers={"Authorization": "Bearer " + os.environ["DASHSCOPE_API_KEY"]},
            json={"model": "qwen-plus", "messages": [{"role": "user", "content": "Who are you?"}]},
            timeout=30,
        )
        client = openai.OpenAI(base_url="https://dashscope.aliyuncs.com/compatible-mode/v1", api_key=os.environ["DASHSCOPE_API_KEY"])
        sdk = client.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "Who are you?"}])
        return {
            "requests": raw.json()["choices"][0]["message"]["content"],
            "openai": sdk.choices[0].message.content,
            "worker_activated": "dashscope_private._runtime" in sys.modules,
        }

    # The cluster's processes listen on loopback (Ray's default on Linux is the
    # machine's outward address); this is Ray configuration, not DashScope code.
    ray.init(
        num_cpus=1,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        runtime_env={"env_vars": {"DASHSCOPE_PRIVATE_ENDPOINT": sys.argv[1], "DASHSCOPE_API_KEY": os.environ["DASHSCOPE_API_KEY"]}},
    )
    try:
        result = ray.get(ask.remote(), timeout=120)
    finally:
        ray.shutdown()
    result["driver_activated"] = "dashscope_private._runtime" in sys.modules
    print("RESULT " + json.dumps(result))
    """
)


#: What Ray's dashboard process asks for at start-up to guess its cloud (usage_lib.get_cloud_from_metadata_requests),
#: even with usage stats disabled. Not DashScope traffic and not ours to redirect; the proxy trap catches it.
RAY_CLOUD_PROBES = {
    ("GET", "http://169.254.169.254/metadata/instance?api-version=2021-12-13", "169.254.169.254"),
    ("GET", "http://metadata.google.internal/computeMetadata/v1", "metadata.google.internal"),
    ("GET", "http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
}


def test_ray_runtime_env_workers_go_private(standin, trap, tmp_path):
    """Only Ray's workers get the variable (runtime_env): the installed .pth activates them, nothing else."""
    pytest.importorskip("ray")
    script = tmp_path / "ray_driver.py"
    script.write_text(RAY_DRIVER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_PRIVATE_") and k != "PYTHONPATH"}
    env["RAY_USAGE_STATS_ENABLED"] = "0"  # no usage report (the cloud probes above still run)
    # Session files out of the shared /tmp/ray; a short path, as AF_UNIX socket paths are limited to 107 bytes.
    env["RAY_TMPDIR"] = tempfile.mkdtemp(prefix="dsp-ray-")
    try:
        result = subprocess.run(
            [sys.executable, str(script), standin.url], env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=240
        )
    finally:
        shutil.rmtree(env["RAY_TMPDIR"], ignore_errors=True)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stdout[-2000:] + result.stderr[-4000:]
    outcome = json.loads(lines[-1][len("RESULT "):])
    assert outcome == {"requests": REPLY_TEXT, "openai": REPLY_TEXT, "worker_activated": True, "driver_activated": False}
    assert [(r.path, r.host) for r in standin.records] == [(CHAT_PATH, standin.netloc)] * 2
    leaked = trap.take()
    assert set(leaked) <= RAY_CLOUD_PROBES, f"requests escaped to the proxy trap: {leaked}"
