"""The real DashScope SDK, called with its public URLs, lands on the private endpoint.

Nothing here mocks the SDK or the network: each test drives the installed
``dashscope`` (1.14 … 2.x) with its default public URLs
(``https://dashscope.aliyuncs.com/api/v1``, ``wss://dashscope.aliyuncs.com/...``)
and checks two things: the loopback stand-in recorded the request (path, and a
``Host`` header naming the stand-in), and the SDK parsed the stand-in's reply.
The proxy trap in ``conftest.py`` fails any test whose request escaped
unredirected. APIs missing from the installed version are skipped, naming it.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import inspect
import json
import os
import subprocess
import sys
import threading
import time

import pytest

import dashscope_private
from dashscope_private.standin import REPLY_TEXT
from support import ROOT, assert_blocked

dashscope = pytest.importorskip("dashscope")

PUBLIC_HTTP = "https://dashscope.aliyuncs.com/api/v1"
PUBLIC_WS = "wss://dashscope.aliyuncs.com/api-ws/v1/inference"
GLOBALS = ("base_http_api_url", "base_websocket_api_url", "base_compatible_api_url")
REPO_ROOT = ROOT
try:
    VERSION = importlib.metadata.version("dashscope")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a source checkout
    VERSION = getattr(dashscope, "__version__", "(unknown version)")
MESSAGES = [{"role": "user", "content": "hi"}]


def _lacks(what: str) -> str:
    return f"dashscope {VERSION} has no {what}"


@pytest.fixture(autouse=True)
def _sdk_state(monkeypatch):
    """An API key where the SDK reads it, and the URL globals restored as stored (not as read)."""
    monkeypatch.setattr(dashscope, "api_key", "sk-test-dashscope")
    saved = {name: vars(dashscope)[name] for name in GLOBALS if name in vars(dashscope)}
    yield
    dashscope_private.deactivate()
    for name, value in saved.items():
        vars(dashscope)[name] = value


def _landed(standin, path_prefix, kind="http", method=None):
    """The stand-in's records for ``path_prefix``; asserts there is one and every record names the stand-in as Host."""
    records = [r for r in standin.records if r.path.startswith(path_prefix) and r.kind == kind]
    if method is not None:
        records = [r for r in records if r.method == method]
    assert records, f"no {kind} request for {path_prefix} reached the stand-in; it saw {standin.records}"
    assert {r.host for r in standin.records} == {standin.netloc}
    return records


def _text(response):
    """The assistant text of a Generation/MultiModalConversation response (dict or attribute access)."""
    assert response.status_code == 200, response
    content = response.output["choices"][0]["message"]["content"]
    if isinstance(content, list):  # multimodal: [{"text": ...}]
        content = "".join(part.get("text", "") for part in content)
    return content


def _has_base_address() -> bool:
    from dashscope.api_entities import api_request_factory

    return "base_address" in inspect.signature(api_request_factory._build_api_request).parameters


# ------------------------------------------------------------------ native HTTP (requests / aiohttp)


def test_generation_call(private):
    assert dashscope.base_http_api_url == private.url + "/api/v1"
    response = dashscope.Generation.call(model="qwen-plus", messages=MESSAGES, result_format="message")
    assert _text(response) == REPLY_TEXT
    (record,) = _landed(private, "/api/v1/services/aigc/text-generation/generation", method="POST")
    assert record.authorization
    assert record.body["model"] == "qwen-plus"


def test_generation_call_streaming(private):
    chunks = list(
        dashscope.Generation.call(
            model="qwen-plus", messages=MESSAGES, result_format="message", stream=True, incremental_output=True
        )
    )
    assert len(chunks) > 2
    assert all(chunk.status_code == 200 for chunk in chunks)
    assert "".join(_text(chunk) for chunk in chunks).strip() == REPLY_TEXT
    _landed(private, "/api/v1/services/aigc/text-generation/generation", method="POST")


@pytest.mark.skipif(not hasattr(dashscope, "AioGeneration"), reason=_lacks("AioGeneration"))
def test_aio_generation_call(private):
    async def main():
        try:
            return await dashscope.AioGeneration.call(model="qwen-plus", messages=MESSAGES, result_format="message")
        finally:
            close = getattr(dashscope, "close_shared_aio_session", None)
            if close is not None:
                await close()

    response = asyncio.run(main())
    assert _text(response) == REPLY_TEXT
    _landed(private, "/api/v1/services/aigc/text-generation/generation", method="POST")


