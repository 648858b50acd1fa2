"""The `dashscope-private` command: doctor (text and JSON, probe, exit codes), run, python -m."""

from __future__ import annotations

import json
import sys

import pytest

from dashscope_private.cli import _is_private_address
from dashscope_private.standin import StandIn
from support import cli


def test_doctor_json_against_a_working_endpoint(standin):
    result = cli("doctor", "--json", "--probe", env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url, "DASHSCOPE_API_KEY": "sk-never-printed-123"})
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["config"]["endpoint"] == standin.url
    assert report["config"]["hosts"] == ["dashscope.aliyuncs.com"]
    assert report["config"]["sources"]["DASHSCOPE_PRIVATE_ENDPOINT"] == "environment"
    assert report["urls"]["wss://dashscope.aliyuncs.com/api-ws/v1/inference"] == f"ws://{standin.netloc}/api-ws/v1/inference"
    assert report["dns"]["addresses"] == ["127.0.0.1"] and report["dns"]["not_private"] == []
    assert report["tcp"]["connect_ms"] is not None
    assert report["probe"] == {**report["probe"], "ok": True, "status": 200, "api_key_sent": True}
    for name, info in report["libraries"].items():
        assert info["version"] is None or info["disabled"] or info["ok"], (name, info)
    assert report["verdict"].startswith("ok")
    assert "sk-never-printed-123" not in result.stdout + result.stderr
    probe = [r for r in standin.records if r.path == "/compatible-mode/v1/models"]
    assert len(probe) == 1 and probe[0].authorization


def test_doctor_text_and_a_401_still_proves_the_path():
    with StandIn(status=401) as standin:
        result = cli("doctor", "--probe", env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url})
    assert result.returncode == 0, result.stdout
    assert "probe GET /compatible-mode/v1/models: HTTP 401" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("verdict: ok")


def test_doctor_reports_problems_with_exit_1():
    with StandIn(status=503) as standin:
        failing = cli("doctor", "--probe", env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url})
    assert failing.returncode == 1
    assert "✗ probe" in failing.stdout
    closed = cli("doctor", "--json", env={"DASHSCOPE_PRIVATE_ENDPOINT": "http://127.0.0.1:9"})
    assert closed.returncode == 1
    assert json.loads(closed.stdout)["tcp"]["error"]


def test_doctor_configuration_error_exit_2():
    result = cli("doctor", "--json", env={"DASHSCOPE_PRIVATE_ENDPOINT": "http://ep-x******.example/api/v1"})
    assert result.returncode == 2
    assert json.loads(result.stdout)["config_error"].startswith("DASHSCOPE_PRIVATE_ENDPOINT: ")


def test_doctor_unset_is_inactive():
    result = cli("doctor")
    assert result.returncode == 1 and "DASHSCOPE_PRIVATE_ENDPOINT is not set" in result.stdout


@pytest.mark.parametrize(
    "address, private",
    [("10.1.2.3", True), ("172.16.0.1", True), ("172.32.0.1", False), ("192.168.1.1", True), ("100.64.0.1", True), ("100.128.0.1", False),
     ("127.0.0.1", True), ("::1", True), ("fd00::1", True), ("47.93.1.1", False), ("2001:db8::1", False), ("::ffff:10.0.0.1", True)],
)
def test_private_address_classification(address, private):
    assert _is_private_address(address) is private


def test_run_requires_a_command_and_a_valid_endpoint():
    assert cli("run").returncode == 2
    bad = cli("run", "--endpoint", "ftp://x", "--", sys.executable, "-c", "pass")
    assert bad.returncode == 2 and "DASHSCOPE_PRIVATE_ENDPOINT: the scheme 'ftp'" in bad.stderr


def test_run_passes_exit_codes_and_activates(standin):
    pytest.importorskip("requests")
    code = "import requests, sys; sys.exit(requests.post('https://dashscope.aliyuncs.com/api/v1/x', json={}, timeout=10).status_code - 190)"
    result = cli("run", "--endpoint", standin.url, "--", sys.executable, "-c", code)
    assert result.returncode == 10, result.stderr  # 200 - 190: the request reached the stand-in
    assert [r.host for r in standin.records] == [standin.netloc]


def test_version_and_help():
    assert cli("--version").stdout.startswith("dashscope-private ")
    assert "doctor" in cli("--help").stdout


def test_doctor_lists_http_stacks_from_metadata(standin):
    """Installed stacks come from package metadata (nothing imported) with what happens to each."""
    result = cli("doctor", "--json", env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url, "DASHSCOPE_PRIVATE_DISABLED_INTEGRATIONS": "httpx"})
    report = json.loads(result.stdout)
    stacks = {row["name"]: row for row in report["stacks"]}
    assert stacks["urllib.request"]["coverage"] == "redirected"
    assert stacks["socket / asyncio"]["effective"] == "NOT redirected (blocked in strict mode only)"
    if "requests" in stacks:
        assert stacks["requests"]["effective"] == "redirected"
    if "httpx" in stacks:
        assert stacks["httpx"]["effective"] == "integration httpx disabled: NOT redirected"
    strict = json.loads(cli("doctor", "--json", env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url, "DASHSCOPE_PRIVATE_STRICT": "1"}).stdout)
    assert {row["name"]: row for row in strict["stacks"]}["socket / asyncio"]["effective"] == "blocked (strict mode)"
    text = cli("doctor", env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url}).stdout
    assert "HTTP stacks (from package metadata; nothing imported):" in text


def test_doctor_reports_the_stdlib_integration_as_present(standin):
    """``urllib`` patches the standard library (urllib.request, http.client): there is no distribution
    of that name to find, and it is always there; doctor must check it, not call it "not installed"."""
    report = json.loads(cli("doctor", "--json", env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url}).stdout)
    urllib = report["libraries"]["urllib"]
    assert urllib["version"] == "stdlib %d.%d" % sys.version_info[:2]
    assert urllib["ok"] is True and not urllib["disabled"], urllib
    text = cli("doctor", env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url}).stdout
    (line,) = [line for line in text.splitlines() if line.split()[:1] == ["urllib"]]
    assert line.split() == ["urllib", "stdlib", "%d.%d" % sys.version_info[:2], "ok"], line
    disabled = cli("doctor", env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url, "DASHSCOPE_PRIVATE_DISABLED_INTEGRATIONS": "urllib"}).stdout
    assert [line.split()[-1] for line in disabled.splitlines() if line.split()[:1] == ["urllib"]] == ["disabled"]


def test_installed_stacks_classifies_c_resolvers():
    from dashscope_private.stacks import installed_stacks

    rows = {row["name"]: row for row in installed_stacks([("PycURL", "7.45"), ("grpcio", "1.60"), ("Tornado", "6.4"), ("unrelated", "1")])}
    assert rows["pycurl"]["coverage"] == "not covered" and "C" in rows["pycurl"]["note"]
    assert rows["grpcio"]["coverage"] == "not covered"
    assert rows["tornado"]["coverage"] == "strict-only"
    assert "unrelated" not in rows


def test_installed_stacks_names_what_strict_modes_net_cannot_see():
    """README's "What is not covered": a SOCKS client and DNS clients that bypass socket's resolver."""
    from dashscope_private.stacks import installed_stacks

    rows = {row["name"]: row for row in installed_stacks([("PySocks", "1.7.1"), ("dnspython", "2.6"), ("aiodns", "3.2")])}
    assert rows["pysocks"]["coverage"] == "not covered" and "proxy" in rows["pysocks"]["note"]
    assert rows["dnspython"]["coverage"] == rows["aiodns"]["coverage"] == "not covered"
