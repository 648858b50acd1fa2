"""Reliability, each proven with figures the tests print (run with -s, or see the README).

- bad input: >= 1,000 generated values for every DASHSCOPE_PRIVATE_* variable through the start-up
  activation, plus a sample through real interpreter start-up;
- never misroute: an Authorization header only ever reaches the host the URL names or the endpoint;
- load: 32 threads and an asyncio task group through the real SDKs while activation is toggled and
  clients are built concurrently;
- faults: refused connections, an unresolvable name, 5xx answers: the SDK's own error naming the
  private host, never a fallback to the public host.
"""

from __future__ import annotations

import asyncio
import io
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import redirect_stderr

import pytest

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import dashscope_private  # noqa: E402
from dashscope_private import _boot, _runtime  # noqa: E402
from dashscope_private.config import ENDPOINT, VARIABLES  # noqa: E402
from dashscope_private.standin import REPLY_TEXT, StandIn  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VALID_ENDPOINT = "ep-abc.dashscope.cn-beijing.privatelink.aliyuncs.com"
FIGURES: dict = {}


def report(name: str, **figures) -> None:
    FIGURES[name] = figures
    print(f"\n[reliability] {name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))


def _env_text(value: str) -> bool:
    """What an environment variable can hold: no NUL, encodable for the OS."""
    if "\0" in value:
        return False
    try:
        os.fsencode(value)
    except UnicodeError:
        return False
    return True


env_values = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["1", "0", "true", "debug", "internal", "openai,httpx", "*.maas.aliyuncs.com", "http://", "[::1]:", "ep-****", " "]),
    st.builds(lambda a, b: a + b, st.sampled_from(["http://", "https://", "ws://", "", "[", "*."]), st.text(max_size=40)),
).filter(_env_text)


# ------------------------------------------------------------------ bad input


class _Counter:
    def __init__(self):
        self.values = 0
        self.errors = 0


@pytest.mark.parametrize("variable", VARIABLES)
def test_fuzz_startup_activation_per_variable(variable, monkeypatch):
    """Start-up activation with any value: never raises, at most one line naming the variable."""
    counter = _Counter()
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)

    @settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(env_values)
    def check(value):
        environ = {ENDPOINT: VALID_ENDPOINT} if variable != ENDPOINT else {}
        environ[variable] = value
        for name in VARIABLES:
            os.environ.pop(name, None)
        os.environ.update(environ)
        _boot._reported = _boot._booted = False
        stderr = io.StringIO()
        try:
            with redirect_stderr(stderr):
                _boot.boot()  # what the .pth / .start line runs
                _runtime.ensure_started()  # what the first SDK import completes
        finally:
            dashscope_private.deactivate()
            for name in VARIABLES:
                os.environ.pop(name, None)
        lines = stderr.getvalue().splitlines()
        counter.values += 1
        assert len(lines) <= 1
        if lines:
            counter.errors += 1
            assert lines[0].startswith("dashscope-private: DASHSCOPE_PRIVATE_")
            named = lines[0][len("dashscope-private: ") :].split(":", 1)[0]
            assert named in VARIABLES and (named == variable or variable != ENDPOINT)
            assert "Traceback" not in lines[0]

    check()
    assert counter.values >= 1000
    report(f"fuzz {variable}", values=counter.values, rejected_with_one_line=counter.errors)


def test_fuzz_real_interpreter_startup():
    """A sample through real start-up (sitecustomize of `dashscope-private run`): `python -c pass` exits 0."""
    from dashscope_private.cli import child_environment

    seen = {"runs": 0, "one_line": 0}

    @settings(max_examples=64, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.sampled_from(VARIABLES), env_values)
    def check(variable, value):
        env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
        if variable != ENDPOINT:
            env[ENDPOINT] = VALID_ENDPOINT
        env[variable] = value
        env = child_environment(base=env)
        result = subprocess.run([sys.executable, "-c", "pass"], env=env, capture_output=True, text=True, timeout=60)
        seen["runs"] += 1
        assert result.returncode == 0, result.stderr
        lines = result.stderr.splitlines()
        assert len(lines) <= 1, result.stderr
        if lines:
            seen["one_line"] += 1
            assert lines[0].startswith("dashscope-private: DASHSCOPE_PRIVATE_"), lines[0]

    check()
    report("real start-up sample", interpreters=seen["runs"], rejected_with_one_line=seen["one_line"], tracebacks=0)


# ------------------------------------------------------------------ never misroute