def test_multimodal_conversation_call(private):
    response = dashscope.MultiModalConversation.call(
        model="qwen-vl-plus", messages=[{"role": "user", "content": [{"text": "hi"}]}]
    )
    assert _text(response) == REPLY_TEXT
    _landed(private, "/api/v1/services/aigc/multimodal-generation/generation", method="POST")


def test_text_embedding_call(private):
    response = dashscope.TextEmbedding.call(model="text-embedding-v1", input="hi")
    assert response.status_code == 200, response
    assert response.output["embeddings"][0]["embedding"] == [0.1, 0.2, 0.3]
    _landed(private, "/api/v1/services/embeddings/text-embedding/text-embedding", method="POST")


def test_image_synthesis_async_call_then_wait(private):
    started = dashscope.ImageSynthesis.async_call(model="wanx-v1", prompt="a cat", n=1, size="1024*1024")
    assert started.status_code == 200, started
    assert started.output.task_id == "standin-task"
    finished = dashscope.ImageSynthesis.wait(started)  # the stand-in answers SUCCEEDED on the first poll
    assert finished.status_code == 200, finished
    assert finished.output.task_status == "SUCCEEDED"
    _landed(private, "/api/v1/services/aigc/text2image/image-synthesis", method="POST")
    _landed(private, "/api/v1/tasks/standin-task", method="GET")


@pytest.mark.skipif(not hasattr(dashscope, "Application"), reason=_lacks("Application"))
def test_application_call(private):
    response = dashscope.Application.call(app_id="app-standin", prompt="hi")
    assert response.status_code == 200, response
    assert response.output.text == REPLY_TEXT
    _landed(private, "/api/v1/apps/app-standin/completion", method="POST")


def test_generation_per_call_base_address(private):
    if not _has_base_address():
        pytest.skip(_lacks("per-call base_address="))
    response = dashscope.Generation.call(
        model="qwen-plus", messages=MESSAGES, result_format="message", base_address=PUBLIC_HTTP
    )
    assert _text(response) == REPLY_TEXT
    _landed(private, "/api/v1/services/aigc/text-generation/generation", method="POST")


def test_base_http_api_url_assigned_after_activation(private):
    dashscope.base_http_api_url = PUBLIC_HTTP
    assert dashscope.base_http_api_url == private.url + "/api/v1"
    response = dashscope.Generation.call(model="qwen-plus", messages=MESSAGES, result_format="message")
    assert _text(response) == REPLY_TEXT
    _landed(private, "/api/v1/services/aigc/text-generation/generation", method="POST")
    dashscope_private.deactivate()
    assert dashscope.base_http_api_url == PUBLIC_HTTP
    assert dashscope.base_websocket_api_url == PUBLIC_WS


@pytest.mark.skipif(not hasattr(dashscope, "set_region"), reason=_lacks("set_region()"))
def test_set_region_workspace_host(standin):
    # By default only dashscope.aliyuncs.com is redirected: the workspace host reads back unchanged.
    dashscope_private.activate(standin.url)
    dashscope.set_region("ap-southeast-1", "ws1")
    assert dashscope.base_http_api_url == "https://ws1.ap-southeast-1.maas.aliyuncs.com/api/v1"

    dashscope_private.activate(standin.url, hosts="dashscope.aliyuncs.com,*.maas.aliyuncs.com")
    assert dashscope.base_http_api_url == standin.url + "/api/v1"
    assert dashscope.base_websocket_api_url == "ws://" + standin.netloc + "/api-ws/v1/inference"
    assert vars(dashscope)["base_http_api_url"] == "https://ws1.ap-southeast-1.maas.aliyuncs.com/api/v1"
    response = dashscope.Generation.call(model="qwen-plus", messages=MESSAGES, result_format="message")
    assert _text(response) == REPLY_TEXT
    _landed(standin, "/api/v1/services/aigc/text-generation/generation", method="POST")


