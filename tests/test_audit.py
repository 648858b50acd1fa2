"""The audit trail (``DASHSCOPE_PRIVATE_AUDIT``) as users meet it, and its rules in-process.

The zero-code programs run from the wheel in a fresh venv, in a loopback-only network
namespace with the matrix's loopback guard: the stand-in runs inside the program, on the
port the environment names, and public requests fail without leaving the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time

import pytest
requests = pytest.importorskip("requests")  # the audit trail is shown on a real HTTP stack

import dashscope_private
from dashscope_private import _runtime, _state
from dashscope_private.config import VARIABLES, load
from dashscope_private.errors import ConfigError, PublicEgressBlocked

from venvs import run

CAN_ISOLATE = hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("unshare") and shutil.which("ip")
GUARD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stacks", "_guard")
FIELDS = {"time", "pid", "machine", "host", "decision", "target", "integration", "count"}
SECRETS = ("QUERYSECRET", "sk-HEADERSECRET", "HEADERVALUE", "sk-KEYSECRET", "services", "/api", "/compatible-mode", "?", "Authorization")
AUDIT = "DASHSCOPE_PRIVATE_AUDIT"
PORT = 18431  # the stand-in's port inside the program's own network namespace

PROGRAM = textwrap.dedent("""
    import os, sys
    from dashscope_private.standin import StandIn

    with StandIn(port=PORT):
        import requests, httpx, openai
        for _ in range(3):
            requests.get("https://dashscope.aliyuncs.com/api/v1/services/aigc/x?api_key=QUERYSECRET",
                         headers={"Authorization": "Bearer sk-HEADERSECRET", "X-Custom": "HEADERVALUE"})
        httpx.get("https://dashscope.aliyuncs.com/api/v1/tasks/QUERYSECRET")
        client = openai.OpenAI(api_key="sk-KEYSECRET", base_url="https://dashscope.aliyuncs.com/compatible-mode/v1")
        client.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "hi"}])
        for host in ("dashscope-intl.aliyuncs.com", "cn-hongkong.dashscope.aliyuncs.com"):
            try:
                requests.get("https://" + host + "/api/v1/x?q=QUERYSECRET", timeout=2)
            except Exception as exc:
                print(host, type(exc).__name__)
        pid = os.fork()
        if pid == 0:
            requests.get("https://dashscope.aliyuncs.com/api/v1/child")
            os._exit(0)  # as multiprocessing's children do: no exit flush, the first record is already written
        os.waitpid(pid, 0)
        print("parent", os.getpid(), "child", pid)
