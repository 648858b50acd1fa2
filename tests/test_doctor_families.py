"""doctor per route and per API family: reached, not served, refused; routes-only settings; --host.

Every endpoint here is a real loopback server (the stand-in, a socket that never answers) or a
loopback port nothing listens on; doctor runs as users run it where the shape of its output matters.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from dashscope_private._support.standin_http import FAMILIES as STANDIN_FAMILIES
from dashscope_private._support.standin_http import family_of
from dashscope_private.cli import probes
from dashscope_private.cli.doctor import check_endpoint, host_route
from dashscope_private.config import ROUTES, STRICT, load
from dashscope_private.routing import Router
from dashscope_private.standin import StandIn
from support import cli

FAMILY_NAMES = list(probes.FAMILIES)
ALL_REACHED = {family: "reached" for family in FAMILY_NAMES}
WORKSPACE = "ws-abc.cn-beijing.maas.aliyuncs.com"


def results(route: dict) -> dict:
    return {family: found["result"] for family, found in route["families"].items()}


def endpoint_of(url: str):
    (endpoint,) = load({ROUTES: f"dashscope.aliyuncs.com={url}"}).endpoints()
    return endpoint


@pytest.fixture
def closed_port():
    """A loopback port bound but not listening: connections are refused at once (and nobody else takes it)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def test_the_probes_ask_each_family_on_a_path_of_that_family():
    """doctor's families and the stand-in's are the same names, and each probe's path belongs to its family."""
    assert tuple(FAMILY_NAMES) == STANDIN_FAMILIES
    for family, (_method, path, _body, websocket) in probes.FAMILIES.items():
        assert family_of(path) == family, (family, path)
        assert websocket == path.startswith("/api-ws/")


