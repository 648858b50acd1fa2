"""Routes: several endpoints in one process (DASHSCOPE_PRIVATE_ROUTES, a TOML file), decided per host.

The pure core only: parsing, precedence, the endpoint predicate over every
endpoint, and a fuzz of the rewrite with two routes against an independent
oracle. The stacks are proven with unchanged programs in
``test_zero_code_routes.py``; ``doctor`` in ``test_doctor_families.py``.
"""

from __future__ import annotations

import os
import sys

import pytest

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from dashscope_private.config import CONFIG, ENDPOINT, HOSTS, ROUTES, STRICT, load  # noqa: E402
from dashscope_private.errors import ConfigError, PublicEgressBlocked  # noqa: E402
from dashscope_private.routing import ANY_PORT, Router, split_url  # noqa: E402
from support import dns_label, url_strategy  # noqa: E402

BJ = "ep-bj.dashscope.cn-beijing.privatelink.aliyuncs.com"
SG = "ep-sg.dashscope.ap-southeast-1.privatelink.aliyuncs.com"
WS = "vpc-cn-beijing.dashscope.aliyuncs.com"


def router(**environ: str) -> Router:
    config = load(environ)
    assert config is not None
    return Router(config)


# ------------------------------------------------------------------ parsing


def test_routes_alone_activate_and_name_their_endpoints():
    config = load({ROUTES: f"dashscope.aliyuncs.com=http://{BJ}/compatible-mode/v1, dashscope-intl.aliyuncs.com={SG}"})
    assert config.endpoint is None and not config.hosts
    assert [(p, str(e)) for p, e in config.routing_table()] == [("dashscope.aliyuncs.com", f"http://{BJ}"), ("dashscope-intl.aliyuncs.com", SG)]
    assert dict(config.sources)[ROUTES] == "environment"


@pytest.mark.parametrize(
    "value, problem",
    [
        ("dashscope.aliyuncs.com", "has no '='"),
        (f"dashscope.aliyuncs.com={BJ},dashscope.aliyuncs.com={SG}", "routed twice"),
        (f"*.com={BJ}", "too broad"),
        (f"https://dashscope.aliyuncs.com={BJ}", "is not a host name"),
        ("dashscope.aliyuncs.com=http://ep-2zei6917b47eed******.dashscope.cn-beijing.privatelink.aliyuncs.com", "masked placeholder"),
        ("dashscope.aliyuncs.com=", "the value is empty"),
        (" , ", "names no route"),
    ],
)
def test_a_bad_route_is_an_error_naming_the_variable(value, problem):
    with pytest.raises(ConfigError) as raised:
        load({ROUTES: value})
    assert raised.value.variable == ROUTES and problem in str(raised.value)
    assert "\n" not in str(raised.value)


def test_an_endpoint_error_inside_a_route_names_the_route():
    with pytest.raises(ConfigError) as raised:
        load({ROUTES: f"dashscope.aliyuncs.com={BJ},dashscope-intl.aliyuncs.com=http://{SG}/v2"})
    assert raised.value.variable == ROUTES
    assert str(raised.value).startswith(f"{ROUTES}: route 'dashscope-intl.aliyuncs.com': the path '/v2' is not allowed")


# ------------------------------------------------------------------ precedence


def test_a_route_wins_for_its_hosts_and_the_endpoint_covers_the_rest():
    r = router(**{ENDPOINT: BJ, HOSTS: "dashscope.aliyuncs.com,dashscope-us.aliyuncs.com", ROUTES: f"dashscope-us.aliyuncs.com={SG}"})
    assert r.rewrite("https://dashscope.aliyuncs.com/api/v1/x") == f"http://{BJ}/api/v1/x"
    assert r.rewrite("https://dashscope-us.aliyuncs.com/api/v1/x") == f"http://{SG}/api/v1/x"


