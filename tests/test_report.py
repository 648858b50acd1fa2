"""``dashscope-private report`` over audit files written by several concurrent processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from venvs import run

WORKERS = 4
REQUESTS = 25

WORKER = textwrap.dedent("""
    import sys, requests
    for _ in range(REQUESTS):
        requests.get("https://dashscope.aliyuncs.com/api/v1/services/x?key=QUERYSECRET")
    if sys.argv[1] == "public":
        try:
            requests.get("https://dashscope-intl.aliyuncs.com/api/v1/x", timeout=2)
        except Exception:
            pass
""").replace("REQUESTS", str(REQUESTS))


def _report(*args: str) -> subprocess.CompletedProcess:
    return run(sys.executable, "-m", "dashscope_private", "report", *args)


@pytest.fixture
def audit_files(tmp_path, standin, trap):
    """Two files, written by ``WORKERS`` processes at once: one file shared by three of them.

    One worker's public request goes to the proxy trap (it stops there), and is taken here."""
    pytest.importorskip("requests")  # the workers' HTTP stack
    (tmp_path / "worker.py").write_text(WORKER)
    shared, alone = tmp_path / "shared.jsonl", tmp_path / "alone.jsonl"
    procs = []
    for i in range(WORKERS):
        env = {"DASHSCOPE_PRIVATE_ENDPOINT": standin.url, "DASHSCOPE_PRIVATE_AUDIT": str(alone if i == 0 else shared)}
        clean = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_PRIVATE_")}
        clean.update(env)
        procs.append(subprocess.Popen([sys.executable, str(tmp_path / "worker.py"), "public" if i == 1 else "private"],
                                      env=clean, cwd=str(tmp_path)))
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    assert [hit[1] for hit in trap.take()] == ["dashscope-intl.aliyuncs.com:443"]
    return shared, alone


def test_report_merges_concurrent_processes_and_gates_on_public(audit_files, tmp_path):
    shared, alone = audit_files
    for path in (shared, alone):
        lines = path.read_text().splitlines()
        assert lines and all(json.loads(line)["pid"] for line in lines)  # whole lines only, however they interleaved
        assert "QUERYSECRET" not in path.read_text()
    result = _report("--json", str(shared), str(alone))
    assert result.returncode == 1, result.stdout + result.stderr
    data = json.loads(result.stdout)
    rows = {(row["host"], row["decision"]): row for row in data["summary"]}
    redirected = rows[("dashscope.aliyuncs.com", "redirected")]
    assert redirected["count"] == WORKERS * REQUESTS
    assert len(redirected["processes"]) == WORKERS
    assert redirected["targets"] == ["127.0.0.1"]
    assert redirected["integrations"] == {"requests": WORKERS * REQUESTS}
    assert redirected["first"] <= redirected["last"]
    public = rows[("dashscope-intl.aliyuncs.com", "public")]
    assert len(public["processes"]) == 1 and public["count"] >= 1
    assert data["gated"] == ["public"] and data["ok"] is False and data["malformed"] == 0

    text = _report(str(shared), str(alone))
    assert text.returncode == 1
    assert "dashscope-intl.aliyuncs.com" in text.stdout and "FAIL" in text.stdout
    assert f"count {WORKERS * REQUESTS}" in text.stdout


def test_report_passes_private_only_and_counts_malformed_lines(audit_files, tmp_path):
    shared, alone = audit_files
    broken = tmp_path / "broken.jsonl"
    broken.write_text(alone.read_text() + "not json\n" + '{"host": "x", "decision": "nonsense"}\n' + '{"time": "t", "pid": 1, "host": "h", "decision": "redirected", "target": null, "integration": "i", "count": -1}\n')
    result = _report("--json", str(broken))
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["malformed"] == 3 and [b["line"] for b in data["malformed_lines"]][-3:] == [len(alone.read_text().splitlines()) + n for n in (1, 2, 3)]
    assert data["ok"] is True and [row["decision"] for row in data["summary"]] == ["redirected"]
    text = _report(str(broken))
    assert text.returncode == 0 and "3 malformed line(s)" in text.stdout and "Traceback" not in text.stderr


def test_report_blocked_fails_and_unreadable_file_is_one_line(tmp_path):
    path = tmp_path / "blocked.jsonl"
    path.write_text(json.dumps({"time": "2026-01-01T00:00:00.000Z", "pid": 7, "machine": "a", "host": "dashscope.aliyuncs.com",
                                "decision": "blocked", "target": None, "integration": "strict-net", "count": 2}) + "\n")
    result = _report(str(path))
    assert result.returncode == 1 and "blocked" in result.stdout
    missing = _report(str(tmp_path / "missing.jsonl"))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr
