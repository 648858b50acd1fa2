"""``demo``: show private routing working on any machine, against a loopback stand-in endpoint.

The guide's programs run unchanged in child processes; every request they make
is shown with the public URL it asked for and the endpoint it reached.
"""

from __future__ import annotations

import os
import subprocess
import sys

from ..config import ENDPOINT
from ._common import EXIT_OK, EXIT_PROBLEMS, PACKAGE_DIR, package_parent
from .run import child_environment

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    import argparse

__all__ = ["DEMO_PROGRAMS", "demo"]

DEMO_PROGRAMS = (
    ("guide_openai.py", "OpenAI SDK (the guide's example, public base_url in the code)", "openai"),
    ("guide_dashscope.py", "DashScope SDK (the guide's example, public base_http_api_url)", "dashscope"),
    ("guide_http.py", "raw HTTP with requests (the guide's curl call)", "requests"),
)


def _examples_dir() -> str:
    """The guide's programs: shipped in the wheel as ``_examples``, or the checkout's ``examples``."""
    packaged = os.path.join(PACKAGE_DIR, "_examples")
    if os.path.isdir(packaged):
        return packaged
    return os.path.join(package_parent(), "examples")  # a source checkout


def demo(args: argparse.Namespace) -> int:
    """The command: run each guide program unchanged against a loopback stand-in, show where its requests went."""
    from importlib import util as importlib_util

    from .._support.standin import StandIn

    with StandIn() as standin:
        print(f"dashscope-private demo: a loopback stand-in for your PrivateLink endpoint is listening on {standin.url}")
        print(f"each program below runs unchanged, with {ENDPOINT}={standin.url}\n")
        env = child_environment(standin.url)
        env["DASHSCOPE_API_KEY"] = "sk-demo-key"  # never the user's real key
        env["DASHSCOPE_PRIVATE_LOG"] = "debug"
        # A dead-end loopback proxy: should anything fail to redirect, it fails
        # here instead of reaching the internet. The plugin exempts the endpoint.
        for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            env[variable] = "http://127.0.0.1:9"
        env["NO_PROXY"] = env["no_proxy"] = ""
        failures = 0
        ran = 0
        for filename, title, module in DEMO_PROGRAMS:
            path = os.path.join(_examples_dir(), filename)
            print(f"▶ {filename}: {title}")
            if importlib_util.find_spec(module) is None:
                print(f"  skipped: `{module}` is not installed here (pip install {module})\n")
                continue
            standin.clear()
            result = subprocess.run([sys.executable, path], env=env, capture_output=True, text=True, timeout=120)
            ran += 1
            rewrites = [line.split("redirecting ", 1)[1] for line in result.stderr.splitlines() if "redirecting " in line]
            asked = {new.strip(): old.strip() for old, new in (r.split(" -> ", 1) for r in rewrites)}
            records = standin.records
            for record in records:
                went = f"{standin.url}{record.path}" if record.kind == "http" else f"ws://{standin.netloc}{record.path}"
                origin = asked.get(went[: len(went) - len(record.path)], "?")
                print(f"  {record.method} asked for {origin}{record.path}")
                print(f"  {' ' * len(record.method)} went to   {went}   (Host: {record.host})")
            output = result.stdout.strip().splitlines()
            if output:
                print("  program output: " + (output[-1][:150] + ("…" if len(output[-1]) > 150 else "")))
            if result.returncode != 0 or not records:
                failures += 1
                print(f"  ✗ exit code {result.returncode}, {len(records)} request(s) reached the endpoint")
                print("    " + "\n    ".join(result.stderr.strip().splitlines()[-5:]))
            print()
        if failures:
            print(f"✗ {failures} of {ran} program(s) did not go private")
            return EXIT_PROBLEMS
        if not ran:
            print("nothing to run: pip install openai dashscope requests, then run the demo again")
            return EXIT_PROBLEMS
        print(f"✓ all {ran} program(s) reached the private endpoint; none of them was changed")
        return EXIT_OK