def test_an_exact_host_beats_a_wildcard_and_a_longer_suffix_a_shorter_one():
    r = router(**{ROUTES: f"*.maas.aliyuncs.com={BJ},*.ap-southeast-1.maas.aliyuncs.com={SG},special.ap-southeast-1.maas.aliyuncs.com=https://{WS}"})
    assert r.rewrite("https://ws-1.cn-beijing.maas.aliyuncs.com/x") == f"http://{BJ}/x"
    assert r.rewrite("https://ws-1.ap-southeast-1.maas.aliyuncs.com/x") == f"http://{SG}/x"
    assert r.rewrite("https://special.ap-southeast-1.maas.aliyuncs.com/x") == f"https://{WS}/x"
    assert r.rewrite("https://maas.aliyuncs.com/x") == "https://maas.aliyuncs.com/x"  # a wildcard never matches its bare suffix


def test_each_route_keeps_its_own_scheme_policy():
    """ep-* speaks plain HTTP; a custom domain keeps the request's scheme; an explicit scheme wins."""
    r = router(**{ROUTES: f"dashscope.aliyuncs.com={BJ},dashscope-intl.aliyuncs.com={WS},dashscope-us.aliyuncs.com=https://127.0.0.1:8443"})
    assert r.rewrite("wss://dashscope.aliyuncs.com/api-ws/v1/inference") == f"ws://{BJ}/api-ws/v1/inference"
    assert r.rewrite("wss://dashscope-intl.aliyuncs.com/api-ws/v1/inference") == f"wss://{WS}/api-ws/v1/inference"
    assert r.rewrite("http://dashscope-us.aliyuncs.com/x") == "https://127.0.0.1:8443/x"


def test_strict_refuses_an_unrouted_workspace_domain_and_allow_lets_it_pass():
    r = router(**{ROUTES: f"dashscope.aliyuncs.com={BJ}", STRICT: "1"})
    with pytest.raises(PublicEgressBlocked):
        r.rewrite("https://ws-1.cn-beijing.maas.aliyuncs.com/compatible-mode/v1/chat/completions")
    allowed = router(**{ROUTES: f"dashscope.aliyuncs.com={BJ}", STRICT: "1", "DASHSCOPE_PRIVATE_ALLOW": "*.cn-beijing.maas.aliyuncs.com"})
    assert allowed.rewrite("https://ws-1.cn-beijing.maas.aliyuncs.com/x") == "https://ws-1.cn-beijing.maas.aliyuncs.com/x"


def test_the_endpoint_predicate_knows_every_endpoint_and_its_port():
    """Two loopback endpoints on one host, told apart by port (the tests' stand-ins are exactly that)."""
    r = router(**{ROUTES: "dashscope-us.aliyuncs.com=http://127.0.0.1:8001,dashscope-intl.aliyuncs.com=http://127.0.0.1:8002", ENDPOINT: BJ})
    for port in (8001, 8002):
        assert r.is_endpoint("127.0.0.1", port, 80)
    assert not r.is_endpoint("127.0.0.1", 8003, 80)
    assert r.is_endpoint("127.0.0.1") and r.is_endpoint(b"127.0.0.1", ANY_PORT)
    assert r.is_endpoint(BJ.upper() + ".", 80, 80) and not r.is_endpoint(BJ, 8080, 80) and not r.is_endpoint(BJ + "..")
    assert r.url_is_endpoint("http://127.0.0.1:8002/x") and not r.url_is_endpoint("http://127.0.0.1:8003/x")
    assert r.url_is_endpoint("http://127.0.0.1:8003/x", any_port=True)
    assert r.rewrite("http://127.0.0.1:8001/x") == "http://127.0.0.1:8001/x"  # an endpoint passes untouched


# ------------------------------------------------------------------ the settings file


