"""doctor's words: the report ``doctor.build_report`` built, as text or as one JSON object.

Both say the same data; nothing here probes or decides.
"""

from __future__ import annotations

import json

from ..config import ENDPOINT

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, List

__all__ = ["emit", "text_lines", "settings_lines", "stack_lines", "doctor_lines", "network_lines", "route_line", "host_route_line"]

CONFIG_ERROR_VERDICT = "verdict: configuration error (requests to DashScope public hosts are blocked)"


def emit(report: Dict[str, Any], as_json: bool = False) -> None:
    """Print the report: one indented JSON object, or the text lines."""
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print("\n".join(text_lines(report)))


def text_lines(report: Dict[str, Any]) -> List[str]:
    """The text for a configuration error, an inactive setup, or a full check."""
    hosts = ["hosts asked about (--host):", *("  " + host_route_line(entry) for entry in report["host_routes"]), ""] if report.get("host_routes") else []
    if "config_error" in report:
        return [f"✗ {report['config_error']}", *settings_lines(report), *hosts, CONFIG_ERROR_VERDICT]
    if "config" not in report:
        return [*settings_lines(report), *hosts, report["verdict"]]
    lines = doctor_lines(report)
    lines[-1:-1] = settings_lines(report)  # before the verdict
    return lines


def settings_lines(report: Dict[str, Any]) -> List[str]:
    """Text for the dropped base path, the .env findings and the warnings."""
    lines: List[str] = []
    dropped = report.get("config", {}).get("dropped_path")
    if dropped:
        lines.append(
            f"note: {ENDPOINT} is a base URL; its path {dropped} is dropped: only scheme, host and port are "
            "used, and each request keeps its own path (nothing is doubled)"
        )
    dotenv = report.get("dotenv")
    if dotenv:
        if dotenv.get("advice"):
            lines.append(f"! .env: {dotenv['advice']}")
        if dotenv.get("advice_differs"):
            lines.append(f"! .env: {dotenv['advice_differs']}")
    lines += [f"! {w}" for w in report.get("warnings", ())]
    return lines + ([""] if lines else [])


def stack_lines(rows: List[dict]) -> List[str]:
    lines = ["", "HTTP stacks (from package metadata; nothing imported):"]
    for row in rows:
        note = f"  ({row['note']})" if row["note"] else ""
        lines.append(f"  {row['name']:<17} {row['version']:<12} {row['effective']}{note}")
    return lines


def doctor_lines(report: Dict[str, Any]) -> List[str]:
    config = report["config"]
    lines = [f"dashscope-private {report['version']} on Python {report['python']}", "", "configuration:"]
    routes = "; ".join(f"{pattern} -> {endpoint}" for pattern, endpoint in config.get("routes", {}).items())
    for name, value in (("endpoint", config["endpoint"] or "- (routes only)"), ("routes", routes or "-"), ("hosts", ", ".join(config["hosts"])), ("strict", config["strict"]), ("oss", config["oss"] or "-"), ("allow", ", ".join(config["allow"]) or "-"), ("disabled", ", ".join(config["disabled_integrations"]) or "-")):
        lines.append(f"  {name:<9} {value}")
    lines.append("  sources:  " + ", ".join(f"{k[len('DASHSCOPE_PRIVATE_'):]}={v}" for k, v in config["sources"].items() if v != "default"))
    lines += ["", "libraries:"]
    for name, info in report["libraries"].items():
        if info["version"] is None:
            state = "not installed"
        elif info["disabled"]:
            state = "disabled"
        else:
            state = "ok" if info.get("ok") else f"PROBLEM: {info.get('error')}"
        lines.append(f"  {name:<17} {info['version'] or '-':<12} {state}")
    lines += stack_lines(report["stacks"])
    lines += ["", "typical URLs:"]
    lines += [f"  {src}\n    -> {dst}" for src, dst in report["urls"].items()]
    lines += network_lines(report)
    lines.append("")
    lines += [f"✗ {p}" for p in report["problems"]]
    lines.append("verdict: " + report["verdict"])
    return lines


def network_lines(report: Dict[str, Any]) -> List[str]:
    """Each endpoint's DNS and TCP (once, however many routes share it), each route's API families, the
    single endpoint's probe line as before routes, and which route each ``--host`` takes."""
    routes = report.get("routes", [])
    lines: List[str] = []
    several = len({route["endpoint"] for route in routes}) > 1
    seen = set()
    for route in routes:
        if route["endpoint"] in seen:
            continue
        seen.add(route["endpoint"])
        dns, tcp = route["dns"], route["tcp"]
        found = [f"DNS {dns['host']}: " + (", ".join(dns["addresses"]) or f"unresolved ({dns['error']})") + ("  (NOT PRIVATE: " + ", ".join(dns["not_private"]) + ")" if dns["not_private"] else "")]
        if tcp is not None:
            found.append(f"TCP port {tcp['port']}: " + (f"connected in {tcp['connect_ms']} ms" if tcp["connect_ms"] is not None else f"failed ({tcp['error']})"))
        lines += ["", f"endpoint {route['endpoint']}:", *("  " + line for line in found)] if several else ["", *found]
    if "probe" in report:
        probe = report["probe"]
        lines.append("probe GET /compatible-mode/v1/models: " + (f"HTTP {probe['status']} in {probe['latency_ms']} ms" if "status" in probe else f"failed ({probe['error']})"))
    if routes:
        lines += ["", "routes:"] + ["  " + route_line(route) for route in routes]
    if report.get("host_routes"):
        lines += ["", "hosts asked about (--host):"] + ["  " + host_route_line(entry) for entry in report["host_routes"]]
    return lines


def route_line(route: Dict[str, Any]) -> str:
    """``route PATTERN -> ENDPOINT: chat reached, ..., anthropic not served`` (or why nothing was asked)."""
    head = f"route {route['pattern']} -> {route['endpoint']}"
    families = route.get("families") or {}
    if not families:
        return head + ": API families not probed (doctor --probe asks each)"
    return head + ": " + ", ".join(f"{family} {found['result']}" for family, found in families.items())


def host_route_line(entry: Dict[str, Any]) -> str:
    """Which route one ``--host`` takes, in words."""
    head = f"host {entry['host']}: "
    decision = entry["decision"]
    if decision == "redirected":
        return head + f"route {entry['route']} -> {entry['endpoint']} (e.g. {entry['url']})"
    if decision == "public":
        return head + "no route: stays PUBLIC (warned); strict mode would refuse it"
    if decision == "blocked":
        return head + f"REFUSED ({entry['detail']})"
    if decision == "oss-internal":
        return head + f"OSS upload bucket: sent to {entry['url']}"
    return head + f"{decision}: {entry['detail']}"
