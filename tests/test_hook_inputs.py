"""Hooks never raise on input they do not understand (issue 9, part 3).

Two properties, over generated odd inputs (bytes URLs and header values, URL
objects of other libraries, IDNA and IPv6 hosts, empty strings, ``None``,
arbitrary objects):

1. The helpers every per-request hook is built from return normally (their
   input unchanged where it is not a DashScope URL they understand) or raise
   only our deliberate ``PublicEgressBlocked`` / ``ConfigError``.
2. Differentially, for the libraries' own request-building entry points: with
   the plugin active, anything that is not a DashScope host gives exactly the
   outcome it gives with the plugin inactive: the same result (URL and
   headers) or the same exception type.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dashscope_private
from dashscope_private import _egress_guard
from dashscope_private.errors import DashscopePrivateError
from dashscope_private.integrations import _urls

PUBLIC_HOSTS = ["dashscope.aliyuncs.com", "DashScope.AliyunCS.com.", "dashscope-intl.aliyuncs.com", "ws-1.cn-beijing.maas.aliyuncs.com"]
ODD_HOSTS = ["example.com", "bücher.example", "xn--bcher-kva.example", "[::1]", "[fe80::1%25eth0]", "127.0.0.1", "", "a..b", "ｄａｓｈｓｃｏｐｅ.aliyuncs.com"]
SCHEMES = ["http", "https", "ws", "wss", "ftp", "HTTP", ""]


@st.composite
def urls(draw, hosts=st.sampled_from(PUBLIC_HOSTS + ODD_HOSTS)):
    scheme = draw(st.sampled_from(SCHEMES))
    host = draw(hosts)
    port = draw(st.sampled_from(["", ":443", ":80", ":0", ":99999", ":x"]))
    path = draw(st.sampled_from(["", "/", "/compatible-mode/v1/chat/completions", "/a b", "/?q=dashscope.aliyuncs.com", "/%zz"]))
    userinfo = draw(st.sampled_from(["", "user:pw@", "@"]))
    sep = "://" if scheme else draw(st.sampled_from(["", "//"]))
    return f"{scheme}{sep}{userinfo}{host}{port}{path}"


class ForeignURL:
    """A URL type of some other library: has a host and a scheme, but is not ours to parse."""

    scheme = "https"
    host = "dashscope.aliyuncs.com"

    def __str__(self) -> str:
        return "https://dashscope.aliyuncs.com/"


odd_values = st.one_of(
    st.none(),
    st.binary(max_size=40),
    urls().map(lambda u: u.encode("utf-8")),
    urls(),
    st.text(max_size=40),
    st.integers(),
    st.builds(ForeignURL),
    st.builds(object),
    st.lists(st.text(max_size=5), max_size=2),
)


@pytest.fixture(params=["plain", "strict"])
def active(request, standin):
    dashscope_private.activate(standin.url, strict=request.param == "strict")
    yield standin


def _only_ours(call, *args):
    try:
        return call(*args)
    except DashscopePrivateError:
        return None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=odd_values)
def test_helpers_never_raise_anything_but_ours(active, value):
    for helper in (_urls.route_url, _urls.rewrite_setting, _urls.names_redirected_host, _urls.is_endpoint, _urls.url_is_for_endpoint, _egress_guard.check_host):
        result = _only_ours(helper, value)
        if helper in (_urls.route_url, _urls.rewrite_setting) and not isinstance(value, str):
            assert result is value or result is None
    assert _only_ours(_urls.rewrite_httpx_url, value) is value or isinstance(value, str)


def _outcome(call):
    try:
        return ("ok", call())
    except DashscopePrivateError:
        raise
    except Exception as exc:  # the library's own refusal of an odd input
        return ("error", type(exc).__name__)


non_dashscope_urls = urls(hosts=st.sampled_from(ODD_HOSTS))
header_values = st.one_of(st.text(max_size=20), st.binary(max_size=20), st.sampled_from(["dashscope.aliyuncs.com", b"dashscope.aliyuncs.com", "example.com:8080", b"\xff"]))


def _compare(standin, build, *args):
    dashscope_private.deactivate()
    inactive = _outcome(lambda: build(*args))
    dashscope_private.activate(standin.url)
    active = _outcome(lambda: build(*args))
    assert active == inactive


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=st.one_of(non_dashscope_urls, non_dashscope_urls.map(str.encode)), host=header_values)
def test_requests_prepare_is_unchanged_for_other_hosts(standin, url, host):
    requests = pytest.importorskip("requests")

    def build():
        prepared = requests.Request("POST", url, headers={"Host": host, "X-Bytes": b"v"}).prepare()
        return prepared.url, dict(prepared.headers)

    _compare(standin, build)


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=non_dashscope_urls, host=header_values)
def test_httpx_request_is_unchanged_for_other_hosts(standin, library, url, host):
    http = pytest.importorskip(library)

    def build():
        request = http.Request("GET", url, headers={"Host": host})
        return str(request.url), request.headers.raw

    _compare(standin, build)
    _compare(standin, lambda: str(http.Request("GET", http.URL(url) if "://" in url else url).url))


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

    _compare(standin, build)