def write(tmp_path, text: str) -> str:
    path = tmp_path / "dashscope-private.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_toml_file_routes_and_sets_the_rest(tmp_path):
    path = write(tmp_path, f'''
strict = true
allow = ["dashscope-us.aliyuncs.com"]
disabled_integrations = ["dspy"]
log = "debug"

[routes]
"dashscope.aliyuncs.com" = "http://{BJ}/api/v1"
"dashscope-intl.aliyuncs.com" = "{SG}"
''')
    config = load({CONFIG: path})
    assert [(p, e.host) for p, e in config.routing_table()] == [("dashscope.aliyuncs.com", BJ), ("dashscope-intl.aliyuncs.com", SG)]
    assert config.strict and "dashscope-us.aliyuncs.com" in config.allow and config.disabled_integrations == {"dspy"} and config.log_level == "debug"
    assert dict(config.sources)[STRICT] == f"file {path}"


def test_the_environment_overrides_the_file_key_by_key_and_route_by_route(tmp_path):
    path = write(tmp_path, f'strict = true\n[routes]\n"dashscope.aliyuncs.com" = "{BJ}"\n"dashscope-intl.aliyuncs.com" = "{BJ}"\n')
    config = load({CONFIG: path, STRICT: "0", ROUTES: f"dashscope-intl.aliyuncs.com={SG}"})
    assert not config.strict
    assert dict((p, e.host) for p, e in config.routing_table()) == {"dashscope-intl.aliyuncs.com": SG, "dashscope.aliyuncs.com": BJ}


@pytest.mark.parametrize(
    "text, named",
    [
        ("strict = 'yes'\n[routes]\n'dashscope.aliyuncs.com' = 'x.example'\n", "key 'strict': must be true or false"),
        ("colour = 'blue'\n", "key 'colour': is not a setting"),
        ("routes = 'dashscope.aliyuncs.com=x'\n", "key 'routes': must be a table"),
        ("[routes]\n'dashscope.aliyuncs.com' = 1\n", "[routes] key 'dashscope.aliyuncs.com': the endpoint must be a string"),
        ("[routes]\n'dashscope.aliyuncs.com' = 'http://ep-x/v9'\n", "[routes] key 'dashscope.aliyuncs.com': the path '/v9' is not allowed"),
        ("[routes]\n'*.com' = 'ep.example'\n", "[routes] key '*.com': the wildcard '*.com' is too broad"),
        ("oss = 'sideways'\n[routes]\n'dashscope.aliyuncs.com' = 'x.example'\n", "key 'oss': 'sideways' is not one of"),
        ("strict = true\n", "names no endpoint and no route"),
        ("[routes\n", "is not valid TOML"),
    ],
)
def test_a_bad_file_fails_with_one_line_naming_the_file_and_the_key(tmp_path, text, named):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load({CONFIG: path})
    message = str(raised.value)
    assert raised.value.variable == CONFIG and repr(path) in message, message
    assert named in message and "\n" not in message, message


def test_an_unreadable_file_names_it(tmp_path):
    missing = str(tmp_path / "missing.toml")
    with pytest.raises(ConfigError) as raised:
        load({CONFIG: missing})
    assert raised.value.variable == CONFIG and f"cannot read {missing!r}" in str(raised.value)


def test_the_file_is_read_only_when_its_variable_is_set():
    code = (
        "import sys; from dashscope_private.config import load; "
        f"load({{'DASHSCOPE_PRIVATE_ENDPOINT': '{BJ}'}}); "
        "print(sorted(m for m in ('tomllib', 'tomli', 'dashscope_private.config_file') if m in sys.modules))"
    )
    import subprocess

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert done.returncode == 0 and done.stdout.strip() == "[]", done


# ------------------------------------------------------------------ fuzz: two routes, no misroute

EXACT = {"dashscope.aliyuncs.com": BJ, "dashscope-intl.aliyuncs.com": SG, "special.cn-beijing.maas.aliyuncs.com": SG}
SUFFIXES = ((".cn-beijing.maas.aliyuncs.com", BJ), (".maas.aliyuncs.com", SG))  # longest first