label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=10).filter(lambda s: s[0] != "-" and s[-1] != "-")
lookalike = st.one_of(
    st.lists(label, min_size=2, max_size=4).map(".".join),
    st.sampled_from(["dashscope.aliyuncs.com.evil.example", "xdashscope.aliyuncs.com", "dashscope.aliyuncs.co", "dashscope-aliyuncs.com", "aliyuncs.com", "dashscope.aliyuncs.com.cn"]),
    label.map(lambda s: s + ".dashscope.aliyuncs.com.example"),
)


def test_authorization_only_reaches_named_hosts(private, trap):
    """Requests with a key to lookalike hosts go where their URL says (the trap proxy), never to the endpoint."""
    requests = pytest.importorskip("requests")
    sent = {"requests": 0}

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(lookalike, st.sampled_from(["", "dashscope.aliyuncs.com@", "user:pw@"]))
    def check(host, userinfo):
        url = f"http://{userinfo}{host}/compatible-mode/v1/chat/completions"
        response = requests.post(url, headers={"Authorization": "Bearer sk-secret"}, json={}, timeout=10)
        sent["requests"] += 1
        assert response.status_code == 403  # the trap answered: the request went to `host`, as written
        ((_method, target, header_host),) = trap.take()
        assert target == f"http://{host}/compatible-mode/v1/chat/completions" and header_host == host
        assert private.records == []

    check()
    # and the configured host itself does go to the endpoint, key included
    requests.post("http://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions", headers={"Authorization": "Bearer sk-secret"}, json={}, timeout=10)
    assert [(r.host, r.authorization) for r in private.records] == [(private.netloc, True)]
    report("authorization", lookalike_requests=sent["requests"], reached_endpoint=0, misrouted=0)


# ------------------------------------------------------------------ load


def test_load_with_concurrent_toggling_and_client_building(standin, trap):
    openai = pytest.importorskip("openai")
    pytest.importorskip("dashscope")
    from dashscope import Generation

    public = "https://dashscope.aliyuncs.com/compatible-mode/v1"
    dashscope_private.activate(standin.url)
    lock = threading.Lock()
    epoch = [0]  # bumped around every deactivate/activate pair by the toggler
    stats = {"requests": 0, "ok": 0, "misrouted": 0, "unexpected": [], "while_toggling": 0, "clients_built": 0, "toggles": 0}
    stop = threading.Event()
    deadline = time.monotonic() + 120

    def guarded(call):
        """Run one request; classify it by whether activation stayed on for its whole duration."""
        with lock:
            before = epoch[0]
        stable = dashscope_private.is_active()
        try:
            ok = call()
            error = None
        except Exception as exc:  # noqa: BLE001 - classified below
            ok, error = False, exc
        with lock:
            stable = stable and epoch[0] == before and dashscope_private.is_active()
            stats["requests"] += 1
            if ok:
                stats["ok"] += 1
            elif stable:
                stats["unexpected"].append(repr(error))
            else:
                stats["while_toggling"] += 1  # went public (the trap) only because we were deactivated then

    def openai_worker(n):
        client = openai.OpenAI(api_key="sk-x", base_url=public, max_retries=0, timeout=20)
        for _ in range(n):
            guarded(lambda: client.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "hi"}]).choices[0].message.content == REPLY_TEXT)

    def dashscope_worker(n):
        for _ in range(n):
            guarded(lambda: Generation.call(model="qwen-max", messages=[{"role": "user", "content": "hi"}], result_format="message", api_key="sk-x").status_code == 200)

    async def async_group(n):
        client = openai.AsyncOpenAI(api_key="sk-x", base_url=public, max_retries=0, timeout=20)

        async def one():
            with lock:
                before = epoch[0]
            stable = dashscope_private.is_active()
            try:
                result = await client.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "hi"}])
                ok, error = result.choices[0].message.content == REPLY_TEXT, None
            except Exception as exc:  # noqa: BLE001
                ok, error = False, exc
            with lock:
                stable = stable and epoch[0] == before and dashscope_private.is_active()
                stats["requests"] += 1
                stats["ok"] += ok
                if not ok:
                    (stats["unexpected"].append(repr(error)) if stable else stats.__setitem__("while_toggling", stats["while_toggling"] + 1))

        await asyncio.gather(*(one() for _ in range(n)))
        await client.close()

    def toggler():
        while not stop.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
            with lock:
                epoch[0] += 1
            dashscope_private.deactivate()
            dashscope_private.activate(standin.url)
            with lock:
                epoch[0] += 1
                stats["toggles"] += 1

    def builder():
        while not stop.is_set() and time.monotonic() < deadline:
            openai.OpenAI(api_key="sk-x", base_url=public).with_options(timeout=5)
            with lock:
                stats["clients_built"] += 1

    workers = [threading.Thread(target=openai_worker, args=(32,)) for _ in range(24)]
    workers += [threading.Thread(target=dashscope_worker, args=(16,)) for _ in range(8)]
    workers.append(threading.Thread(target=lambda: asyncio.run(async_group(200))))
    helpers = [threading.Thread(target=toggler), threading.Thread(target=builder)]
    started = time.monotonic()
    for t in helpers + workers:
        t.start()
    for t in workers:
        t.join(timeout=max(1, deadline - time.monotonic()))
    stop.set()
    for t in helpers:
        t.join(timeout=30)
    elapsed = time.monotonic() - started
    assert not any(t.is_alive() for t in workers + helpers), "deadlock or hang"

    # Misrouted: anything that reached a host other than the endpoint or (only while deactivated) the public one.
    escaped = trap.take()
    misrouted = [("endpoint got Host", r.host, r.path) for r in standin.records if r.host != standin.netloc]
    misrouted += [("went to", method, target) for method, target, _h in escaped if "dashscope.aliyuncs.com" not in target]
    stats["misrouted"] = len(misrouted)
    assert stats["requests"] >= 1000
    assert misrouted == []
    assert stats["unexpected"] == []
    assert len(escaped) <= stats["while_toggling"]
    report("load", requests=stats["requests"], ok=stats["ok"], failed_only_while_deactivated=stats["while_toggling"], misrouted=0, unexpected_errors=0,
           toggles=stats["toggles"], clients_built=stats["clients_built"], threads=33, seconds=round(elapsed, 1))


