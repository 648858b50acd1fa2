"""httpx and httpx2 (``integrations/_httpx_family.py``, shared by ``httpx.py`` and ``httpx2.py``).

Each test runs once per library, the real one, with the PUBLIC DashScope URL in
the code; the stand-in's records say where it landed, and the proxy trap and the
loopback guard (``conftest.py``) fail anything that went out unredirected.
"""

from __future__ import annotations

import asyncio

import pytest

hypothesis = pytest.importorskip("hypothesis")  # the property test of odd hook inputs

from hypothesis import HealthCheck, given, settings  # noqa: E402

from dashscope_private import PublicEgressBlocked  # noqa: E402
from dashscope_private.standin import StandIn  # noqa: E402
from support import BODY, CHAT, CHAT_PATH, HEADERS, INTL, elsewhere, hook_input_strategies, landed, same_outcome_inactive_and_active  # noqa: E402

_, _, non_dashscope_urls, header_values = hook_input_strategies()


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


# ------------------------------------------------------------------ a proxy passed in code


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_httpx_proxied_transport_sends_the_endpoint_direct(private, trap, library):
    """``proxy=`` and ``mounts=`` leave the client a direct transport for the endpoint; a proxied
    ``transport=`` does not, so the transport itself must send endpoint requests direct."""
    http = pytest.importorskip(library)
    transport = http.HTTPTransport(proxy=trap.url)
    with http.Client(transport=transport) as client:
        assert client.post(CHAT, json=BODY).status_code == 200
        twin = vars(transport)["_dashscope_private_direct_twin"]
        assert twin._pool.connections  # the endpoint connection, kept alive in the twin's pool
        # Another host keeps the proxy (the trap answers 403).
        with StandIn() as other:
            assert client.get(elsewhere(other) + CHAT_PATH).status_code == 403
            assert other.records == []
    landed(private, "http", CHAT_PATH)
    assert [(method, target) for method, target, _host in trap.take()] == [("GET", elsewhere(other) + CHAT_PATH)]
    assert not twin._pool.connections and "_dashscope_private_direct_twin" not in vars(transport)  # closed with it

    async def main() -> int:
        async with http.AsyncClient(transport=http.AsyncHTTPTransport(proxy=trap.url)) as client:
            return (await client.post(CHAT, json=BODY)).status_code

    assert asyncio.run(main()) == 200
    assert len(landed(private, "http", CHAT_PATH)) == 2
    assert trap.take() == []


# ------------------------------------------------------------------ strict mode


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_httpx_family_blocked_sync_and_async(strict, library):
    http = pytest.importorskip(library)
    with pytest.raises(PublicEgressBlocked):
        http.post(INTL, json=BODY)

    async def main():
        async with http.AsyncClient() as client:
            await client.post(INTL, json=BODY)

    with pytest.raises(PublicEgressBlocked):
        asyncio.run(main())


# ------------------------------------------------------------------ hooks never raise on input they do not understand


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=non_dashscope_urls, host=header_values)
def test_httpx_request_is_unchanged_for_other_hosts(standin, library, url, host):
    http = pytest.importorskip(library)

    def build():
        request = http.Request("GET", url, headers={"Host": host})
        return str(request.url), request.headers.raw

    same_outcome_inactive_and_active(standin, build)
    same_outcome_inactive_and_active(standin, lambda: str(http.Request("GET", http.URL(url) if "://" in url else url).url))


# ------------------------------------------------------------------ the request hook's signature


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_httpx_request_hook_names_the_parameters_of_the_installed_library(private, library):
    """``Request.__init__``'s hook repeats the original's named parameters (no ``**kwargs`` per request)
    only for the signature it knows: the libraries installed here have it, and a call through the
    hook reads like a call of the original, errors included."""
    from dashscope_private._patching import _ORIGINAL
    from dashscope_private.integrations._httpx_family import _has_request_parameters

    http = pytest.importorskip(library)
    hook = http.Request.__init__
    assert _has_request_parameters(getattr(hook, _ORIGINAL))
    assert "kwargs" not in hook.__code__.co_varnames
    with pytest.raises(TypeError, match=r"__init__\(\) got an unexpected keyword argument 'bogus'"):  # Python 3.10+ also names the class
        http.Request("GET", CHAT, bogus=1)
    request = http.Request("POST", CHAT, params={"a": "1"}, headers={"Host": "dashscope.aliyuncs.com"}, json=BODY)
    assert str(request.url) == f"{private.url}{CHAT_PATH}?a=1" and request.headers["Host"] == private.netloc


def test_httpx_request_hook_leaves_an_unknown_signature_to_the_general_hook():
    from dashscope_private.integrations._httpx_family import _has_request_parameters

    def known(self, method, url, *, params=None, headers=None, cookies=None, content=None, data=None, files=None, json=None, stream=None, extensions=None):
        pass

    def extra(self, method, url, *, params=None, headers=None, cookies=None, content=None, data=None, files=None, json=None, stream=None, extensions=None, timeout=None):
        pass

    def positional(self, method, url, params=None, headers=None, cookies=None, content=None, data=None, files=None, json=None, stream=None, extensions=None):
        pass

    def other_default(self, method, url, *, params=None, headers=None, cookies=None, content=None, data=None, files=None, json=None, stream=None, extensions={}):
        pass

    assert _has_request_parameters(known)
    assert not any(_has_request_parameters(f) for f in (extra, positional, other_default, len))
