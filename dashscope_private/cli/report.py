"""``report FILE...``: merge audit trails (``DASHSCOPE_PRIVATE_AUDIT``) into a summary an auditor can read.

Files from many processes and many machines: per public host and decision, the total
count, the first and last record time, the processes (``machine`` and ``pid``; a pid alone
is not unique across machines), the integrations and the endpoint hosts. Exit 1 when any
``public`` or ``blocked`` decision is present, so CI and cron jobs can gate on it; ``--json``
prints the same data. A line that is not a record is counted and reported (file and line
number), never a traceback; an unreadable file is reported and exits 2.
"""

from __future__ import annotations

import json
import sys

from ._common import EXIT_CONFIG, EXIT_OK, EXIT_PROBLEMS

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    import argparse
    from typing import Any, Dict, Iterable, List, Optional, Tuple

__all__ = ["report", "summarize", "GATED"]

DECISIONS = ("redirected", "allowed", "blocked", "public")
#: decisions that fail the report (exit 1)
GATED = ("public", "blocked")
_SHOWN_MALFORMED = 20


def _record(line: str) -> Optional[Dict[str, Any]]:
    """The record on ``line``, or ``None`` when it is not one."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    host, decision, count, when = record.get("host"), record.get("decision"), record.get("count"), record.get("time")
    if not isinstance(host, str) or decision not in DECISIONS or not isinstance(when, str):
        return None
    if type(count) is not int or count < 0 or type(record.get("pid")) is not int:
        return None
    target, integration = record.get("target"), record.get("integration")
    if target is not None and not isinstance(target, str) or not isinstance(integration, str):
        return None
    return record


def summarize(sources: Iterable[Tuple[str, Iterable[str]]]) -> Dict[str, Any]:
    """Merge ``(name, lines)`` pairs into the report's data (the ``--json`` output)."""
    groups: Dict[Tuple[str, str], Dict[str, Any]] = {}
    files: List[str] = []
    records = malformed = 0
    bad: List[Dict[str, Any]] = []
    for name, lines in sources:
        files.append(name)
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            record = _record(line)
            if record is None:
                malformed += 1
                if len(bad) < _SHOWN_MALFORMED:
                    bad.append({"file": name, "line": number})
                continue
            records += 1
            key = (record["host"], record["decision"])
            group = groups.get(key)
            if group is None:
                group = groups[key] = {"count": 0, "first": record["time"], "last": record["time"],
                                       "processes": set(), "integrations": {}, "targets": set()}
            group["count"] += record["count"]
            group["first"] = min(group["first"], record["time"])
            group["last"] = max(group["last"], record["time"])
            machine = record.get("machine")
            group["processes"].add((machine if isinstance(machine, str) else "", record["pid"]))
            integrations = group["integrations"]
            integrations[record["integration"]] = integrations.get(record["integration"], 0) + record["count"]
            if record["target"] is not None:
                group["targets"].add(record["target"])
    summary = []
    for (host, decision), group in sorted(groups.items(), key=lambda item: (DECISIONS.index(item[0][1]), item[0][0])):
        summary.append({
            "host": host,
            "decision": decision,
            "count": group["count"],
            "first": group["first"],
            "last": group["last"],
            "processes": [{"machine": m, "pid": p} for m, p in sorted(group["processes"])],
            "integrations": dict(sorted(group["integrations"].items())),
            "targets": sorted(group["targets"]),
        })
    gated = sorted({row["decision"] for row in summary if row["decision"] in GATED})
    return {"files": files, "records": records, "malformed": malformed, "malformed_lines": bad,
            "summary": summary, "gated": gated, "ok": not gated}


def render(data: Dict[str, Any]) -> str:
    """The same data in words."""
    out = [f"dashscope-private report: {len(data['files'])} file(s), {data['records']} record(s)"]
    if data["malformed"]:
        shown = ", ".join(f"{b['file']}:{b['line']}" for b in data["malformed_lines"])
        more = "" if data["malformed"] <= len(data["malformed_lines"]) else ", ..."
        out.append(f"  {data['malformed']} malformed line(s) skipped: {shown}{more}")
    if not data["summary"]:
        out.append("  no decisions recorded")
    for row in data["summary"]:
        processes = row["processes"]
        names = ", ".join(f"{p['machine']}:{p['pid']}" if p["machine"] else str(p["pid"]) for p in processes[:5])
        if len(processes) > 5:
            names += ", ..."
        target = f" -> {', '.join(row['targets'])}" if row["targets"] else ""
        out.append(f"  {row['decision']:<10} {row['host']}{target}")
        out.append(f"      count {row['count']}, first {row['first']}, last {row['last']}")
        out.append(f"      {len(processes)} process(es): {names}")
        out.append("      integrations: " + ", ".join(f"{k} {v}" for k, v in row["integrations"].items()))
    if data["gated"]:
        out.append(f"FAIL: {' and '.join(data['gated'])} decisions present: traffic for public Model Studio hosts was not redirected")
    else:
        out.append("OK: no public or blocked decisions")
    return "\n".join(out)


def report(args: argparse.Namespace) -> int:
    """The command: read every file (``-`` is standard input), print, exit 1 on public/blocked."""
    sources = []
    for name in args.files:
        try:
            if name == "-":
                sources.append((name, sys.stdin.read().splitlines()))
            else:
                with open(name, encoding="utf-8", errors="replace") as handle:
                    sources.append((name, handle.read().splitlines()))
        except OSError as exc:
            print(f"dashscope-private report: cannot read {name}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_CONFIG
    data = summarize(sources)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(render(data))
    return EXIT_PROBLEMS if data["gated"] else EXIT_OK
