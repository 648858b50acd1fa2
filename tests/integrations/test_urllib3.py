"""urllib3 (``integrations/urllib3.py``) goes private, alone and together with the standard library's hooks.

Every request is made against the loopback stand-in (or the proxy trap); the
conftest guard refuses anything else. The last sections drive urllib.request,
http.client and urllib3 together: redirects, strict mode, odd inputs, deactivation.
"""

from __future__ import annotations

import http.client
import json
import urllib.request

import pytest

import dashscope_private
from dashscope_private import ConfigError, PublicEgressBlocked
from dashscope_private.standin import StandIn
from support import CHAT, CHAT_PATH, INTL, JSON_BODY as BODY, JSON_HEADERS as HEADERS, PUBLIC_HOST, blocked_in, landed

urllib3 = pytest.importorskip("urllib3")


def test_urllib3_pool_manager_and_request(private):
    with urllib3.PoolManager() as manager:
        assert manager.request("POST", CHAT, body=BODY, headers=HEADERS).status == 200
        assert manager.request("POST", CHAT, body=BODY, headers={**HEADERS, **PUBLIC_HOST}).status == 200
        assert manager.urlopen("POST", CHAT, body=BODY).status == 200
        pool = manager.connection_from_url(CHAT)
        assert (pool.scheme, pool.host, pool.port) == ("http", private.host, private.port)
    assert urllib3.request("POST", CHAT, body=BODY, headers=HEADERS).status == 200
    landed(private, count=4)


def test_urllib3_host_header_follows_without_the_http_client_layer(standin):
    dashscope_private.activate(standin.url, disabled_integrations="urllib")
    with urllib3.PoolManager(headers={**HEADERS, **PUBLIC_HOST}) as manager:
        assert manager.request("POST", CHAT, body=BODY).status == 200
        assert manager.request("POST", CHAT, body=BODY, headers=urllib3.HTTPHeaderDict({"host": "dashscope.aliyuncs.com"})).status == 200
    landed(standin, count=2)


def test_urllib3_connection_from_url(private):
    for function in (urllib3.connection_from_url, urllib3.connectionpool.connection_from_url):
        pool = function(CHAT, timeout=10)
        assert isinstance(pool, urllib3.HTTPConnectionPool) and not isinstance(pool, urllib3.HTTPSConnectionPool)
        assert pool.request("POST", CHAT_PATH, body=BODY, headers=HEADERS).status == 200
        pool.close()
    landed(private, count=2)


def test_urllib3_directly_built_pool_ends_in_http_client(private):
    """urllib3's connection classes subclass http.client.HTTPConnection: its hook moves them."""
    pool = urllib3.HTTPConnectionPool("dashscope.aliyuncs.com", timeout=10)
    assert pool.request("POST", CHAT_PATH, body=BODY, headers=HEADERS).status == 200
    assert pool.request("POST", CHAT_PATH, body=BODY, headers={**HEADERS, **PUBLIC_HOST}).status == 200
    pool.close()
    landed(private, count=2)


def test_urllib3_non_dashscope_request_keeps_its_headers(private):
    with StandIn() as other, urllib3.PoolManager() as manager:
        assert manager.request("POST", other.url + CHAT_PATH, body=BODY, headers={**HEADERS, **PUBLIC_HOST}).status == 200
        assert [r.host for r in other.records] == ["dashscope.aliyuncs.com"]
    assert private.records == []


def test_urllib3_proxy_manager_sends_endpoint_traffic_direct(standin, trap, no_loopback_exemption):
    dashscope_private.activate(standin.url)
    no_loopback_exemption()
    with urllib3.ProxyManager(trap.url) as manager:
        assert manager.request("POST", CHAT, body=BODY, headers=HEADERS).status == 200
        assert manager.request("POST", CHAT, body=BODY, headers={**HEADERS, **PUBLIC_HOST}).status == 200
        assert manager.connection_from_url(CHAT).proxy is None
        assert manager.request("POST", standin.url + CHAT_PATH, body=BODY).status == 200  # already private
        landed(standin, count=3)
        # Other traffic still goes through the proxy.
        with StandIn() as other:
            url = other.url.replace("127.0.0.1", "localhost") + "/x"  # another host than the endpoint's
            assert manager.request("GET", url).status == 403
            assert other.records == []
    assert [target for _m, target, _h in trap.take()] == [url]


def test_urllib3_proxy_manager_disabled_integration_uses_the_proxy(standin, trap):
    dashscope_private.activate(standin.url, disabled_integrations="urllib3")
    with urllib3.ProxyManager(trap.url, retries=False) as manager:
        with pytest.raises(urllib3.exceptions.ProxyError):
            manager.request("POST", CHAT, body=BODY)
    assert [(method, target) for method, target, _h in trap.take()] == [("CONNECT", "dashscope.aliyuncs.com:443")]
    assert standin.records == []


# ------------------------------------------------------------------ redirects


MODELS = "https://dashscope.aliyuncs.com/compatible-mode/v1/models"