def oracle(host: str) -> str | None:
    """Where a normalized host should go, written independently of the router."""
    if host in EXACT:
        return EXACT[host]
    for suffix, endpoint in SUFFIXES:
        if host.endswith(suffix):
            return endpoint
    return None


ROUTES_VALUE = ",".join(f"{p}={e}" for p, e in EXACT.items()) + "," + ",".join(f"*{s}={e}" for s, e in SUFFIXES)
label = dns_label()
host = st.one_of(
    st.sampled_from(list(EXACT) + [h.upper() + "." for h in EXACT] + ["maas.aliyuncs.com", "cn-beijing.maas.aliyuncs.com", "dashscope-us.aliyuncs.com", BJ, SG]),
    label.map(lambda w: f"{w}.cn-beijing.maas.aliyuncs.com"),
    label.map(lambda w: f"{w}.ap-southeast-1.maas.aliyuncs.com"),
    label.map(lambda w: f"{w}.maas.aliyuncs.com.{w}.example"),
    label.map(lambda w: f"{w}dashscope-intl.aliyuncs.com"),
    label.map(lambda w: f"dashscope.aliyuncs.com.{w}"),
)
url = url_strategy(host)


ROUTER = Router(load({ROUTES: ROUTES_VALUE}))


def test_two_routes_never_misroute():
    """Over 2,500 generated URLs: each stays byte for byte, or goes to the endpoint the oracle names for its host."""
    counts = {"urls": 0, "redirected": {BJ: 0, SG: 0}, "misrouted": 0}

    @settings(max_examples=2500, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.one_of(url, st.text(max_size=60)))
    def check(text: str) -> None:
        counts["urls"] += 1
        new = ROUTER.rewrite(text)
        parts = split_url(text)
        expected = oracle(parts.host) if parts is not None else None
        if new == text:
            assert expected is None, (text, expected)
            return
        new_parts = split_url(new)
        if expected is None or new_parts.host != expected:
            counts["misrouted"] += 1
        assert expected is not None and new_parts.host == expected, (text, new)
        counts["redirected"][expected] += 1
        assert new[new_parts[4]:] == text[parts[4]:] and new_parts[1] == parts[1]  # only scheme and host change
        assert ROUTER.rewrite(new) == new

    check()
    print(f"routes fuzz: {counts}")
    assert counts["urls"] >= 2000 and all(counts["redirected"].values()) and counts["misrouted"] == 0, counts


# ------------------------------------------------------------------ in a process: activate(routes=...)


def test_activate_with_routes_sends_each_host_to_its_endpoint_and_exports_them(standin):
    """Real requests and httpx against two loopback stand-ins; the routes are exported for child processes."""
    requests = pytest.importorskip("requests")
    httpx = pytest.importorskip("httpx")
    import dashscope_private
    from dashscope_private.standin import StandIn

    with StandIn() as second:
        try:
            dashscope_private.activate(routes={"dashscope.aliyuncs.com": standin.url, "dashscope-intl.aliyuncs.com": second.url})
            assert os.environ[ROUTES] == f"dashscope.aliyuncs.com={standin.url},dashscope-intl.aliyuncs.com={second.url}"
            path = "/compatible-mode/v1/chat/completions"
            body = {"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]}
            assert requests.post("https://dashscope.aliyuncs.com" + path, json=body, timeout=10).status_code == 200
            assert httpx.post("https://dashscope-intl.aliyuncs.com" + path, json=body, timeout=10).status_code == 200
            assert requests.post("https://DashScope-Intl.aliyuncs.com." + path, json=body, timeout=10).status_code == 200
        finally:
            dashscope_private.deactivate()
        assert ROUTES not in os.environ
        assert [(r.path, r.host) for r in standin.records] == [(path, standin.netloc)]
        assert [(r.path, r.host) for r in second.records] == [(path, second.netloc)] * 2
