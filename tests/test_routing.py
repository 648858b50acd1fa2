"""The routing core: exact host matching, scheme policy, byte-for-byte preservation, fail closed."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import dashscope_private  # noqa: E402
from dashscope_private.config import ENDPOINT, HOSTS, load, parse_endpoint, parse_hosts  # noqa: E402
from dashscope_private.errors import ConfigError, PublicEgressBlocked  # noqa: E402
from dashscope_private.routing import Router, split_url  # noqa: E402
from support import dns_label, url_strategy  # noqa: E402

EP = "ep-abc.dashscope.cn-beijing.privatelink.aliyuncs.com"


def router(endpoint=EP, **env):
    environ = {ENDPOINT: endpoint}
    environ.update({f"DASHSCOPE_PRIVATE_{k.upper()}": v for k, v in env.items()})
    return Router(load(environ))


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://dashscope.aliyuncs.com/compatible-mode/v1", f"http://{EP}/compatible-mode/v1"),
        ("https://dashscope.aliyuncs.com/api/v1/services/aigc/text-generation/generation", f"http://{EP}/api/v1/services/aigc/text-generation/generation"),
        ("wss://dashscope.aliyuncs.com/api-ws/v1/inference", f"ws://{EP}/api-ws/v1/inference"),
        ("wss://dashscope.aliyuncs.com/api-ws/v1/realtime?model=qwen-omni-turbo-realtime", f"ws://{EP}/api-ws/v1/realtime?model=qwen-omni-turbo-realtime"),
        ("HTTPS://DashScope.AliyunCS.com/x", f"http://{EP}/x"),
        ("https://dashscope.aliyuncs.com./x", f"http://{EP}/x"),
        ("https://dashscope.aliyuncs.com:443/x", f"http://{EP}/x"),
        ("https://dashscope.aliyuncs.com", f"http://{EP}"),
        ("https://dashscope.aliyuncs.com?q=1#f", f"http://{EP}?q=1#f"),
        ("https://user:pw@dashscope.aliyuncs.com/x", f"http://user:pw@{EP}/x"),
        ("https://dashscope.aliyuncs.com/a%2Fb?x=%E4%BD%A0&&y#frag/../", f"http://{EP}/a%2Fb?x=%E4%BD%A0&&y#frag/../"),
    ],
)
def test_public_urls_go_private(url, expected):
    assert router().rewrite(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://dashscope.aliyuncs.com.evil.example/v1",
        "https://xdashscope.aliyuncs.com/v1",
        "https://dashscope.aliyuncs.com@evil.example/v1",
        "https://evil.example/?next=https://dashscope.aliyuncs.com/",
        "https://evil.example/dashscope.aliyuncs.com",
        "https://evil.example#@dashscope.aliyuncs.com",
        "https://api.openai.com/v1",
        "http://localhost:8000/v1",
        "https://dashscope.aliyuncs.com\\@evil.example/",
        "ftp://dashscope.aliyuncs.com/x",
        "dashscope.aliyuncs.com/x",
        "/compatible-mode/v1",
        "",
        f"http://{EP}/compatible-mode/v1",
    ],
)
def test_everything_else_is_left_alone(url):
    assert router().rewrite(url) is url


def test_scheme_policy():
    # explicit scheme wins
    assert router("https://" + EP).rewrite("https://dashscope.aliyuncs.com/x") == f"https://{EP}/x"
    assert router("https://" + EP).rewrite("wss://dashscope.aliyuncs.com/x") == f"wss://{EP}/x"
    assert router("http://vpc-cn-beijing.dashscope.aliyuncs.com").rewrite("https://dashscope.aliyuncs.com/x") == "http://vpc-cn-beijing.dashscope.aliyuncs.com/x"
    # a custom domain without scheme keeps the original (HTTPS stays HTTPS, ws stays ws)
    custom = router("vpc-cn-beijing.dashscope.aliyuncs.com")
    assert custom.rewrite("https://dashscope.aliyuncs.com/x") == "https://vpc-cn-beijing.dashscope.aliyuncs.com/x"
    assert custom.rewrite("wss://dashscope.aliyuncs.com/x") == "wss://vpc-cn-beijing.dashscope.aliyuncs.com/x"
    assert custom.rewrite("http://dashscope.aliyuncs.com/x") == "http://vpc-cn-beijing.dashscope.aliyuncs.com/x"
    # the custom domain is itself under dashscope.aliyuncs.com: never rewritten twice
    both = router("vpc-cn-beijing.dashscope.aliyuncs.com", hosts="dashscope.aliyuncs.com,*.dashscope.aliyuncs.com")
    assert both.rewrite("https://vpc-cn-beijing.dashscope.aliyuncs.com/x") == "https://vpc-cn-beijing.dashscope.aliyuncs.com/x"


def test_ports_and_ipv6_endpoints():
    assert router("10.0.0.5:8080").rewrite("https://dashscope.aliyuncs.com/x") == "https://10.0.0.5:8080/x"
    assert router("http://[::1]:9000").rewrite("wss://dashscope.aliyuncs.com/x") == "ws://[::1]:9000/x"
    assert router("http://[::1]:9000").target("https", "dashscope.aliyuncs.com") == ("http", "::1", 9000)


def test_ipv6_literal_urls_are_parsed_not_matched():
    assert router().rewrite("https://[::1]:8080/x") == "https://[::1]:8080/x"
    assert split_url("https://[::1]:8080/x")[2] == "::1"


def test_only_configured_hosts():
    r = router(hosts="dashscope-intl.aliyuncs.com")
    assert r.rewrite("https://dashscope-intl.aliyuncs.com/x") == f"http://{EP}/x"
    assert r.rewrite("https://dashscope.aliyuncs.com/x") == "https://dashscope.aliyuncs.com/x"  # warned, not rewritten


def test_wildcard_hosts():
    r = router(hosts="*.maas.aliyuncs.com")
    assert r.rewrite("https://ws-1.cn-beijing.maas.aliyuncs.com/api/v1") == f"http://{EP}/api/v1"
    assert r.rewrite("https://maas.aliyuncs.com/api/v1") == "https://maas.aliyuncs.com/api/v1"


def test_strict_blocks_unredirected_public_hosts_before_connecting():
    r = router(strict="1")
    for host in ["dashscope-intl.aliyuncs.com", "dashscope-us.aliyuncs.com", "cn-hongkong.dashscope.aliyuncs.com", "ws1.cn-beijing.maas.aliyuncs.com"]:
        with pytest.raises(PublicEgressBlocked) as info:
            r.rewrite(f"https://{host}/api/v1")
        assert info.value.host == host
        assert "DASHSCOPE_PRIVATE_HOSTS" in str(info.value) and "DASHSCOPE_PRIVATE_ALLOW" in str(info.value)
    assert r.rewrite("https://dashscope.aliyuncs.com/x") == f"http://{EP}/x"
    assert r.rewrite("https://api.openai.com/x") == "https://api.openai.com/x"


def test_allow_list_permits_named_hosts_in_strict_mode():
    r = router(strict="1", allow="dashscope-us.aliyuncs.com")
    assert r.rewrite("https://dashscope-us.aliyuncs.com/x") == "https://dashscope-us.aliyuncs.com/x"


def test_non_strict_warns_once_per_host():
    warned = []
    r = Router(load({ENDPOINT: EP}), on_warn=lambda host, kind: warned.append(host))
    assert r.rewrite("https://dashscope-intl.aliyuncs.com/x") == "https://dashscope-intl.aliyuncs.com/x"
    assert warned == ["dashscope-intl.aliyuncs.com"]


def test_oss_uploads():
    oss = "https://dashscope-file-mgr.oss-cn-beijing.aliyuncs.com/"
    with pytest.raises(PublicEgressBlocked, match="DASHSCOPE_PRIVATE_OSS=internal"):
        router(strict="1").rewrite(oss)
    assert router(strict="1", oss="internal").rewrite(oss) == "https://dashscope-file-mgr.oss-cn-beijing-internal.aliyuncs.com/"
    assert router(oss="internal").rewrite("https://my-bucket.oss-cn-beijing.aliyuncs.com/k") == "https://my-bucket.oss-cn-beijing.aliyuncs.com/k"
    assert router(strict="1", oss="public").rewrite(oss) == oss
    assert router(strict="1", allow="dashscope-file-mgr.oss-cn-beijing.aliyuncs.com").rewrite(oss) == oss


def test_invalid_configuration_fails_closed_with_the_same_message():
    try:
        parse_endpoint("ep-2zei6917b47eed******.dashscope.cn-beijing.privatelink.aliyuncs.com")
    except ConfigError as exc:
        error = exc
    r = Router.failing(error)
    for host in ["dashscope.aliyuncs.com", "dashscope-intl.aliyuncs.com", "x.cn-beijing.maas.aliyuncs.com"]:
        with pytest.raises(ConfigError) as info:
            r.rewrite(f"https://{host}/api/v1")
        assert str(info.value) == str(error)
    assert r.rewrite("https://api.openai.com/v1") == "https://api.openai.com/v1"


def _invalid_endpoint_error() -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load({ENDPOINT: "ftp://x", HOSTS: "llm.example.com"})
    return info.value


def test_invalid_configuration_fails_closed_for_custom_hosts():
    """DASHSCOPE_PRIVATE_HOSTS names a host outside aliyuncs.com: string URLs for it must fail
    closed too, not slip past the substring pre-filter built for the default hosts."""
    error = _invalid_endpoint_error()
    r = Router.failing(error, parse_hosts("llm.example.com", HOSTS))
    with pytest.raises(ConfigError) as info:
        r.target("https", "llm.example.com")
    assert str(info.value) == str(error)
    for url in ["https://llm.example.com/v1/chat/completions", "HTTPS://LLM.example.COM./v1", "wss://llm.example.com/ws"]:
        with pytest.raises(ConfigError) as info:
            r.rewrite(url)
        assert str(info.value) == str(error)
    with pytest.raises(ConfigError):
        r.rewrite("https://dashscope.aliyuncs.com/api/v1")  # the public hosts still fail closed
    assert r.rewrite("https://api.example.com/v1") == "https://api.example.com/v1"


def test_invalid_configuration_with_custom_hosts_stops_a_program(trap):
    """As a user meets it: the variables in the environment, the .pth activates at start-up, and
    requests.post to the custom host raises the ConfigError; nothing reaches the proxy (the trap,
    which the test environment names as HTTP(S)_PROXY). Plain http:// on purpose: an https:// URL
    asks the proxy for a tunnel, which the egress guard refuses even when the integration lets it
    through, while a forward-proxied http:// request has no such net under it."""
    pytest.importorskip("requests")
    program = (
        "import requests\n"
        "try:\n"
        "    requests.post('http://llm.example.com/compatible-mode/v1/chat/completions', json={}, timeout=10)\n"
        "except Exception as exc:\n"
        "    print(type(exc).__module__, type(exc).__name__, exc)\n"
        "else:\n"
        "    print('sent')\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root, ENDPOINT: "ftp://x", HOSTS: "llm.example.com"}
    result = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("dashscope_private.errors ConfigError DASHSCOPE_PRIVATE_ENDPOINT"), (result.stdout, result.stderr)
    assert trap.take() == []


# ------------------------------------------------------------------ properties

label = dns_label()
hostname = st.lists(label, min_size=1, max_size=5).map(".".join)
tricky_host = st.one_of(
    hostname,
    st.sampled_from(["dashscope.aliyuncs.com", "DASHSCOPE.ALIYUNCS.COM", "dashscope.aliyuncs.com.", "dashscope-intl.aliyuncs.com", EP]),
    hostname.map(lambda h: h + ".dashscope.aliyuncs.com"),
    hostname.map(lambda h: "dashscope.aliyuncs.com." + h),
    hostname.map(lambda h: h + "dashscope.aliyuncs.com"),
)
any_url = url_strategy(tricky_host)


@settings(max_examples=2000, deadline=None)
@given(st.one_of(any_url, st.text(max_size=60)))
def test_never_misroutes(url):
    """Any URL either stays exactly as it was or goes to the endpoint, only for a configured host."""
    r = router()
    new = r.rewrite(url)
    if new == url:
        return
    parts = split_url(url)
    assert parts is not None and parts[2] == "dashscope.aliyuncs.com"
    new_parts = split_url(new)
    assert new_parts[2] == EP
    # only scheme and authority changed; the rest is byte for byte
    assert new[new_parts[4]:] == url[parts[4]:]
    assert new_parts[1] == parts[1]  # userinfo kept
    # idempotent: a private URL is never rewritten twice
    assert r.rewrite(new) == new


@settings(max_examples=500, deadline=None)
@given(any_url)
def test_rewrite_matches_a_reference_parser(url):
    """Our fast parser agrees with urllib on which host a URL names, wherever urllib is unambiguous."""
    from urllib.parse import urlsplit

    parts = split_url(url)
    if parts is None:
        return
    try:
        expected = urlsplit(url).hostname
    except ValueError:
        return
    if expected is not None:
        assert parts[2] == expected.rstrip(".") or parts[2] == expected


def test_reads_that_send_nothing_do_not_use_up_the_warning():
    warned = []
    r = Router(load({ENDPOINT: EP}), on_warn=lambda host, kind: warned.append(host))
    assert r.rewrite("https://dashscope-intl.aliyuncs.com/x", warn=False) == "https://dashscope-intl.aliyuncs.com/x"
    assert warned == []
    r.rewrite("https://dashscope-intl.aliyuncs.com/x")
    assert warned == ["dashscope-intl.aliyuncs.com"]


def test_a_url_seen_before_is_decided_the_same_way_and_warnings_and_blocks_are_never_remembered():
    warned = []
    r = Router(load({ENDPOINT: EP}), on_warn=lambda host, kind: warned.append(host))
    url = "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions"
    first = r.rewrite(url)
    assert r.rewrite(url) == first == f"http://{EP}/compatible-mode/v1/chat/completions"
    other = "https://oss.aliyuncs.com/x"  # passes the pre-filter, not ours
    assert r.rewrite(other) is other and r.rewrite(other) is other
    public = "https://dashscope-intl.aliyuncs.com/x"
    for _ in range(3):
        assert r.rewrite(public) is public
    assert warned == ["dashscope-intl.aliyuncs.com"] * 3  # the caller's log says it once; the router asks every time
    strict = router(strict="1")
    for _ in range(2):
        with pytest.raises(PublicEgressBlocked):
            strict.rewrite(public)


def test_split_url_names_its_parts_and_stays_a_tuple():
    parts = split_url("wss://u@[::1]:8443/x?q")
    assert parts == ("wss", "u", "::1", "8443", len("wss://u@[::1]:8443"))
    assert (parts.scheme, parts.host, parts.port, parts.port_number()) == ("wss", "::1", "8443", 8443)
    assert parts[2] == "::1" and isinstance(parts, tuple)
    assert split_url("http://h:x/").port_number() == -1 and split_url("http://h/").port_number() is None


def test_one_netloc_formatter():
    from dashscope_private.routing import format_netloc

    assert format_netloc("::1", 8080) == "[::1]:8080"
    assert format_netloc("h.example", 443, 443) == "h.example"
    assert format_netloc("h.example") == "h.example"
    assert parse_endpoint("http://[::1]:9000").netloc == "[::1]:9000"


def test_the_one_endpoint_predicate():
    from dashscope_private.routing import ANY_PORT, DEFAULT_PORTS

    r = router()
    for host in (EP, EP.upper(), EP + ".", EP.encode(), bytearray(EP.encode())):
        assert r.is_endpoint(host) and r.is_endpoint(host, ANY_PORT)
    for host in (EP + "..", "x" + EP, EP + ".evil.example", None, 3, b"\xff", "", f"[{EP}"):
        assert not r.is_endpoint(host)
    assert r.is_endpoint(EP, None, DEFAULT_PORTS["http"]) and r.is_endpoint(EP, 80, 80)
    assert not r.is_endpoint(EP, 8080, 80) and not r.is_endpoint(EP, None, None)
    assert r.url_is_endpoint(f"http://{EP}/x") and not r.url_is_endpoint(f"http://{EP}:8080/x")
    assert r.url_is_endpoint(f"http://{EP}:8080/x", any_port=True) and not r.url_is_endpoint(f"http://{EP}:x/", any_port=False)
    assert not r.url_is_endpoint(f"http://{EP}.evil.example/x", any_port=True)
    v6 = router("http://[::1]:9000")
    assert v6.is_endpoint("[::1]", 9000, 80) and v6.url_is_endpoint("http://[::1]:9000/") and not v6.url_is_endpoint("http://[::1]/")
    failing = Router.failing(ConfigError(ENDPOINT, "bad"))
    assert not failing.is_endpoint(EP) and not failing.url_is_endpoint(f"http://{EP}/")


def test_host_headers_naming_a_redirected_host():
    r = router(strict="1")
    assert r.names_redirected("dashscope.aliyuncs.com") and r.names_redirected("DashScope.aliyuncs.com:443 ")
    assert not r.names_redirected(EP) and not r.names_redirected("api.openai.com")
    assert not r.names_redirected("dashscope-intl.aliyuncs.com")  # blocked in strict mode: a read never raises


def test_a_url_seen_before_is_one_lookup_without_the_pre_filter():
    filtered = []

    class Counting(Router):
        def might_match(self, url):
            filtered.append(url)
            return super().might_match(url)

    r = Counting(load({ENDPOINT: EP}))
    url = "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions"
    new = r.rewrite(url)
    assert r.names_redirected("dashscope.aliyuncs.com") and not r.names_redirected("oss.aliyuncs.com")
    filtered.clear()
    for _ in range(3):
        assert r.rewrite(url) == new and r.names_redirected("dashscope.aliyuncs.com")
        assert not r.names_redirected("oss.aliyuncs.com")
    assert filtered == []
    other = "https://api.openai.com/v1/x"  # turned away by the pre-filter: never remembered
    for _ in range(3):
        assert r.rewrite(other) is other and not r.names_redirected("api.openai.com")
    assert other not in r._rewritten and "api.openai.com" not in r._host_headers


def test_a_parsed_url_object_is_rebuilt_once_per_router_and_the_memo_is_bounded():
    r = router()
    target = r.target("https", "dashscope.aliyuncs.com")
    built = []

    def build(url, target):
        built.append(url)
        return (url, target)

    first = r.rewritten_object("https://dashscope.aliyuncs.com/x", target, build)
    assert r.rewritten_object("https://dashscope.aliyuncs.com/x", target, build) is first
    assert built == ["https://dashscope.aliyuncs.com/x"] and first == ("https://dashscope.aliyuncs.com/x", ("http", EP, None))
    for i in range(600):
        r.rewritten_object(f"https://dashscope.aliyuncs.com/{i}", target, build)
    assert len(r._url_objects) <= 512
    assert router().rewritten_object("https://dashscope.aliyuncs.com/x", target, build) is not first  # a new router starts empty


def test_the_endpoint_predicate_is_exact_on_its_fast_path():
    r = router()
    assert r.is_endpoint(EP) and r.is_endpoint(EP, 80, 80) and not r.is_endpoint(EP, 81, 80)
    for near in (EP[:-1], EP + "x", EP.replace("ep-", "ep_"), "[" + EP + "]x"):
        assert not r.is_endpoint(near)
    assert r.is_endpoint("[" + EP + "]") and r.is_endpoint(EP.upper() + ".")


# ------------------------------------------------------------------ strict mode end to end, through requests


INTL = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions"


BODY = {"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]}



def test_allow_list_lets_a_named_host_through(standin, trap):
    requests = pytest.importorskip("requests")
    dashscope_private.activate(standin.url, strict=True, allow="dashscope-intl.aliyuncs.com")
    with pytest.raises(requests.exceptions.ProxyError):  # it went out: here, to the loopback trap
        requests.post(INTL, json=BODY, timeout=5)
    assert [target for _m, target, _h in trap.take()] == ["dashscope-intl.aliyuncs.com:443"]


def test_not_strict_warns_once_per_host_and_goes_ahead(standin, trap, caplog):
    requests = pytest.importorskip("requests")
    dashscope_private.activate(standin.url)
    with caplog.at_level(logging.WARNING, logger="dashscope_private"):
        for _ in range(3):
            with pytest.raises(requests.exceptions.ProxyError):
                requests.post(INTL, json=BODY, timeout=5)
    warnings = [r.getMessage() for r in caplog.records if "dashscope-intl.aliyuncs.com" in r.getMessage()]
    assert len(warnings) == 1 and "leaving the VPC" in warnings[0]
    assert len(trap.take()) == 3


def test_rewrite_url_reports_blocks(strict):
    with pytest.raises(PublicEgressBlocked) as info:
        dashscope_private.rewrite_url(INTL)
    assert info.value.url == INTL and json.dumps(str(info.value))