def test_two_routes_every_family_reached_json_and_text():
    """Two stand-ins as two routes, no DASHSCOPE_PRIVATE_ENDPOINT: each route's endpoint answers each family."""
    with StandIn() as a, StandIn() as b:
        env = {ROUTES: f"dashscope.aliyuncs.com={a.url},dashscope-intl.aliyuncs.com={b.url}", "DASHSCOPE_API_KEY": "sk-never-printed-789"}
        result = cli("doctor", "--probe", "--json", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        report = json.loads(result.stdout)
        assert report["config"]["endpoint"] is None
        assert report["config"]["routes"] == {"dashscope.aliyuncs.com": a.url, "dashscope-intl.aliyuncs.com": b.url}
        routes = {route["pattern"]: route for route in report["routes"]}
        assert set(routes) == {"dashscope.aliyuncs.com", "dashscope-intl.aliyuncs.com"}
        for pattern, standin in (("dashscope.aliyuncs.com", a), ("dashscope-intl.aliyuncs.com", b)):
            route = routes[pattern]
            assert route["endpoint"] == standin.url and route["dns"]["addresses"] == ["127.0.0.1"] and route["tcp"]["error"] is None
            assert results(route) == ALL_REACHED, route
            assert route["families"]["realtime"]["status"] == 101 and route["families"]["chat"]["status"] == 200
            assert all(isinstance(found["ms"], float) and found["error"] is None for found in route["families"].values())
            # Each family's request reached this route's own endpoint, once, with the key as a Bearer token.
            asked = [r for r in standin.records if r.path.split("?")[0] in {p.split("?")[0] for _, p, _, _ in probes.FAMILIES.values()}]
            assert sorted(family_of(r.path) for r in asked) == sorted(FAMILY_NAMES), [r.path for r in asked]
            assert all(r.authorization and r.headers["Authorization"] == "Bearer sk-never-printed-789" for r in asked)
        assert "dns" not in report and "probe" not in report  # two endpoints: only per route
        assert report["verdict"] == f"ok: DashScope traffic will go through {a.url}, {b.url}"
        assert "sk-never-printed-789" not in result.stdout + result.stderr
        # The libraries were checked with the routing table (no endpoint to hand the child).
        assert all(info["version"] is None or info["disabled"] or info["ok"] for info in report["libraries"].values()), report["libraries"]

        text = cli("doctor", "--probe", env=env)
    assert text.returncode == 0, text.stdout
    every = ", ".join(f"{family} reached" for family in FAMILY_NAMES)
    assert f"  route dashscope.aliyuncs.com -> {a.url}: {every}" in text.stdout.splitlines()
    assert f"  route dashscope-intl.aliyuncs.com -> {b.url}: {every}" in text.stdout.splitlines()
    assert f"endpoint {a.url}:" in text.stdout and f"endpoint {b.url}:" in text.stdout


def test_routes_sharing_an_endpoint_share_one_check():
    with StandIn() as a:
        env = {ROUTES: f"dashscope.aliyuncs.com={a.url},*.cn-beijing.maas.aliyuncs.com={a.url}"}
        report = json.loads(cli("doctor", "--probe", "--json", env=env).stdout)
        models = [r for r in a.records if r.path == "/compatible-mode/v1/models"]
    assert len(models) == 1  # one endpoint, asked once
    first, second = report["routes"]
    assert (first["pattern"], second["pattern"]) == ("dashscope.aliyuncs.com", "*.cn-beijing.maas.aliyuncs.com")
    assert first["families"] == second["families"] and results(first) == ALL_REACHED
    assert report["probe"]["status"] == 200 and report["dns"]["addresses"] == ["127.0.0.1"]  # one endpoint: the keys from before routes


def test_a_family_not_served_is_a_warning_not_a_problem():
    with StandIn() as a, StandIn(not_served={"anthropic", "realtime"}) as b:
        env = {ROUTES: f"dashscope.aliyuncs.com={a.url},dashscope-intl.aliyuncs.com={b.url}"}
        result = cli("doctor", "--probe", "--json", env=env)
        text = cli("doctor", "--probe", env=env).stdout
    assert result.returncode == 0, result.stdout
    report = json.loads(result.stdout)
    routes = {route["pattern"]: route for route in report["routes"]}
    assert results(routes["dashscope.aliyuncs.com"]) == ALL_REACHED
    assert results(routes["dashscope-intl.aliyuncs.com"]) == {**ALL_REACHED, "anthropic": "not served", "realtime": "not served"}
    anthropic = routes["dashscope-intl.aliyuncs.com"]["families"]["anthropic"]
    assert anthropic["status"] == 404 and "/apps/anthropic/v1/messages" in anthropic["error"]
    assert report["problems"] == []
    (warning,) = [w for w in report["warnings"] if "not served" in w]
    assert warning == f"probe {b.url} (route dashscope-intl.aliyuncs.com): not served: realtime, anthropic (HTTP 404): requests of those API families through this route fail"
    assert f"route dashscope-intl.aliyuncs.com -> {b.url}: " in text and "realtime not served" in text and "anthropic not served" in text
    assert "! probe " in text


def test_a_route_to_a_closed_port_is_refused_fast(closed_port):
    with StandIn() as a:
        refused = f"http://127.0.0.1:{closed_port}"
        env = {ROUTES: f"dashscope.aliyuncs.com={a.url},dashscope-intl.aliyuncs.com={refused}"}
        start = time.monotonic()
        result = cli("doctor", "--probe", "--json", env=env)
        elapsed = time.monotonic() - start
    assert result.returncode == 1, result.stdout
    report = json.loads(result.stdout)
    routes = {route["pattern"]: route for route in report["routes"]}
    assert results(routes["dashscope.aliyuncs.com"]) == ALL_REACHED
    bad = routes["dashscope-intl.aliyuncs.com"]
    assert results(bad) == {family: "refused" for family in FAMILY_NAMES}
    assert bad["tcp"]["error"] and all("TCP connect" in found["error"] and found["status"] is None for found in bad["families"].values())
    assert any(p.startswith(f"TCP: cannot connect to 127.0.0.1:{closed_port}") for p in report["problems"]), report["problems"]
    assert bad["ms"] < 10_000 and elapsed < 60, (bad["ms"], elapsed)  # the route, as doctor timed it; the command, child check included
    start = time.monotonic()
    alone = check_endpoint(endpoint_of(refused), probe=True)
    assert time.monotonic() - start < 2, "a refused connection is known at once"
    assert results(alone) == results(bad)


def test_an_endpoint_that_never_answers_is_refused_within_the_budget():
    """A server that accepts connections and says nothing (a black hole): every family times out, at the same time."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(32)
    held, stop = [], threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        start = time.monotonic()
        found = check_endpoint(endpoint_of(f"http://127.0.0.1:{listener.getsockname()[1]}"), probe=True)
        elapsed = time.monotonic() - start
    finally:
        stop.set()
        thread.join()
        for sock in held:
            sock.close()
        listener.close()
    assert found["tcp"]["error"] is None
    assert {family: f["result"] for family, f in found["families"].items()} == {family: "refused" for family in FAMILY_NAMES}
    assert all("timed out" in f["error"] or "no answer" in f["error"] for f in found["families"].values()), found["families"]
    assert elapsed < 10, elapsed
    assert elapsed >= probes.FAMILY_TIMEOUT * 0.9  # it did wait for the answers, concurrently, not one after another


def test_server_errors_refuse_and_auth_errors_reach():
    """5xx: the family is not there behind the endpoint (a problem); 401: the service answered (a missing key)."""
    with StandIn(status=503) as failing, StandIn(status=401) as unauthorised:
        broken = check_endpoint(endpoint_of(failing.url), probe=True)["families"]
        answered = check_endpoint(endpoint_of(unauthorised.url), probe=True)["families"]
    http_families = [f for f, (_, _, _, ws) in probes.FAMILIES.items() if not ws]
    assert {f: broken[f]["result"] for f in http_families} == {f: "refused" for f in http_families}
    assert broken["chat"] == {**broken["chat"], "status": 503, "error": "HTTP 503"}
    assert {f: x["result"] for f, x in answered.items()} == ALL_REACHED
    assert answered["files"]["status"] == 401 and answered["ws-inference"]["status"] == 101


def test_a_plain_http_answer_to_a_websocket_handshake_is_not_served():
    """A server that answers the upgrade with 200 (no WebSocket there) does not serve the WebSocket families."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def answer() -> None:
        for _ in range(2):
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        found = {f: probes.probe_family(f, "http", "127.0.0.1", server.getsockname()[1], timeout=3) for f in ("ws-inference", "realtime")}
    finally:
        thread.join(5)
        server.close()
    assert {f: x["result"] for f, x in found.items()} == {"ws-inference": "not served", "realtime": "not served"}
    assert found["realtime"]["status"] == 200 and "no WebSocket upgrade" in found["realtime"]["error"]


def test_no_key_no_authorization_header(monkeypatch):
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    with StandIn() as a:
        found = probes.probe_families("http", a.host, a.port)
        records = a.records
    assert {f: x["result"] for f, x in found.items()} == ALL_REACHED
    assert len(records) == len(FAMILY_NAMES) and not any(r.authorization for r in records)


def test_routes_from_a_settings_file(tmp_path):
    with StandIn() as a, StandIn(not_served={"files", "batches"}) as b:
        path = tmp_path / "dashscope-private.toml"
        path.write_text(f'[routes]\n"dashscope.aliyuncs.com" = "{a.url}"\n"*.cn-beijing.maas.aliyuncs.com" = "{b.url}"\n')
        result = cli("doctor", "--probe", "--json", "--host", WORKSPACE, env={"DASHSCOPE_PRIVATE_CONFIG": str(path)})
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    routes = {route["pattern"]: route for route in report["routes"]}
    assert results(routes["*.cn-beijing.maas.aliyuncs.com"]) == {**ALL_REACHED, "files": "not served", "batches": "not served"}
    assert report["host_routes"][0]["route"] == "*.cn-beijing.maas.aliyuncs.com" and report["host_routes"][0]["endpoint"] == b.url


def test_without_probe_only_dns_and_tcp(closed_port):
    with StandIn() as a:
        env = {ROUTES: f"dashscope.aliyuncs.com={a.url},dashscope-intl.aliyuncs.com=http://127.0.0.1:{closed_port}"}
        result = cli("doctor", "--json", env=env)
        assert a.records == []  # nothing but a TCP connection
    report = json.loads(result.stdout)
    assert result.returncode == 1
    assert [route["families"] for route in report["routes"]] == [{}, {}]
    assert report["routes"][0]["tcp"]["error"] is None and report["routes"][1]["tcp"]["error"]


# ------------------------------------------------------------------ --host: which route a workspace host takes


def _host(text: str, settings: dict) -> dict:
    config = load(settings)
    return host_route(text, config, Router(config))


def test_host_takes_the_wildcard_route_of_its_region():
    settings = {ROUTES: "dashscope.aliyuncs.com=http://127.0.0.1:8001,*.cn-beijing.maas.aliyuncs.com=http://127.0.0.1:8002,*.maas.aliyuncs.com=http://127.0.0.1:8003"}
    entry = _host(WORKSPACE, settings)
    assert entry == {**entry, "decision": "redirected", "route": "*.cn-beijing.maas.aliyuncs.com", "endpoint": "http://127.0.0.1:8002"}
    assert entry["url"] == "http://127.0.0.1:8002/compatible-mode/v1/chat/completions"
    assert _host("ws-abc.ap-southeast-1.maas.aliyuncs.com", settings)["route"] == "*.maas.aliyuncs.com"  # the shorter suffix
    assert _host("https://WS-ABC.cn-beijing.maas.aliyuncs.com./compatible-mode/v1", settings)["route"] == "*.cn-beijing.maas.aliyuncs.com"
    assert _host("dashscope.aliyuncs.com", settings)["route"] == "dashscope.aliyuncs.com"


def test_host_without_a_route_stays_public_or_is_refused_in_strict_mode():
    settings = {ROUTES: "dashscope.aliyuncs.com=http://127.0.0.1:8001"}
    public = _host(WORKSPACE, settings)
    assert public["decision"] == "public" and public["route"] is None and public["endpoint"] is None
    blocked = _host(WORKSPACE, {**settings, STRICT: "1"})
    assert blocked["decision"] == "blocked" and WORKSPACE in blocked["detail"]
    assert _host("example.com", settings)["decision"] == "untouched"
    assert _host("not a host", settings)["decision"] == "invalid" and _host("ftp://x.example", settings)["decision"] == "invalid"
    assert _host("[::1]", settings)["decision"] == "untouched"


def test_host_option_as_users_run_it():
    with StandIn() as a, StandIn() as b:
        env = {ROUTES: f"dashscope.aliyuncs.com={a.url},*.cn-beijing.maas.aliyuncs.com={b.url}"}
        text = cli("doctor", "--host", WORKSPACE, "--host", "ws-x.ap-southeast-1.maas.aliyuncs.com", env=env)
        strict = cli("doctor", "--json", "--host", "ws-x.ap-southeast-1.maas.aliyuncs.com", env={**env, STRICT: "1"})
    assert text.returncode == 0, text.stdout
    lines = text.stdout.splitlines()
    assert f"  host {WORKSPACE}: route *.cn-beijing.maas.aliyuncs.com -> {b.url} (e.g. {b.url}/compatible-mode/v1/chat/completions)" in lines
    assert "  host ws-x.ap-southeast-1.maas.aliyuncs.com: no route: stays PUBLIC (warned); strict mode would refuse it" in lines
    (entry,) = json.loads(strict.stdout)["host_routes"]
    assert entry["decision"] == "blocked" and entry["route"] is None


def test_host_when_inactive_or_misconfigured():
    inactive = cli("doctor", "--json", "--host", WORKSPACE)
    assert inactive.returncode == 1
    (entry,) = json.loads(inactive.stdout)["host_routes"]
    assert entry["decision"] == "inactive" and entry["host"] == WORKSPACE
    broken = cli("doctor", "--host", WORKSPACE, env={ROUTES: "*.maas.aliyuncs.com"})
    assert broken.returncode == 2
    (line,) = [line for line in broken.stdout.splitlines() if line.startswith(f"  host {WORKSPACE}: ")]
    assert line.startswith(f"  host {WORKSPACE}: REFUSED (DASHSCOPE_PRIVATE_ROUTES"), line
