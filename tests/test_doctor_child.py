"""doctor's child-process check reports data, and doctor reads that data, not log messages.

The child (``python -m dashscope_private.cli._child``) prints one JSON line:
activated?, integrations installed, what could not be patched, where a probe
URL went. doctor's verdict for each library comes from those facts, so a
reworded (or translated, or filtered) log message changes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from support import ROOT, cli

# A requests integration that installs, then fails to patch a submodule it needs (the way a
# library's new release breaks one of an integration's lazy patches).
HALF_BROKEN_INTEGRATION = '''
from dashscope_private import _runtime


def install():
    _runtime.on_import("requests", "requests.adapters", _patch_adapters)  # already imported: runs now


def _patch_adapters(module):
    raise RuntimeError("simulated: requests.adapters changed shape")


def uninstall():
    return []
'''

# Loaded by every interpreter started with this folder on PYTHONPATH (doctor and its child):
# our log messages reach handlers in other words, and requests gets the integration above.
SITECUSTOMIZE = '''
import logging


class Reword(logging.Filter):
    """A later release's wording (or a translation): no message says "patch <module>" any more."""

    def filter(self, record):
        record.msg, record.args = "integration trouble, in other words", ()
        return True


logging.getLogger("dashscope_private").addFilter(Reword())

from dashscope_private import registry

registry.INTEGRATIONS_BY_NAME["requests"].implementation = "half_broken_integration"
'''


def _child(endpoint: str, names: list) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_PRIVATE_")}
    env["PYTHONPATH"] = ROOT
    command = [sys.executable, "-m", "dashscope_private.cli._child", endpoint, json.dumps(names)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_the_child_prints_what_it_found_as_data(standin):
    pytest.importorskip("requests")
    from dashscope_private.cli.integration_check import REPORT_KEY, read_child_report

    result = _child(standin.url, ["urllib", "requests"])
    assert result.returncode == 0, result.stderr
    report = read_child_report(result.stdout, result.stderr)
    assert report[REPORT_KEY] == 1 and report["active"] is True
    assert {"urllib", "requests"} <= set(report["installed"]), report
    assert report["failures"] == {} and report["import_errors"] == {"urllib": None, "requests": None}
    assert report["probe"] == {"url": "https://dashscope.aliyuncs.com/compatible-mode/v1/models", "routed": f"{standin.url}/compatible-mode/v1/models"}
    assert standin.records == []  # the child only imports and routes: it sends nothing


def test_the_verdicts_come_from_the_facts(standin):
    """Each fact the child reports decides a verdict on its own, in the words doctor prints."""
    from dashscope_private.cli.integration_check import read_child_report, verdicts

    report = read_child_report(_child(standin.url, ["urllib"]).stdout)
    expected = f"{standin.url}/compatible-mode/v1/models"
    assert verdicts(report, ["urllib"], expected) == {"urllib": {"ok": True, "error": None}}
    assert verdicts(report, ["urllib"], "http://10.0.0.1/compatible-mode/v1/models")["urllib"]["error"] == (
        f"https://dashscope.aliyuncs.com/compatible-mode/v1/models went to {expected}, not http://10.0.0.1/compatible-mode/v1/models"
    )
    assert verdicts({**report, "active": False}, ["urllib"], expected)["urllib"]["error"] == "dashscope-private did not activate in a child process"
    assert verdicts({**report, "installed": []}, ["urllib"], expected)["urllib"] == {"ok": False, "error": "not installed"}
    failed = {**report, "failures": {"urllib": {"target": "http.client", "error": "RuntimeError: x"}}}
    assert verdicts(failed, ["urllib"], expected)["urllib"]["error"] == "dashscope-private could not patch http.client (RuntimeError: x); its requests are not redirected"
    missing = {**report, "import_errors": {"urllib": "ImportError: gone"}}
    assert verdicts(missing, ["urllib"], expected)["urllib"]["error"] == "import failed: ImportError: gone"


def test_the_report_line_is_found_among_what_libraries_print():
    from dashscope_private.cli.integration_check import REPORT_KEY, read_child_report

    line = json.dumps({REPORT_KEY: 1, "active": True})
    assert read_child_report(f"a banner\n{line}\n{{\"not\": \"ours\"}}\nbye\n")["active"] is True
    with pytest.raises(ValueError, match="printed no report .*Traceback"):
        read_child_report('{"not": "ours"}\n', "Traceback (most recent call last):\nboom\n")


def test_doctor_sees_a_failed_patch_whatever_the_log_says(standin, tmp_path):
    """Fails on the old design, which found failures by grepping the child's log for "patch <module>":
    with the wording changed, requests looked installed and fine."""
    pytest.importorskip("requests")
    (tmp_path / "half_broken_integration.py").write_text(textwrap.dedent(HALF_BROKEN_INTEGRATION))
    (tmp_path / "sitecustomize.py").write_text(textwrap.dedent(SITECUSTOMIZE))
    env = {"DASHSCOPE_PRIVATE_ENDPOINT": standin.url, "PYTHONPATH": os.pathsep.join([str(tmp_path), ROOT])}
    result = cli("doctor", "--json", env=env)
    report = json.loads(result.stdout)
    requests = report["libraries"]["requests"]
    assert requests["ok"] is False, requests
    assert requests["error"] == (
        "dashscope-private could not patch requests.adapters (RuntimeError: simulated: requests.adapters changed shape); "
        "its requests are not redirected"
    )
    assert result.returncode == 1
    assert report["problems"] == [f"integration requests does not install on requests {requests['version']}: {requests['error']}"]
    assert report["libraries"]["urllib"]["ok"] is True  # one broken integration does not taint the others
    text = cli("doctor", env=env).stdout
    assert f"✗ integration requests does not install on requests {requests['version']}: dashscope-private could not patch requests.adapters" in text
