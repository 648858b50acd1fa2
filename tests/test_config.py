"""Configuration parsing: every accepted form, every rejected one with a clear ConfigError."""

from __future__ import annotations

import pytest

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from dashscope_private.config import BASE_PATHS, ENDPOINT, HOSTS, Endpoint, HostSet, endpoint_base_path, load, parse_endpoint, parse_hosts  # noqa: E402
from dashscope_private.errors import ConfigError  # noqa: E402

EP = "ep-2zei6917b47eedabcdef.dashscope.cn-beijing.privatelink.aliyuncs.com"


@pytest.mark.parametrize(
    "value, expected",
    [
        (EP, Endpoint(None, EP, None)),
        (EP + "/", Endpoint(None, EP, None)),
        (EP.upper(), Endpoint(None, EP, None)),
        (EP + ".", Endpoint(None, EP, None)),
        (f"{EP}:8080", Endpoint(None, EP, 8080)),
        (f"http://{EP}", Endpoint("http", EP, None)),
        (f"HTTPS://{EP}:443/", Endpoint("https", EP, 443)),
        ("vpc-cn-beijing.dashscope.aliyuncs.com", Endpoint(None, "vpc-cn-beijing.dashscope.aliyuncs.com", None)),
        ("10.0.0.5", Endpoint(None, "10.0.0.5", None)),
        ("http://127.0.0.1:8000", Endpoint("http", "127.0.0.1", 8000)),
        ("[::1]", Endpoint(None, "::1", None)),
        ("http://[::1]:9000/", Endpoint("http", "::1", 9000)),
        ("[FE80::0001]", Endpoint(None, "fe80::1", None)),
        ("  " + EP + "\n", Endpoint(None, EP, None)),
        ("bücher.example", Endpoint(None, "xn--bcher-kva.example", None)),
    ],
)
def test_accepted_endpoints(value, expected):
    assert parse_endpoint(value) == expected


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("ftp://" + EP, "scheme 'ftp'"),
        ("ws://" + EP, "scheme 'ws'"),
        (EP + "/compatible-mode/v1/chat/completions", "the path '/compatible-mode/v1/chat/completions' is not allowed"),
        ("http://" + EP + "/v1", "path '/v1'"),
        ("http://" + EP + "/api/v1/services/aigc", "path"),
        ("http://" + EP + "//", "path"),
        ("ws://" + EP + "/api/v1", "scheme 'ws'"),
        ("wss://" + EP + "/", "scheme 'wss'"),
        ("http://" + EP + "/api/v1?x=1", "query"),
        ("http://user@" + EP + "/api/v1", "user information"),
        (EP + "?x=1", "query"),
        (EP + "#frag", "fragment"),
        ("user:pw@" + EP, "user information"),
        ("ep-2zei6917b47eed******.dashscope.cn-beijing.privatelink.aliyuncs.com", "masked placeholder"),
        ("ep-x .dashscope.aliyuncs.com", "whitespace"),
        (EP + ":0", "port"),
        (EP + ":65536", "port"),
        (EP + ":http", "port"),
        (EP + ":", "port"),
        ("http://:80", "host is empty"),
        ("::1", "brackets"),
        ("[::1", "closing"),
        ("[not-an-ip]", "IPv6"),
        ("[::1]x", "unexpected"),
        ("256.1.1.1", "IPv4"),
        ("ep_x.example", "not a valid host name"),
        ("-ep.example", "not a valid host name"),
        ("a..b", "not a valid host name"),
        ("a" * 64 + ".example", "not a valid host name"),
        ("\udcff.example", "internationalized"),
    ],
)
def test_rejected_endpoints_name_the_variable(value, fragment):
    with pytest.raises(ConfigError) as info:
        parse_endpoint(value)
    message = str(info.value)
    assert message.startswith(ENDPOINT + ": ")
    assert fragment in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "value, expected, dropped",
    [
        # The guide's own snippets: OpenAI base_url, dashscope.base_http_api_url, base_websocket_api_url.
        (f"http://{EP}/compatible-mode/v1", Endpoint("http", EP, None), "/compatible-mode/v1"),
        (f"http://{EP}/api/v1", Endpoint("http", EP, None), "/api/v1"),
        (f"http://{EP}/api/v1/", Endpoint("http", EP, None), "/api/v1"),
        (f"ws://{EP}/api-ws/v1/inference", Endpoint("http", EP, None), "/api-ws/v1/inference"),
        (f"wss://vpc-cn-beijing.dashscope.aliyuncs.com/api-ws/v1/realtime", Endpoint("https", "vpc-cn-beijing.dashscope.aliyuncs.com", None), "/api-ws/v1/realtime"),
        (f"https://vpc-cn-beijing.dashscope.aliyuncs.com:8443/apps/anthropic", Endpoint("https", "vpc-cn-beijing.dashscope.aliyuncs.com", 8443), "/apps/anthropic"),
        (f"{EP}/compatible-mode/v1", Endpoint(None, EP, None), "/compatible-mode/v1"),
        (f"http://{EP}/", Endpoint("http", EP, None), None),
        (EP, Endpoint(None, EP, None), None),
    ],
)
def test_guide_base_urls_are_taken_as_scheme_host_and_port(value, expected, dropped):
    assert parse_endpoint(value) == expected
    assert endpoint_base_path(value) == dropped
    assert load({ENDPOINT: value}) == load({ENDPOINT: str(expected)})  # the same configuration as the bare value


