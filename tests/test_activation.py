"""Activation: idempotent, reversible, lazy, thread- and fork-safe; failures never break the host program."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

import pytest

import dashscope_private
from dashscope_private import _runtime, registry
from dashscope_private._patching import is_patched
from dashscope_private.errors import ConfigError, IntegrationError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHAT = "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions"


def run_python(code: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": ROOT, **(env or {})}
    return subprocess.run([sys.executable, "-c", code], env=full_env, capture_output=True, text=True, timeout=120, **kwargs)


def test_public_api():
    assert set(dashscope_private.__all__) >= {"activate", "deactivate", "is_active", "rewrite_url", "ConfigError", "PublicEgressBlocked"}
    assert not dashscope_private.is_active()
    assert dashscope_private.rewrite_url(CHAT) == CHAT  # inactive: unchanged


def test_activate_is_idempotent_and_reversible(standin):
    pytest.importorskip("requests")
    import requests.models

    original = requests.models.PreparedRequest.__dict__["prepare_url"]
    dashscope_private.activate(standin.url)
    dashscope_private.activate(standin.url)
    assert dashscope_private.is_active()
    wrapper = requests.models.PreparedRequest.__dict__["prepare_url"]
    assert is_patched(requests.models.PreparedRequest, "prepare_url")
    assert wrapper.__wrapped__ is original  # one layer, not two
    assert dashscope_private.rewrite_url(CHAT) == f"{standin.url}/compatible-mode/v1/chat/completions"
    dashscope_private.deactivate()
    dashscope_private.deactivate()
    assert requests.models.PreparedRequest.__dict__["prepare_url"] is original
    assert not dashscope_private.is_active()


def test_activate_rejects_bad_values_and_keeps_state(standin):
    with pytest.raises(ConfigError, match="DASHSCOPE_PRIVATE_ENDPOINT"):
        dashscope_private.activate("http://ep-x******.example")
    assert not dashscope_private.is_active()
    with pytest.raises(ConfigError, match="no endpoint"):
        dashscope_private.activate()
    with pytest.raises(TypeError, match="unexpected keyword"):
        dashscope_private.activate(standin.url, endpint="x")


def test_kill_switch(standin, monkeypatch):
    monkeypatch.setenv("DASHSCOPE_PRIVATE_DISABLE", "1")
    dashscope_private.activate(standin.url)
    assert not dashscope_private.is_active()


def test_activation_exports_the_environment_for_children(standin):
    assert "DASHSCOPE_PRIVATE_ENDPOINT" not in os.environ
    dashscope_private.activate(standin.url, strict=True)
    assert os.environ["DASHSCOPE_PRIVATE_ENDPOINT"] == standin.url
    assert os.environ["DASHSCOPE_PRIVATE_STRICT"] == "1"
    dashscope_private.deactivate()
    assert "DASHSCOPE_PRIVATE_ENDPOINT" not in os.environ
    assert "DASHSCOPE_PRIVATE_STRICT" not in os.environ


def test_broken_integration_warns_once_and_rolls_back(standin, monkeypatch, caplog):
    pytest.importorskip("httpx")  # imported so that its integration installs at activation
    requests = pytest.importorskip("requests")

    original = requests.Session.__dict__["request"]
    monkeypatch.setattr(registry.INTEGRATIONS_BY_NAME["requests"], "implementation", "broken_integration")
    with caplog.at_level(logging.WARNING, logger="dashscope_private"):
        dashscope_private.activate(standin.url)
        dashscope_private.activate(standin.url)
    warnings = [r.getMessage() for r in caplog.records if "could not patch requests" in r.getMessage()]
    assert len(warnings) == 1 and "simulated breakage" in warnings[0]
    assert requests.Session.__dict__["request"] is original  # not left half-patched
    assert "requests" not in _runtime.installed_integrations()
    assert "httpx" in _runtime.installed_integrations()  # the others still work


def test_broken_integration_in_strict_mode_is_an_error(standin, monkeypatch):
    pytest.importorskip("requests")
    monkeypatch.setattr(registry.INTEGRATIONS_BY_NAME["requests"], "implementation", "broken_integration")
    with pytest.raises(IntegrationError, match="could not patch requests.*STRICT"):
        dashscope_private.activate(standin.url, strict=True)


def test_broken_integration_never_breaks_the_users_import():
    """In a fresh process: the hook fires inside `import requests`, fails, and the import still works."""
    pytest.importorskip("requests")
    code = (
        "import dashscope_private, dashscope_private._runtime as r, dashscope_private.registry as g\n"
        "g.INTEGRATIONS_BY_NAME['requests'].implementation = 'broken_integration'\n"
        "dashscope_private.activate('http://127.0.0.1:9')\n"
        "import requests\n"
        "print('imported', requests.__name__, 'requests' in r.installed_integrations())\n"
    )
    result = run_python(code, env={"PYTHONPATH": ROOT + os.pathsep + os.path.dirname(__file__)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported requests False"
    assert result.stderr.count("could not patch requests") == 1
    strict = run_python(code.replace("activate('http://127.0.0.1:9')", "activate('http://127.0.0.1:9', strict=True)"), env={"PYTHONPATH": ROOT + os.pathsep + os.path.dirname(__file__)})
    assert strict.returncode != 0 and "IntegrationError" in strict.stderr and "could not patch requests" in strict.stderr


def test_hooks_are_lazy_and_fire_on_import():
    pytest.importorskip("requests")
    code = (
        "import sys, dashscope_private\n"
        "dashscope_private.activate('http://127.0.0.1:9')\n"
        "print(sorted(m for m in ('wrapt', 'requests', 'httpx', 'openai') if m in sys.modules))\n"
        "import requests\n"
        "from dashscope_private._patching import is_patched\n"
        "print(is_patched(requests.models.PreparedRequest, 'prepare_url'), requests.__spec__.loader.__class__.__name__)\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "[]"
    assert lines[1] == "True SourceFileLoader"  # our loader wrapper is not left behind


def test_sdk_imported_before_activation_is_patched_at_activation(standin):
    httpx = pytest.importorskip("httpx")

    assert not is_patched(httpx.Request, "__init__")
    dashscope_private.activate(standin.url)
    assert is_patched(httpx.Request, "__init__")


def test_reload_then_activate_repatches(standin):
    """importlib.reload rebuilds classes without our wrappers; calling activate() again re-applies them."""
    import importlib

    pytest.importorskip("websocket")
    import websocket._core

    dashscope_private.activate(standin.url)
    importlib.reload(websocket._core)
    assert not is_patched(websocket._core.WebSocket, "connect")
    dashscope_private.deactivate()
    dashscope_private.activate(standin.url)
    assert is_patched(websocket._core.WebSocket, "connect") or is_patched(__import__("websocket").WebSocket, "connect")


def test_debug_log_names_each_rewrite_once(standin, caplog):
    dashscope_private.activate(standin.url, log="debug")
    with caplog.at_level(logging.DEBUG, logger="dashscope_private"):
        for _ in range(3):
            dashscope_private.rewrite_url(CHAT)
    messages = [r.getMessage() for r in caplog.records if r.getMessage().startswith("redirecting")]
    assert messages == [f"redirecting https://dashscope.aliyuncs.com -> {standin.url}"]


def test_concurrent_activate_deactivate_and_requests(standin):
    """Threads toggling activation while others rewrite: no exception, every answer is one of the two valid ones."""
    httpx = pytest.importorskip("httpx")

    errors = []
    valid = {CHAT, f"{standin.url}/compatible-mode/v1/chat/completions"}
    stop = threading.Event()

    def toggler():
        try:
            for _ in range(50):
                dashscope_private.activate(standin.url)
                dashscope_private.deactivate()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            stop.set()

    def user():
        try:
            while not stop.is_set():
                assert str(httpx.Request("POST", CHAT).url) in valid
                assert dashscope_private.rewrite_url(CHAT) in valid
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=toggler)] + [threading.Thread(target=user) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "deadlock"
    assert errors == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_stays_private(standin):
    requests = pytest.importorskip("requests")

    dashscope_private.activate(standin.url)
    pid = os.fork()
    if pid == 0:  # child
        try:
            ok = requests.post(CHAT, json={}, timeout=10).status_code == 200
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0 if hasattr(os, "waitstatus_to_exitcode") else status == 0
    assert [r.host for r in standin.records] == [standin.netloc]


# ------------------------------------------------------------------ the program's proxy variables


def test_activation_leaves_proxy_variables_alone(standin, monkeypatch):
    """Activation must not change how the program's later proxy settings behave: no NO_PROXY/no_proxy
    written, so a later NO_PROXY the program sets is the one urllib, requests and httpx see."""
    urllib_request = pytest.importorskip("urllib.request")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    dashscope_private.activate(standin.url)
    assert "NO_PROXY" not in os.environ and "no_proxy" not in os.environ
    monkeypatch.setenv("NO_PROXY", "internal.example")
    assert urllib_request.getproxies()["no"] == "internal.example"
    assert urllib_request.proxy_bypass_environment("internal.example")


def test_child_process_goes_direct_without_no_proxy(standin, trap):
    """How children still go direct: they inherit DASHSCOPE_PRIVATE_ENDPOINT, activate, and bypass the proxy
    per library; HTTP(S)_PROXY (the trap) is set and NO_PROXY does not name the endpoint."""
    pytest.importorskip("requests")
    dashscope_private.activate(standin.url)
    env = {**os.environ, "NO_PROXY": "internal.example", "no_proxy": "internal.example"}
    code = (
        "import dashscope_private.auto, requests; "
        f"print(requests.post({CHAT!r}, json={{}}, timeout=10).status_code)"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "200", result.stderr
    assert [r.path for r in standin.records] == ["/compatible-mode/v1/chat/completions"]
    assert trap.take() == []
