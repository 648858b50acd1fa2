#!/usr/bin/env python3
"""Per-request cost of the audit trail (``DASHSCOPE_PRIVATE_AUDIT``), in one process, no network.

The hooked request path of two stacks, called directly so that nothing but our code and
the library's own URL handling is timed:

  requests   ``PreparedRequest().prepare_url(url, None)``: the hook (``route_url``) runs in it
  httpx      ``httpx.Client()._merge_url(url)``: the hook for absolute string URLs

  route_url / route_target   the request-path functions alone (where the recorder is wired)

for a redirected DashScope URL and a pass-through URL (``api.openai.com``), in three states:
unpatched (inactive: the baseline), active with audit off, active with audit on (after the
first request of each kind, which writes its record). Each figure is the best of many
blocks' mean thread CPU time per call, so other processes on the machine inflate it less.

    goal: audit off = the active path as before (one ``is not None`` test);
          audit on  <= 1 us extra per request over audit off.

Run with the dev venv: ``python bench/audit.py [--quick]``; results go to
``bench/results/audit.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time

from _results import write_json  # bench/ is sys.path[0] when a script here runs

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
for _name in list(os.environ):
    if _name.startswith("DASHSCOPE_PRIVATE_"):
        del os.environ[_name]

import httpx  # noqa: E402
import requests  # noqa: E402

import dashscope_private  # noqa: E402
from dashscope_private import _runtime  # noqa: E402

ENDPOINT = "http://127.0.0.1:9"
URLS = {"dashscope": "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions", "other": "https://api.openai.com/v1/chat/completions"}
GOAL_EXTRA_US = 1.0


def _ops() -> dict:
    client = httpx.Client()
    prepared = requests.models.PreparedRequest()
    ops = {}
    for kind, url in URLS.items():
        host = url.split("/")[2]
        ops[f"requests {kind}"] = lambda url=url: prepared.prepare_url(url, None)
        ops[f"httpx {kind}"] = lambda url=url: client._merge_url(url)
        ops[f"route_url {kind}"] = lambda url=url: _runtime.route_url(url)
        ops[f"route_target {kind}"] = lambda host=host: _runtime.route_target("https", host)
    return ops


def _time(op, calls: int, blocks: int) -> float:
    """Best block's mean thread CPU time, in microseconds per call (steadier than wall time on a shared machine)."""
    best = float("inf")
    for _ in range(blocks):
        start = time.thread_time()
        for _ in range(calls):
            op()
        best = min(best, (time.thread_time() - start) / calls)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    calls, blocks = (1000, 10) if args.quick else (2000, 30)
    folder = tempfile.mkdtemp()
    audit_path = os.path.join(folder, "audit.jsonl")
    ops = _ops()
    states = {
        "unpatched": lambda: dashscope_private.deactivate(),
        "audit off": lambda: dashscope_private.activate(ENDPOINT, hosts="dashscope.aliyuncs.com"),
        "audit on": lambda: dashscope_private.activate(ENDPOINT, hosts="dashscope.aliyuncs.com", audit=audit_path),
    }
    results: dict = {name: {} for name in ops}
    for _round in range(2):  # ABC then CBA, keeping the better figure of each
        order = list(states) if _round == 0 else list(reversed(states))
        for state in order:
            dashscope_private.deactivate()
            states[state]()
            assert (state == "audit on") == (_runtime._recorder is not None), state
            for name, op in ops.items():
                op()  # the first of each kind (audit on: written now)
                us = _time(op, calls, blocks)
                results[name][state] = min(us, results[name].get(state, float("inf")))
    dashscope_private.deactivate()
    with open(audit_path) as f:
        lines = f.read().splitlines()
    rows = []
    print(f"{'operation':<20} {'unpatched':>10} {'audit off':>10} {'audit on':>10} {'off/base':>9} {'on/base':>8} {'on-off us':>10}")
    for name, r in results.items():
        extra = r["audit on"] - r["audit off"]
        row = {"operation": name, **{k: round(v, 3) for k, v in r.items()}, "off_ratio": round(r["audit off"] / r["unpatched"], 3),
               "on_ratio": round(r["audit on"] / r["unpatched"], 3), "extra_us": round(extra, 3), "goal_met": extra <= GOAL_EXTRA_US}
        rows.append(row)
        print(f"{name:<20} {r['unpatched']:>10.3f} {r['audit off']:>10.3f} {r['audit on']:>10.3f} {row['off_ratio']:>9.3f} {row['on_ratio']:>8.3f} {extra:>10.3f}")
    print(f"audit records written: {len(lines)} (first occurrences and the flushes at each deactivate)")
    write_json(os.path.join(HERE, "results", "audit.json"), {
        "python": platform.python_version(), "machine": platform.machine(), "calls": calls, "blocks": blocks,
        "goal_extra_us": GOAL_EXTRA_US, "rows": rows, "records": len(lines),
    })


if __name__ == "__main__":
    main()