@pytest.fixture
def redirector():
    """A loopback server (named ``localhost``, not the endpoint's host) that answers 302 to the public models URL."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(302)
            self.send_header("Location", MODELS)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{server.server_address[1]}/go"
    server.shutdown()
    server.server_close()


def test_redirects_to_the_public_host_go_private(private, redirector):
    """urllib's HTTPRedirectHandler and urllib3's PoolManager both open the Location through the hooked entry point."""
    with urllib.request.urlopen(redirector, timeout=10) as response:
        assert response.status == 200 and json.loads(response.read())["data"]
    with urllib3.PoolManager() as manager:
        assert manager.request("GET", redirector).status == 200
    assert [(r.host, r.path) for r in private.records] == [(private.netloc, "/compatible-mode/v1/models")] * 2


# ------------------------------------------------------------------ strict mode


def _blocked(call):
    with pytest.raises(Exception) as info:
        call()
    error = blocked_in(info.value)
    assert isinstance(error, PublicEgressBlocked), repr(info.value)
    assert error.host == "dashscope-intl.aliyuncs.com"
    return info.value


def test_strict_mode_refuses_public_hosts_unwrapped(strict, trap):
    calls = {
        "urlopen": lambda: urllib.request.urlopen(INTL, data=BODY, timeout=5),
        "opener with Request": lambda: urllib.request.build_opener().open(urllib.request.Request(INTL, data=BODY), timeout=5),
        "HTTPConnection": lambda: http.client.HTTPConnection("dashscope-intl.aliyuncs.com", timeout=5),
        "HTTPSConnection": lambda: http.client.HTTPSConnection("dashscope-intl.aliyuncs.com", timeout=5),
        "PoolManager": lambda: urllib3.PoolManager().request("POST", INTL, body=BODY),
        "urllib3.request": lambda: urllib3.request("POST", INTL, body=BODY),
        "ProxyManager": lambda: urllib3.ProxyManager(trap.url).request("POST", INTL, body=BODY),
        "connection_from_url": lambda: urllib3.connection_from_url(INTL),
        "HTTPSConnectionPool": lambda: urllib3.HTTPSConnectionPool("dashscope-intl.aliyuncs.com", retries=False).request("GET", "/"),
    }
    for name, call in calls.items():
        raised = _blocked(call)
        assert isinstance(raised, PublicEgressBlocked), f"{name}: {raised!r} wraps the block"
    assert strict.records == []


# ------------------------------------------------------------------ robustness


def test_odd_inputs_pass_through_untouched(private):
    opener = urllib.request.build_opener()
    with pytest.raises((AttributeError, TypeError, ValueError)):
        opener.open(b"https://dashscope.aliyuncs.com/x")  # urllib's own error, not ours
    request = urllib.request.Request(CHAT, data=BODY)
    request.headers["Host"] = b"dashscope.aliyuncs.com"  # bytes value: left as is
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    assert request.headers["Host"] == b"dashscope.aliyuncs.com"
    try:
        urllib.request.proxy_bypass(b"127.0.0.1")
    except Exception as exc:  # the platform's own function may refuse bytes; we add nothing
        assert not isinstance(exc, (PublicEgressBlocked, ConfigError))
    with urllib3.PoolManager() as manager:
        with pytest.raises(Exception) as info:
            manager.urlopen("GET", b"https://dashscope.aliyuncs.com/x")
        assert not isinstance(info.value, PublicEgressBlocked)
        assert manager.request("POST", CHAT, body=BODY, headers={"Host": b"dashscope.aliyuncs.com"}).status == 200
    with pytest.raises(Exception) as info:
        http.client.HTTPConnection(b"dashscope.aliyuncs.com")
    assert not isinstance(info.value, PublicEgressBlocked)


def test_deactivate_restores_everything(private):
    import urllib3.poolmanager

    from dashscope_private._patching import is_patched

    assert is_patched(http.client.HTTPConnection, "__init__")
    assert is_patched(urllib.request.OpenerDirector, "open") and is_patched(urllib.request, "proxy_bypass")
    assert is_patched(urllib3.PoolManager, "urlopen") and is_patched(urllib3.poolmanager.ProxyManager, "connection_from_host")
    dashscope_private.deactivate()
    assert not is_patched(http.client.HTTPConnection, "__init__")
    assert not is_patched(urllib.request.OpenerDirector, "open") and not is_patched(urllib.request, "proxy_bypass")
    assert not is_patched(urllib3.PoolManager, "urlopen") and not is_patched(urllib3, "connection_from_url")
    assert "_proxy_requires_url_absolute_form" not in vars(urllib3.poolmanager.ProxyManager)


def test_urllib3_host_headers_follow_in_any_spelling_by_themselves(standin):
    urllib3 = pytest.importorskip("urllib3")
    body = {"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]}
    # Without the http.client layer, which would fix the header again underneath.
    dashscope_private.activate(standin.url, disabled_integrations="urllib")
    manager = urllib3.PoolManager()
    for headers in ({"HOST": "dashscope.aliyuncs.com"}, urllib3.HTTPHeaderDict({"hoST": "dashscope.aliyuncs.com"}), {"Accept": "*/*"}):
        assert manager.request("POST", CHAT, json=body, headers=headers).status == 200
    plain = {"HOST": "dashscope.aliyuncs.com", "Content-Type": "application/json"}  # urlopen keeps a dict a dict
    assert manager.urlopen("POST", CHAT, body=json.dumps(body), headers=plain).status == 200
    manager.clear()
    assert len(landed(standin)) == 4