@pytest.mark.parametrize("path", BASE_PATHS)
def test_every_base_path_is_accepted(path):
    assert parse_endpoint(f"http://{EP}{path}") == Endpoint("http", EP, None)


def test_masked_placeholder_message_says_what_to_do():
    with pytest.raises(ConfigError, match="copy the real default service domain"):
        parse_endpoint("http://ep-2zei6917b47eed******.dashscope.cn-beijing.privatelink.aliyuncs.com")


@pytest.mark.parametrize(
    "endpoint, host",
    [
        (EP, "dashscope.aliyuncs.com"),
        ("ep-zm0i0c6d276715abcdef.epsrv-zm0qfzkk1lcxfr3efci8.cn-shanghai-finance-1.privatelink.aliyuncs.com", "dashscope.aliyuncs.com"),
        ("ep-abc.dashscope.ap-southeast-1.privatelink.aliyuncs.com", "dashscope-intl.aliyuncs.com"),
        ("ep-abc.dashscope.cn-hongkong.privatelink.aliyuncs.com", "cn-hongkong.dashscope.aliyuncs.com"),
        ("vpc-cn-beijing.dashscope.aliyuncs.com", "dashscope.aliyuncs.com"),
        ("10.1.2.3", "dashscope.aliyuncs.com"),
        ("llm-gateway.corp.internal", "dashscope.aliyuncs.com"),
    ],
)
def test_default_hosts_follow_the_region(endpoint, host):
    config = load({ENDPOINT: endpoint})
    assert config.hosts == HostSet(frozenset([host]))


def test_explicit_hosts_and_wildcards():
    hosts = parse_hosts(" dashscope.aliyuncs.com, *.MAAS.aliyuncs.com ,dashscope-intl.aliyuncs.com.", HOSTS)
    assert "dashscope.aliyuncs.com" in hosts
    assert "dashscope-intl.aliyuncs.com" in hosts
    assert "ws1.cn-beijing.maas.aliyuncs.com" in hosts
    assert "maas.aliyuncs.com" not in hosts  # a wildcard never matches the bare suffix
    assert "xmaas.aliyuncs.com" not in hosts


@pytest.mark.parametrize("value", ["https://dashscope.aliyuncs.com", "dashscope.aliyuncs.com/api", "dashscope.aliyuncs.com:443", "*", "*.com", "dash*scope.aliyuncs.com", ",", "a b.com"])
def test_bad_hosts_rejected(value):
    with pytest.raises(ConfigError, match=HOSTS):
        parse_hosts(value, HOSTS)