""").replace("PORT", str(PORT))


def _netns(python: str, program: str, env: dict, cwd) -> subprocess.CompletedProcess:
    return run("unshare", "--net", "sh", "-c", f"ip link set lo up && exec {python} {program}", env=env, cwd=str(cwd))


def _records(text: str) -> list:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _total(records, **match) -> int:
    return sum(r["count"] for r in records if all(r[k] == v for k, v in match.items()))


needs_netns = pytest.mark.skipif(not CAN_ISOLATE, reason="needs root, unshare and ip for a loopback-only network namespace")


@pytest.mark.slow
@needs_netns
def test_a_program_leaves_its_records_and_no_secret(user_venv, tmp_path):
    (tmp_path / "program.py").write_text(PROGRAM)
    audit = tmp_path / "audit.jsonl"
    env = {
        "DASHSCOPE_PRIVATE_ENDPOINT": f"http://127.0.0.1:{PORT}",
        "DASHSCOPE_PRIVATE_AUDIT": str(audit),
        "DASHSCOPE_PRIVATE_ALLOW": "cn-hongkong.dashscope.aliyuncs.com",
        "PYTHONPATH": GUARD,
    }
    result = _netns(user_venv, "program.py", env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    parent, child = (int(x) for x in result.stdout.split()[-3::2])
    text = audit.read_text()
    for secret in SECRETS:
        assert secret not in text, secret
    records = _records(text)
    assert len(records) == len(text.splitlines())  # one whole JSON object per line
    assert all(set(r) == FIELDS for r in records), records
    assert _total(records, pid=parent, decision="redirected", host="dashscope.aliyuncs.com", integration="requests") == 3
    redirected = {r["integration"] for r in records if r["decision"] == "redirected" and r["pid"] == parent}
    assert {"requests", "httpx"} <= redirected and redirected & {"openai", "httpx2"}, records
    assert {r["target"] for r in records if r["decision"] == "redirected"} == {"127.0.0.1"}
    assert any(r["decision"] == "public" and r["host"] == "dashscope-intl.aliyuncs.com" and r["target"] is None for r in records)
    assert any(r["decision"] == "allowed" and r["host"] == "cn-hongkong.dashscope.aliyuncs.com" for r in records)
    # the forked child starts its own counts: its one request, as its own first record
    assert _total(records, pid=child, decision="redirected") == 1
    # first occurrences are written at once, the rest at exit: the count of the first record is 1
    first = next(r for r in records if r["pid"] == parent and r["integration"] == "requests" and r["decision"] == "redirected")
    assert first["count"] == 1


@pytest.mark.slow
@needs_netns
def test_strict_blocks_are_recorded_and_stderr_works(user_venv, tmp_path):
    program = textwrap.dedent("""
        import socket, requests
        for call in (lambda: requests.get("https://dashscope-intl.aliyuncs.com/api/v1/x?q=QUERYSECRET"),
                     lambda: socket.getaddrinfo("dashscope-intl.aliyuncs.com", 443)):
            try:
                call()
            except Exception as exc:
                print(type(exc).__name__)
    """)
    (tmp_path / "program.py").write_text(program)
    env = {"DASHSCOPE_PRIVATE_ENDPOINT": "http://127.0.0.1:9", "DASHSCOPE_PRIVATE_STRICT": "1",
           "DASHSCOPE_PRIVATE_AUDIT": "stderr", "PYTHONPATH": GUARD}
    result = _netns(user_venv, "program.py", env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["PublicEgressBlocked", "PublicEgressBlocked"], result.stdout + result.stderr
    records = _records(result.stderr)
    blocked = {(r["host"], r["integration"]) for r in records if r["decision"] == "blocked"}
    assert blocked == {("dashscope-intl.aliyuncs.com", "requests"), ("dashscope-intl.aliyuncs.com", "strict-net")}, result.stderr
    assert "QUERYSECRET" not in result.stderr


def test_an_unwritable_file_is_logged_once_and_the_program_goes_on(tmp_path):
    code = textwrap.dedent("""
        import dashscope_private
        from dashscope_private.standin import StandIn
        with StandIn() as s:
            dashscope_private.activate(s.url, audit=AUDIT_PATH)
            import requests
            for _ in range(3):
                requests.get("https://dashscope.aliyuncs.com/api/v1/x")
                requests.get("https://dashscope.aliyuncs.com/api/v1/y")
            print(len(s.records))
    """).replace("AUDIT_PATH", repr(str(tmp_path / "missing" / "audit.jsonl")))
    result = run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "6"
    assert result.stderr.count("could not write the audit trail") == 1, result.stderr


def test_the_variable_is_validated_with_one_line_naming_it():
    assert AUDIT in VARIABLES
    assert load({"DASHSCOPE_PRIVATE_ENDPOINT": "http://127.0.0.1:9", AUDIT: "stderr"}).audit == "stderr"
    assert load({"DASHSCOPE_PRIVATE_ENDPOINT": "http://127.0.0.1:9", AUDIT: ""}).audit is None
    for bad in ("/var/log/", " audit.jsonl"):
        with pytest.raises(ConfigError) as info:
            load({"DASHSCOPE_PRIVATE_ENDPOINT": "http://127.0.0.1:9", AUDIT: bad})
        assert str(info.value).startswith(AUDIT) and "\n" not in str(info.value)


def test_a_bad_value_at_start_up_is_one_line(tmp_path):
    env = {"DASHSCOPE_PRIVATE_ENDPOINT": "http://127.0.0.1:9", AUDIT: str(tmp_path) + "/"}
    result = run(sys.executable, "-c", "import requests", env=env)
    assert result.returncode == 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and AUDIT in lines[0] and "Traceback" not in result.stderr, result.stderr


def test_off_means_no_recorder_and_no_import(tmp_path):
    code = ("import sys, dashscope_private, requests\n"
            "dashscope_private.activate('http://127.0.0.1:9')\n"
            "from dashscope_private import _state\n"
            "print(_state._recorder, 'dashscope_private._audit' in sys.modules, 'opentelemetry' in sys.modules)")
    result = run(sys.executable, "-c", code)
    assert result.stdout.split() == ["None", "False", "False"], result.stderr


def test_counts_are_flushed_periodically_and_at_deactivation(tmp_path, standin, monkeypatch):
    from dashscope_private import _audit

    monkeypatch.setattr(_audit, "FLUSH_SECONDS", 0.2)
    path = tmp_path / "audit.jsonl"
    dashscope_private.activate(standin.url, audit=str(path))
    for _ in range(5):
        requests.get("https://dashscope.aliyuncs.com/api/v1/x")
    first = _records(path.read_text())
    assert [(r["decision"], r["integration"], r["count"]) for r in first] == [("redirected", "requests", 1)]
    deadline = time.monotonic() + 5
    while _total(_records(path.read_text())) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _total(_records(path.read_text())) == 5  # the timer wrote the other four while the program ran
    requests.get("https://dashscope.aliyuncs.com/api/v1/x")
    dashscope_private.deactivate()
    assert _total(_records(path.read_text())) == 6
    assert _state._recorder is None


def test_each_kind_is_written_once_and_counted_per_decision(tmp_path, standin):
    path = tmp_path / "audit.jsonl"
    dashscope_private.activate(standin.url, audit=str(path), strict=True)
    for _ in range(3):
        assert dashscope_private.rewrite_url("https://dashscope.aliyuncs.com/x?k=QUERYSECRET").startswith(standin.url)
        with pytest.raises(PublicEgressBlocked):
            requests.get("https://dashscope-intl.aliyuncs.com/api/v1/x")
    assert len(_records(path.read_text())) == 2  # two kinds, each written at its first occurrence
    dashscope_private.deactivate()
    records = _records(path.read_text())
    assert _total(records, decision="redirected", integration=__name__.partition(".")[0]) == 3
    assert _total(records, decision="blocked", integration="requests") == 3
    assert "QUERYSECRET" not in path.read_text()
