"""requests (``integrations/requests.py``): public URLs land on the endpoint, the rest is untouched.

Each test runs the real library with the PUBLIC DashScope URL in the code and checks
where the request landed (the stand-in's records: kind, path and Host); the proxy
trap and the loopback guard (``conftest.py``) fail anything that went out unredirected.
"""

from __future__ import annotations

import os

import pytest

hypothesis = pytest.importorskip("hypothesis")  # the property tests of odd hook inputs

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import dashscope_private  # noqa: E402
from dashscope_private import PublicEgressBlocked  # noqa: E402
from dashscope_private.standin import StandIn  # noqa: E402
from support import BODY, CHAT, HEADERS, INTL, hook_input_strategies, landed, same_outcome_inactive_and_active  # noqa: E402

_, _, non_dashscope_urls, header_values = hook_input_strategies()


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


# ------------------------------------------------------------------ strict mode


@pytest.mark.parametrize(
    "url",
    [INTL, "https://dashscope-us.aliyuncs.com/api/v1/x", "https://cn-hongkong.dashscope.aliyuncs.com/api/v1/x", "https://ws-1.cn-beijing.maas.aliyuncs.com/api/v1/x"],
)
def test_requests_blocked(strict, url):
    requests = pytest.importorskip("requests")
    with pytest.raises(PublicEgressBlocked) as info:
        requests.post(url, json=BODY, timeout=5)
    assert info.value.url == url or info.value.host in url


def test_configured_host_still_goes_private(strict):
    requests = pytest.importorskip("requests")
    assert requests.post("https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions", json=BODY, timeout=5).status_code == 200
    assert [r.host for r in strict.records] == [strict.netloc]


# ------------------------------------------------------------------ hooks never raise on input they do not understand


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=st.one_of(non_dashscope_urls, non_dashscope_urls.map(str.encode)), host=header_values)
def test_requests_prepare_is_unchanged_for_other_hosts(standin, url, host):
    requests = pytest.importorskip("requests")

    def build():
        prepared = requests.Request("POST", url, headers={"Host": host, "X-Bytes": b"v"}).prepare()
        return prepared.url, dict(prepared.headers)

    same_outcome_inactive_and_active(standin, build)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=non_dashscope_urls, host=header_values)
def test_requests_send_hook_passes_odd_headers(standin, url, host):
    """The send backstop sees prepared requests with any header type: it must hand them on unchanged."""
    requests = pytest.importorskip("requests")
    from requests.adapters import BaseAdapter

    seen = []

    class Recorder(BaseAdapter):  # a real adapter boundary: records what the session would send
        def send(self, request, **kwargs):
            seen.append((request.url, dict(request.headers), bool(kwargs.get("proxies"))))
            raise requests.exceptions.ConnectionError("recorded")

        def close(self):
            pass

    def build():
        with requests.Session() as session:
            session.mount("http://", Recorder())
            session.mount("https://", Recorder())
            prepared = requests.Request("GET", "http://own-gateway.example/x", headers={"Host": host}).prepare()
            prepared.url = url if "://" in url else prepared.url
            try:
                session.send(prepared, proxies={})
            except requests.exceptions.RequestException:
                pass
        return seen.pop() if seen else None

    same_outcome_inactive_and_active(standin, build)


def test_keep_alive_sessions_send_host_headers_that_follow_in_any_spelling(private):
    """requests and httpx alike: a Host header naming the public host, in any spelling, follows on a keep-alive session."""
    requests = pytest.importorskip("requests")
    with requests.Session() as session:
        for spelling in ("Host", "hOsT", "HOST"):
            session.post(CHAT, json=BODY, headers={**HEADERS, spelling: "dashscope.aliyuncs.com"}, timeout=10).raise_for_status()
    httpx = pytest.importorskip("httpx")
    with httpx.Client() as client:
        for headers in ({"hOsT": "dashscope.aliyuncs.com"}, [("Host", "dashscope.aliyuncs.com"), ("X-A", b"\xe9")], {"X-A": "b"}):
            assert client.post(CHAT, json=BODY, headers=headers).status_code == 200
    assert len(landed(private)) == 6