def test_unset_empty_and_kill_switch_mean_off():
    assert load({}) is None
    assert load({ENDPOINT: ""}) is None
    assert load({ENDPOINT: EP, "DASHSCOPE_PRIVATE_DISABLE": "1"}) is None
    assert load({ENDPOINT: EP, "DASHSCOPE_PRIVATE_DISABLE": "0"}) is not None


@pytest.mark.parametrize(
    "variable, value",
    [
        ("DASHSCOPE_PRIVATE_DISABLE", "maybe"),
        ("DASHSCOPE_PRIVATE_STRICT", "2"),
        ("DASHSCOPE_PRIVATE_LOG", "verbose"),
        ("DASHSCOPE_PRIVATE_OSS", "external"),
        ("DASHSCOPE_PRIVATE_DISABLED_INTEGRATIONS", "openai,pycurl"),
        ("DASHSCOPE_PRIVATE_ALLOW", "https://x.example"),
        ("DASHSCOPE_PRIVATE_HOSTS", "http://dashscope.aliyuncs.com"),
    ],
)
def test_every_variable_is_validated_and_named(variable, value):
    with pytest.raises(ConfigError) as info:
        load({ENDPOINT: EP, variable: value})
    assert str(info.value).startswith(variable + ": ")


def test_other_variables_parse():
    config = load(
        {
            ENDPOINT: EP,
            "DASHSCOPE_PRIVATE_DISABLED_INTEGRATIONS": "OpenAI, websocket_client",
            "DASHSCOPE_PRIVATE_LOG": "DEBUG",
            "DASHSCOPE_PRIVATE_STRICT": "true",
            "DASHSCOPE_PRIVATE_OSS": "internal",
            "DASHSCOPE_PRIVATE_ALLOW": "dashscope-us.aliyuncs.com",
        }
    )
    assert config.disabled_integrations == {"openai", "websocket-client"}
    assert config.log_level == "debug"
    assert config.strict is True
    assert config.oss == "internal"
    assert "dashscope-us.aliyuncs.com" in config.allow
    sources = dict(config.sources)
    assert sources[ENDPOINT] == "environment"
    assert sources[HOSTS] == "default (inferred from region cn-beijing)"


def test_overrides_win_and_are_recorded():
    config = load({ENDPOINT: EP}, {ENDPOINT: "http://127.0.0.1:9", HOSTS: ["dashscope.aliyuncs.com", "dashscope-us.aliyuncs.com"], "DASHSCOPE_PRIVATE_STRICT": True})
    assert config.endpoint == Endpoint("http", "127.0.0.1", 9)
    assert config.strict
    assert dict(config.sources)[ENDPOINT] == "activate()"


def test_config_is_immutable():
    config = load({ENDPOINT: EP})
    with pytest.raises(AttributeError):
        config.strict = True  # type: ignore[misc]


@settings(max_examples=1000, deadline=None)
@given(st.text(max_size=80))
def test_any_endpoint_text_parses_or_gives_one_line_naming_the_variable(value):
    try:
        endpoint = parse_endpoint(value)
    except ConfigError as exc:
        assert str(exc).startswith(ENDPOINT + ": ")
        assert "\n" not in str(exc)
    else:
        assert endpoint.host and endpoint.host == endpoint.host.lower()
        assert endpoint.host.isascii()
        # What we accept round-trips through its own string form.
        assert parse_endpoint(str(endpoint)) == endpoint


def test_readme_names_every_integration_that_can_be_disabled():
    """The Configuration table lists the valid names for DASHSCOPE_PRIVATE_DISABLED_INTEGRATIONS:
    exactly the registry's integrations (a new one is a row there)."""
    import os
    import re

    from dashscope_private.config import INTEGRATION_NAMES as NAMES
    from dashscope_private.config import DISABLED_INTEGRATIONS

    readme = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
    (row,) = [line for line in open(readme, encoding="utf-8") if line.startswith(f"| `{DISABLED_INTEGRATIONS}` |")]
    named = re.findall(r"`([a-z0-9-]+)`", row.split("|")[2])
    assert set(named) == set(NAMES), named