_CHILD = """
import json
import dashscope_private.auto
import dashscope
stored = vars(dashscope)["base_http_api_url"]
response = dashscope.Generation.call(model="qwen-plus", messages=[{"role": "user", "content": "hi"}], result_format="message")
print(json.dumps({
    "stored": stored,
    "read": dashscope.base_http_api_url,
    "status": int(response.status_code),
    "text": response.output["choices"][0]["message"]["content"],
}))
"""


def test_dashscope_http_base_url_set_before_import(standin):
    env = dict(os.environ)
    env.update(
        DASHSCOPE_PRIVATE_ENDPOINT=standin.url,
        DASHSCOPE_HTTP_BASE_URL=PUBLIC_HTTP,
        DASHSCOPE_API_KEY="sk-test-dashscope",
        PYTHONPATH=os.pathsep.join(filter(None, [REPO_ROOT, env.get("PYTHONPATH")])),
    )
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"stored": PUBLIC_HTTP, "read": standin.url + "/api/v1", "status": 200, "text": REPLY_TEXT}
    _landed(standin, "/api/v1/services/aigc/text-generation/generation", method="POST")


# ------------------------------------------------------------------ WebSocket /api-ws/v1/inference


@pytest.mark.parametrize("constructed", ["after_activate", "before_activate"])
def test_tts_v2_speech_synthesizer(standin, constructed):
    tts_v2 = pytest.importorskip("dashscope.audio.tts_v2", reason=_lacks("audio.tts_v2"))
    if constructed == "after_activate":
        dashscope_private.activate(standin.url)
    # Its URL is captured here: public before activation, caught by the websocket-client hook.
    synthesizer = tts_v2.SpeechSynthesizer(model="cosyvoice-v1", voice="longxiaochun")
    if constructed == "after_activate":
        assert synthesizer.url == f"ws://{standin.netloc}/api-ws/v1/inference"
    else:
        assert synthesizer.url == PUBLIC_WS
        dashscope_private.activate(standin.url)
    audio = synthesizer.call("hello", timeout_millis=10_000)
    assert isinstance(audio, bytes) and audio
    _landed(standin, "/api-ws/v1/inference", kind="websocket")


def test_asr_recognition(private, tmp_path):
    from dashscope.audio.asr import Recognition

    pcm = tmp_path / "silence.pcm"
    pcm.write_bytes(b"\x00\x00" * 1600)  # 0.1 s of 16 kHz mono silence
    recognition = Recognition(model="paraformer-realtime-v1", callback=None, format="pcm", sample_rate=16000)
    result = recognition.call(str(pcm))
    assert result.status_code == 200, result
    (sentence,) = result.get_sentence()
    assert sentence["text"] == REPLY_TEXT
    _landed(private, "/api-ws/v1/inference", kind="websocket")


# ------------------------------------------------------------------ WebSocket /api-ws/v1/realtime (hard-coded URL)


def test_qwen_omni_realtime(private):
    qwen_omni = pytest.importorskip("dashscope.audio.qwen_omni", reason=_lacks("audio.qwen_omni"))
    events = []
    updated = threading.Event()

    class Callback(qwen_omni.OmniRealtimeCallback):
        def on_event(self, message):
            events.append(message)
            if message.get("type") == "session.updated":
                updated.set()

    conversation = qwen_omni.OmniRealtimeConversation(model="qwen-omni-turbo-realtime", callback=Callback())
    assert conversation.url.startswith("wss://dashscope.aliyuncs.com/api-ws/v1/realtime")
    conversation.connect()
    try:
        conversation.update_session(output_modalities=[qwen_omni.MultiModality.TEXT])
        assert updated.wait(5), events
        deadline = time.monotonic() + 5
        while conversation.get_session_id() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert conversation.get_session_id() == "sess_standin"
        conversation.end_session(timeout=5)
    finally:
        conversation.close()
    (record,) = _landed(private, "/api-ws/v1/realtime", kind="websocket")
    assert "model=qwen-omni-turbo-realtime" in record.path


# ------------------------------------------------------------------ dashscope 2.x Client (httpx)


