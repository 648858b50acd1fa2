"""Regressions found by running the patched libraries' own suites with the plugin active (issue 10).

A request we do not redirect keeps every header byte for byte; odd header
types pass through; activation leaves the program's proxy variables alone;
saving and restoring a ``dashscope`` URL global is an exact round trip.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import dashscope_private
from dashscope_private.standin import StandIn

CHAT = "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions"


def test_requests_bytes_host_header_passes_through(private):
    """requests accepts bytes header values (its own test_request_with_bytestring_host); our send hook
    used to raise TypeError from the router's pre-filter for any URL."""
    requests = pytest.importorskip("requests")
    with StandIn() as other:
        response = requests.get(other.url + "/compatible-mode/v1/models", headers={"Host": b"example.com"}, timeout=10)
        assert response.status_code == 200
        assert [r.host for r in other.records] == ["example.com"]
    # and to a redirected URL: the bytes header is not ours to judge, the URL still goes private
    assert requests.post(CHAT, json={}, headers={"Host": b"example.com"}, timeout=10).status_code == 200
    assert [r.path for r in private.records] == ["/compatible-mode/v1/chat/completions"]


def test_requests_keeps_a_public_host_header_on_a_request_it_does_not_redirect(private):
    """A program talking to its own gateway with Host: dashscope.aliyuncs.com keeps that header."""
    requests = pytest.importorskip("requests")
    with StandIn() as gateway:
        requests.get(gateway.url + "/api/v1/x", headers={"Host": "dashscope.aliyuncs.com"}, timeout=10)
        assert [r.host for r in gateway.records] == ["dashscope.aliyuncs.com"]
    assert private.records == []


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_httpx_keeps_a_foreign_host_header_on_the_endpoint_host(private, library):
    """Same host as the endpoint, another port, a Host header of the user's: nothing of ours to change."""
    http = pytest.importorskip(library)
    request = http.Request("GET", f"http://{private.host}:8000/", headers={"Host": "example.org"})
    assert request.headers["Host"] == "example.org"
    request = http.Request("GET", f"{private.url}/x", headers={"Host": "example.org"})
    assert request.headers["Host"] == "example.org"
    # a public Host header on a request for the endpoint still follows
    request = http.Request("GET", f"{private.url}/x", headers={"Host": "dashscope.aliyuncs.com"})
    assert request.headers["Host"] == private.netloc


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
