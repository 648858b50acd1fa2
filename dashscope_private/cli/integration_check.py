"""doctor's integration check, the parent's half: run ``_child`` and read the report it prints.

The libraries are imported in a fresh interpreter with the plugin active (never
in doctor's own process, where importing them would cost seconds and activate
us). The child answers with one JSON line of plain data (did it activate,
which integrations are installed, what could not be patched, where a probe URL
went), so the verdict never depends on the wording of a log message.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from ._common import package_parent

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, List, Optional, Sequence

__all__ = ["CHILD_MODULE", "PROBE_URL", "REPORT_KEY", "check_integrations", "read_child_report", "verdicts"]

CHILD_MODULE = "dashscope_private.cli._child"
#: The URL the child routes, to show that a fresh interpreter sends it where doctor's router does.
PROBE_URL = "https://dashscope.aliyuncs.com/compatible-mode/v1/models"
#: The key that marks the child's report line (and its format's version) among anything a library prints.
REPORT_KEY = "dashscope_private_child_report"


def check_integrations(names: List[str], endpoint: str, expected_probe: str, routes: str = "") -> Dict[str, dict]:
    """Import the libraries in a child process with the plugin active and report each integration.

    ``routes`` (``DASHSCOPE_PRIVATE_ROUTES`` text: the whole routing table) is the child's only setting
    when given; ``endpoint`` is then empty.
    """
    if not names:
        return {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_PRIVATE_")}
    if routes:
        env["DASHSCOPE_PRIVATE_ROUTES"] = routes
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent(), env.get("PYTHONPATH", "")]))
    try:
        out = subprocess.run(
            [sys.executable, "-m", CHILD_MODULE, endpoint, json.dumps(names)],
            env=env, capture_output=True, text=True, timeout=120,
        )
        child = read_child_report(out.stdout, out.stderr)
    except Exception as exc:  # the check itself failed: say so, don't crash doctor
        return {name: {"ok": False, "error": f"check failed: {exc}"} for name in names}
    return verdicts(child, names, expected_probe)


def read_child_report(stdout: str, stderr: str = "") -> Dict[str, Any]:
    """The child's report: the last stdout line that is a JSON object carrying ``REPORT_KEY``."""
    for line in reversed(stdout.splitlines()):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and data.get(REPORT_KEY) == 1:
            return data
    tail = " | ".join(stderr.strip().splitlines()[-3:])
    raise ValueError("the child process printed no report" + (f" ({tail})" if tail else ""))


def verdicts(child: Dict[str, Any], names: Sequence[str], expected_probe: str) -> Dict[str, dict]:
    """``{name: {"ok": bool, "error": str | None}}`` from the child's report, the first problem found for each."""
    result: Dict[str, dict] = {}
    failures: Dict[str, Dict[str, str]] = child.get("failures", {})
    for name in names:
        error: Optional[str] = None
        import_error = child.get("import_errors", {}).get(name)
        if import_error:
            error = f"import failed: {import_error}"
        elif not child.get("active"):
            error = "dashscope-private did not activate in a child process"
        elif name in failures:
            failure = failures[name]
            error = f"dashscope-private could not patch {failure['target']} ({failure['error']}); its requests are not redirected"
        elif name not in child.get("installed", ()):
            error = "not installed"
        elif child.get("probe", {}).get("routed") != expected_probe:
            error = f"{PROBE_URL} went to {child.get('probe', {}).get('routed')}, not {expected_probe}"
        result[name] = {"ok": error is None, "error": error}
    return result