@pytest.mark.skipif(not hasattr(dashscope, "Client"), reason=_lacks("Client (2.x)"))
@pytest.mark.filterwarnings("ignore:no workspace configured:UserWarning")  # the legacy-gateway default warns
def test_v2_client_and_with_options(private, monkeypatch):
    for name in ("DASHSCOPE_BASE_URL", "DASHSCOPE_HTTP_BASE_URL", "DASHSCOPE_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)
    expected = private.url + "/api/v1"
    client = dashscope.Client(api_key="sk-test-dashscope")
    explicit = dashscope.Client(api_key="sk-test-dashscope", base_url=PUBLIC_HTTP)
    try:
        assert client._config.base_url == client.config.base_url == expected
        assert client.config.protocol_base_url == expected
        assert explicit.config.base_url == expected
        response = client.chat.completions.create(model="qwen-plus", messages=MESSAGES)
        assert response.choices[0].message.content == REPLY_TEXT
        _landed(private, "/api/v1/services/aigc/text-generation/generation", method="POST")

        derived = client.with_options(timeout=10)
        rebased = client.with_options(base_url=PUBLIC_HTTP)
        try:
            assert derived.config.base_url == rebased.config.base_url == expected
            embedding = rebased.embeddings.create(model="text-embedding-v4", input="hi")
            assert embedding.embeddings[0].embedding == [0.1, 0.2, 0.3]
            _landed(private, "/api/v1/services/embeddings/text-embedding/text-embedding", method="POST")
            private.clear()
            response = derived.chat.completions.create(model="qwen-plus", messages=MESSAGES)
            assert response.choices[0].message.content == REPLY_TEXT
            _landed(private, "/api/v1/services/aigc/text-generation/generation", method="POST")
        finally:
            rebased.close()
    finally:
        explicit.close()
        client.close()


# ------------------------------------------------------------------ OSS upload of a local file


def test_multimodal_local_file_upload(private, tmp_path):
    image = tmp_path / "pixel.png"
    image.write_bytes(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
        )
    )
    response = dashscope.MultiModalConversation.call(
        model="qwen-vl-plus",
        messages=[{"role": "user", "content": [{"image": "file://" + str(image)}, {"text": "what is this?"}]}],
    )
    assert _text(response) == REPLY_TEXT
    (policy,) = _landed(private, "/api/v1/uploads", method="GET")
    assert "action=getPolicy" in policy.path and "model=qwen-vl-plus" in policy.path
    _landed(private, "/oss-upload", method="POST")
    (generation,) = _landed(private, "/api/v1/services/aigc/multimodal-generation/generation", method="POST")
    assert "oss://standin-dir/pixel.png" in json.dumps(generation.body)


# ------------------------------------------------------------------ the URL globals


def test_dashscope_global_save_and_restore_round_trips(standin, monkeypatch):
    dashscope = pytest.importorskip("dashscope")
    original = dashscope.__dict__["base_http_api_url"]
    dashscope_private.activate(standin.url)
    saved = dashscope.base_http_api_url
    assert saved.startswith(standin.url)
    monkeypatch.setattr(dashscope, "base_http_api_url", "http://127.0.0.1:9/api/v1")
    assert dashscope.base_http_api_url == "http://127.0.0.1:9/api/v1"
    monkeypatch.undo()  # writes back the private value it read
    assert dashscope.base_http_api_url == saved
    dashscope_private.deactivate()
    assert dashscope.base_http_api_url == original


# ------------------------------------------------------------------ strict mode


def test_dashscope_sdk_blocked(strict):
    dashscope = pytest.importorskip("dashscope")
    from dashscope import Generation

    with pytest.raises(Exception) as info:
        Generation.call(model="qwen-max", messages=MESSAGES, result_format="message", api_key="sk-x", base_address="https://dashscope-intl.aliyuncs.com/api/v1") if _has_base_address() else _call_with_global(dashscope, Generation)
    assert_blocked(info)


def _call_with_global(dashscope, Generation):
    saved = vars(dashscope)["base_http_api_url"]
    dashscope.base_http_api_url = "https://dashscope-intl.aliyuncs.com/api/v1"
    try:
        return Generation.call(model="qwen-max", messages=MESSAGES, result_format="message", api_key="sk-x")
    finally:
        dashscope.base_http_api_url = saved


# ------------------------------------------------------------------ OSS uploads of local files


OSS_HOST = "dashscope-file-mgr.oss-cn-beijing.aliyuncs.com"


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
    assert_blocked(info, host=OSS_HOST)
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
