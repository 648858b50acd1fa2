"""The standard library (``integrations/urllib.py``: urllib.request and http.client) goes private.

Every request is made against the loopback stand-in (or the proxy trap); the
conftest guard refuses anything else. Each test checks where the request
landed and with which Host header. Tests that drive urllib3 as well are in
``test_urllib3.py``.
"""

from __future__ import annotations

import http.client
import json
import logging
import urllib.error
import urllib.request

import pytest

import dashscope_private
from dashscope_private import ConfigError, PublicEgressBlocked
from dashscope_private.standin import StandIn
from support import CHAT, CHAT_PATH, INTL, JSON_BODY as BODY, JSON_HEADERS as HEADERS, PUBLIC_HOST, landed


# ------------------------------------------------------------------ urllib.request


def test_urllib_urlopen_str_and_request(private):
    with urllib.request.urlopen(CHAT, data=BODY, timeout=10) as response:
        assert response.status == 200 and json.loads(response.read())["choices"]
    request = urllib.request.Request(CHAT, data=BODY, headers=HEADERS, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    assert request.full_url.startswith(private.url) and request.type == "http" and request.host == private.netloc
    with urllib.request.build_opener().open(CHAT, BODY, timeout=10) as response:
        assert response.status == 200
    landed(private, count=3)


def test_urllib_wrapped_and_padded_url_text(private):
    with urllib.request.urlopen(f"  <URL:{CHAT}> ", data=BODY, timeout=10) as response:
        assert response.status == 200
    landed(private, count=1)


def test_urllib_explicit_host_header_follows(private):
    request = urllib.request.Request(CHAT, data=BODY, headers={**HEADERS, **PUBLIC_HOST})
    request.add_unredirected_header("Host", "DASHSCOPE.aliyuncs.com")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    assert request.headers["Host"] == private.netloc
    assert request.unredirected_hdrs["Host"] == private.netloc
    landed(private, count=1)


def test_urllib_non_dashscope_request_keeps_its_headers(private):
    with StandIn() as other:
        headers = {**PUBLIC_HOST, "X-Custom": "  kept as is "}
        request = urllib.request.Request(other.url + CHAT_PATH, data=BODY, headers=headers)
        request.add_unredirected_header("Host", "dashscope-intl.aliyuncs.com")
        before = (dict(request.headers), dict(request.unredirected_hdrs))
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        assert (request.headers, {k: v for k, v in request.unredirected_hdrs.items() if k == "Host"}) == before
        assert [r.host for r in other.records] == ["dashscope-intl.aliyuncs.com"]  # unredirected_hdrs win
        assert request.full_url == other.url + CHAT_PATH
    assert private.records == []


def test_urllib_endpoint_goes_direct_despite_proxy_variables(standin, no_loopback_exemption, trap):
    dashscope_private.activate(standin.url)
    no_loopback_exemption()  # whatever activation exported, loopback is not exempt now
    assert urllib.request.getproxies()["https"] == trap.url
    assert not urllib.request.proxy_bypass_environment(standin.host)
    assert urllib.request.proxy_bypass(standin.netloc)  # the endpoint goes direct
    with urllib.request.urlopen(CHAT, data=BODY, timeout=10) as response:
        assert response.status == 200
    with urllib.request.build_opener(urllib.request.ProxyHandler()).open(CHAT, BODY, timeout=10) as response:
        assert response.status == 200
    landed(standin, count=2)
    # Other traffic still uses the proxy as configured.
    with StandIn() as other:
        url = other.url.replace("127.0.0.1", "localhost") + "/x"  # another host than the endpoint's
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(url, timeout=10)
        assert info.value.code == 403  # answered by the trap
        assert other.records == []
    assert [target for _m, target, _h in trap.take()] == [url]


def test_urllib_disabled_integration_is_left_alone(standin, trap):
    """The same call as above, with the integration disabled: it goes out (here, to the trap)."""
    dashscope_private.activate(standin.url, disabled_integrations="urllib")
    with pytest.raises(OSError):
        urllib.request.urlopen(CHAT, data=BODY, timeout=10)
    assert [(method, target) for method, target, _h in trap.take()] == [("CONNECT", "dashscope.aliyuncs.com:443")]
    assert standin.records == []


# ------------------------------------------------------------------ http.client


def test_http_client_goes_private(private):
    conn = http.client.HTTPConnection("dashscope.aliyuncs.com", timeout=10)
    assert (conn.host, conn.port) == (private.host, private.port)
    conn.request("POST", CHAT_PATH, BODY, HEADERS)
    assert conn.getresponse().read() and True
    conn.close()
    conn = http.client.HTTPConnection("dashscope.aliyuncs.com:80", timeout=10)
    conn.request("POST", CHAT_PATH, BODY, {**HEADERS, **PUBLIC_HOST})  # explicit public Host follows
    assert conn.getresponse().status == 200
    conn.close()
    landed(private, count=2)


def test_http_client_non_dashscope_connection_keeps_its_headers(private):
    with StandIn() as other:
        conn = http.client.HTTPConnection(other.host, other.port, timeout=10)
        conn.request("POST", CHAT_PATH, BODY, {**HEADERS, **PUBLIC_HOST})
        assert conn.getresponse().status == 200
        conn.close()
        assert [r.host for r in other.records] == ["dashscope.aliyuncs.com"]
    assert private.records == []


def test_http_client_scheme_mismatch_warns_once_and_leaves_the_connection(private, caplog):
    """HTTPSConnection cannot speak to the plain-HTTP endpoint; non-strict: one warning, connection untouched."""
    with caplog.at_level(logging.WARNING, logger="dashscope_private"):
        for _ in range(2):
            conn = http.client.HTTPSConnection("dashscope.aliyuncs.com", timeout=10)
            assert (conn.host, conn.port) == ("dashscope.aliyuncs.com", 443)
    warnings = [r.getMessage() for r in caplog.records if "cannot switch TLS" in r.getMessage()]
    assert len(warnings) == 1 and "urllib.request" in warnings[0]


def test_http_client_scheme_mismatch_refused_in_strict_mode(standin):
    dashscope_private.activate(standin.url, strict=True)
    with pytest.raises(PublicEgressBlocked) as info:
        http.client.HTTPSConnection("dashscope.aliyuncs.com", timeout=10)
    assert info.value.host == "dashscope.aliyuncs.com" and "cannot switch TLS" in str(info.value)
    # The matching scheme still goes private in strict mode.
    conn = http.client.HTTPConnection("dashscope.aliyuncs.com", timeout=10)
    conn.request("POST", CHAT_PATH, BODY, HEADERS)
    assert conn.getresponse().status == 200
    conn.close()
    landed(standin, count=1)


def test_http_client_https_endpoint(standin):
    """With an HTTPS endpoint (a custom domain), HTTPSConnection is redirected and HTTPConnection mismatches."""
    dashscope_private.activate(f"https://{standin.netloc}", strict=True)
    conn = http.client.HTTPSConnection("dashscope.aliyuncs.com", timeout=10)
    assert (conn.host, conn.port) == (standin.host, standin.port)  # Host header and SNI follow self.host
    with pytest.raises(PublicEgressBlocked):
        http.client.HTTPConnection("dashscope.aliyuncs.com", timeout=10)


def test_http_client_fails_closed_on_invalid_configuration(monkeypatch, capsys):
    monkeypatch.setenv("DASHSCOPE_PRIVATE_ENDPOINT", "ep-****.dashscope.cn-beijing.privatelink.aliyuncs.com")
    from dashscope_private import _runtime

    assert _runtime.activate_from_environment()
    for connection_type in (http.client.HTTPConnection, http.client.HTTPSConnection):
        with pytest.raises(ConfigError):
            connection_type("dashscope.aliyuncs.com", timeout=10)
    with pytest.raises(ConfigError):
        urllib.request.urlopen(CHAT, data=BODY, timeout=10)
    http.client.HTTPConnection("example.com")  # not a public Model Studio host: untouched (nothing is sent)


def test_http_client_subclass_that_refuses_the_new_host(standin, caplog):
    class Pinned(http.client.HTTPConnection):
        def __setattr__(self, name, value):
            if name == "host" and "host" in self.__dict__:
                raise AttributeError("pinned")
            super().__setattr__(name, value)

    dashscope_private.activate(standin.url)
    with caplog.at_level(logging.WARNING, logger="dashscope_private"):
        assert Pinned("dashscope.aliyuncs.com").host == "dashscope.aliyuncs.com"
    assert any("refused the new host" in r.getMessage() for r in caplog.records)
    dashscope_private.activate(standin.url, strict=True)
    with pytest.raises(PublicEgressBlocked):
        Pinned("dashscope.aliyuncs.com")