# ------------------------------------------------------------------ faults


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fault_calls():
    openai = pytest.importorskip("openai")
    pytest.importorskip("dashscope")
    from dashscope import Generation

    def openai_call():
        client = openai.OpenAI(api_key="sk-x", base_url="https://dashscope.aliyuncs.com/compatible-mode/v1", max_retries=0, timeout=5)
        try:
            client.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "hi"}])
        except openai.APIConnectionError as exc:
            return "connection", str(exc.request.url)
        except openai.APIStatusError as exc:
            return f"status {exc.status_code}", str(exc.request.url)
        return "ok", ""

    def dashscope_call():
        try:
            response = Generation.call(model="qwen-max", messages=[{"role": "user", "content": "hi"}], result_format="message", api_key="sk-x")
        except Exception as exc:  # requests' ConnectionError names the host in its message
            return "connection", str(exc)
        return f"status {response.status_code}", ""

    return openai_call, dashscope_call


def test_fault_endpoint_refuses_connections(trap):
    openai_call, dashscope_call = _fault_calls()
    port = _closed_port()
    dashscope_private.activate(f"http://127.0.0.1:{port}")
    assert openai_call() == ("connection", f"http://127.0.0.1:{port}/compatible-mode/v1/chat/completions")
    kind, message = dashscope_call()
    assert kind == "connection" and f"port={port}" in message and "127.0.0.1" in message
    assert trap.take() == []  # nothing fell back to the public host
    report("fault refused", sdk_errors=2, fallbacks_to_public=0)


def test_fault_endpoint_name_does_not_resolve(trap, monkeypatch):
    """The resolver is made to fail for one reserved name only (a real DNS query would leave loopback);
    the SDKs, HTTP libraries and sockets are otherwise untouched."""
    openai_call, dashscope_call = _fault_calls()
    name = "ep-unresolvable.dashscope.cn-beijing.privatelink.aliyuncs.com"
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, (bytes, bytearray)):
            host = host.decode()
        if host == name:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    dashscope_private.activate(name)
    kind, url = openai_call()
    assert (kind, url) == ("connection", f"http://{name}/compatible-mode/v1/chat/completions")
    kind, message = dashscope_call()
    assert kind == "connection" and name in message
    assert trap.take() == []
    report("fault unresolvable", sdk_errors=2, fallbacks_to_public=0)


def test_fault_endpoint_answers_5xx(trap):
    openai_call, dashscope_call = _fault_calls()
    with StandIn(status=503) as failing:
        dashscope_private.activate(failing.url)
        assert openai_call() == ("status 503", f"{failing.url}/compatible-mode/v1/chat/completions")
        assert dashscope_call()[0] == "status 503"
        assert {r.host for r in failing.records} == {failing.netloc}
    assert trap.take() == []
    report("fault 5xx", sdk_errors=2, fallbacks_to_public=0)
