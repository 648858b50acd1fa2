"""``doctor``: will my program go private, and does the private path work?

``build_report`` probes and returns plain data (the ``--json`` output, as is);
``render`` says the same data in text; ``exit_code`` reads it. Nothing here prints.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from .. import __version__
from ..config import INTEGRATION_NAMES
from ..registry import INTEGRATIONS, STDLIB
from ..config import ENDPOINT, VARIABLES, endpoint_base_path, load
from ..errors import ConfigError, DashscopePrivateError
from ..routing import PASS, REDIRECT, WARN, Router, format_netloc, normalize_host, split_url
from . import probes
from ._common import EXIT_CONFIG, EXIT_OK, EXIT_PROBLEMS
from .integration_check import PROBE_URL, check_integrations
from .render import emit
from .settings import settings_environment, settings_warnings

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    import argparse
    from typing import Any, Dict, List, Optional, Sequence

__all__ = ["TYPICAL_URLS", "build_report", "exit_code", "doctor", "check_endpoints", "check_routes", "check_endpoint", "host_route"]

TYPICAL_URLS = (
    "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions",
    "https://dashscope.aliyuncs.com/api/v1/services/aigc/text-generation/generation",
    "wss://dashscope.aliyuncs.com/api-ws/v1/inference",
    "wss://dashscope.aliyuncs.com/api-ws/v1/realtime?model=qwen-omni-turbo-realtime",
)


def doctor(args: argparse.Namespace) -> int:
    """The command: build the report, print it (text or ``--json``), exit with its code."""
    report = build_report(probe=args.probe, hosts=getattr(args, "host", None) or ())
    emit(report, as_json=args.json)
    return exit_code(report)


def exit_code(report: Dict[str, Any]) -> int:
    """2 for a configuration error; 1 when inactive or a problem was found; else 0."""
    if "config_error" in report:
        return EXIT_CONFIG
    if "config" not in report or report["problems"]:
        return EXIT_PROBLEMS
    return EXIT_OK


def build_report(probe: bool = False, hosts: Sequence[str] = ()) -> Dict[str, Any]:
    """Everything doctor finds, as JSON-ready data: settings, libraries, stacks, URLs, and per route DNS, TCP
    and (``probe``) each API family; ``hosts``: which route each of those hosts takes."""
    report: Dict[str, Any] = {"version": __version__, "python": sys.version.split()[0], "problems": []}
    problems: List[str] = report["problems"]
    environ = settings_environment(report)
    try:
        config = load(environ)
    except ConfigError as exc:
        report["config_error"] = str(exc)
        report["verdict"] = f"configuration error: {exc}"
        if hosts:  # failing closed: public Model Studio hosts are refused
            report["host_routes"] = [host_route(text, None, Router.failing(exc)) for text in hosts]
        return report
    if config is None:
        disabled = bool(environ.get(ENDPOINT))
        report["verdict"] = "inactive: " + ("DASHSCOPE_PRIVATE_DISABLE is set" if disabled else f"{ENDPOINT} is not set")
        if hosts:
            report["host_routes"] = [host_route(text, None, None) for text in hosts]
        return report

    endpoint = config.endpoint
    router = Router(config)
    sources = {**dict(config.sources), **{name: ".env" for name in report.get("dotenv", {}).get("checked_from_file", ())}}
    report["config"] = {
        "endpoint": str(endpoint) if endpoint is not None else None,
        "routes": {pattern: str(target) for pattern, target in config.routing_table()},
        "hosts": list(config.hosts.patterns()),
        "strict": config.strict,
        "oss": config.oss or None,
        "allow": list(config.allow.patterns()),
        "disabled_integrations": sorted(config.disabled_integrations),
        "log": config.log_level,
        "sources": {name: sources.get(name, "default") for name in VARIABLES},
        "dropped_path": endpoint_base_path(environ[ENDPOINT]) if environ.get(ENDPOINT) else None,
    }
    report["warnings"] = settings_warnings(config, report)
    report["urls"] = {}
    for url in TYPICAL_URLS:
        report["urls"][url] = _routed(router, url)

    found: Dict[Any, dict] = {}  # the network checks run while the child imports the libraries
    network = threading.Thread(target=lambda: found.update(check_endpoints(config.endpoints(), probe)), name="doctor-network", daemon=True)
    network.start()
    versions = _library_versions()
    to_check = [n for n, v in versions.items() if v is not None and n not in config.disabled_integrations]
    if config.routes or not environ.get(ENDPOINT):  # the child activates with the whole routing table
        table = ",".join(f"{pattern}={target}" for pattern, target in config.routing_table())
        checks = check_integrations(to_check, "", _routed(router, PROBE_URL), routes=table)
    else:
        checks = check_integrations(to_check, environ[ENDPOINT], _routed(router, PROBE_URL))
    report["libraries"] = {
        name: {"version": versions[name], "disabled": name in config.disabled_integrations, **checks.get(name, {})}
        for name in INTEGRATION_NAMES
    }
    for name, info in report["libraries"].items():
        if info["version"] and not info["disabled"] and not info.get("ok"):
            problems.append(f"integration {name} does not install on {name} {info['version']}: {info.get('error')}")

    report["stacks"] = _stack_report(config)
    network.join()
    check_routes(report, config, found)
    if hosts:
        report["host_routes"] = [host_route(text, config, router) for text in hosts]
    through = ", ".join(str(e) for e in config.endpoints()) or "nowhere (no route)"
    report["verdict"] = "ok: DashScope traffic will go through " + through if not problems else f"{len(problems)} problem(s) found"
    return report


def _routed(router: Router, url: str) -> str:
    try:
        return router.rewrite(url)
    except DashscopePrivateError as exc:
        return f"blocked: {exc}"


def check_endpoints(endpoints: Sequence[Any], probe: bool) -> Dict[Any, dict]:
    """:func:`check_endpoint` for each endpoint, all at the same time."""
    found: Dict[Any, dict] = {}
    threads = [threading.Thread(target=lambda e=e: found.__setitem__(e, check_endpoint(e, probe)), daemon=True) for e in endpoints]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return found


def check_routes(report: Dict[str, Any], config: Any, found: Dict[Any, dict]) -> None:
    """``report["routes"]``: each route with its endpoint's results (``found``, from :func:`check_endpoints`):
    routes sharing an endpoint share them. Adds each endpoint's problems and warnings; with one endpoint,
    its results are also the top-level ``dns``, ``tcp`` and ``probe`` keys, as before routes."""
    endpoints = config.endpoints()
    report["routes"] = [{"pattern": pattern, "endpoint": str(target), **found[target]} for pattern, target in config.routing_table()]
    for endpoint in endpoints:
        patterns = [pattern for pattern, target in config.routing_table() if target == endpoint]
        _endpoint_findings(report, endpoint, patterns, found[endpoint])
    if len(endpoints) == 1:
        result = found[endpoints[0]]
        report["dns"] = result["dns"]
        if result["tcp"] is not None:
            report["tcp"] = result["tcp"]
        chat = result["families"].get("chat")
        if chat is not None and result["tcp"] is not None and not result["tcp"]["error"]:
            report["probe"] = _legacy_probe(chat)


def check_endpoint(endpoint: Any, probe: bool) -> Dict[str, Any]:
    """One endpoint's ``{"scheme", "dns", "tcp", "families", "ms"}`` (``tcp`` ``None`` without an address;
    ``families`` empty without ``probe``, all refused when there is no address or no TCP connection;
    ``ms`` the whole check's milliseconds)."""
    start = time.perf_counter()
    result = _check_endpoint(endpoint, probe)
    result["ms"] = round((time.perf_counter() - start) * 1000, 1)
    return result


def _check_endpoint(endpoint: Any, probe: bool) -> Dict[str, Any]:
    scheme = probes.scheme_for(endpoint)
    port = endpoint.port or (443 if scheme == "https" else 80)
    addresses, dns_error = probes.resolve(endpoint.host, port)
    public = [a for a in addresses if not probes.is_private_address(a)]
    result: Dict[str, Any] = {"scheme": scheme, "dns": {"host": endpoint.host, "addresses": addresses, "error": dns_error, "not_private": public}, "tcp": None, "families": {}}
    if not addresses:
        if probe:
            result["families"] = probes.refused_families(f"{endpoint.host} does not resolve ({dns_error})")
        return result
    connect_ms, connect_error = probes.tcp_connect(endpoint.host, port)
    result["tcp"] = {"port": port, "connect_ms": round(connect_ms, 1) if connect_ms is not None else None, "error": connect_error}
    if probe:
        if connect_error:
            result["families"] = probes.refused_families(f"TCP connect to port {port} failed ({connect_error})")
        else:
            result["families"] = probes.probe_families(scheme, endpoint.host, port)
    return result


def _endpoint_findings(report: Dict[str, Any], endpoint: Any, patterns: List[str], result: Dict[str, Any]) -> None:
    """One endpoint's problems (DNS, TCP, refused families) and warnings (families not served)."""
    problems: List[str] = report["problems"]
    dns, tcp, host = result["dns"], result["tcp"], endpoint.host
    if dns["error"]:
        problems.append(f"DNS: {host} does not resolve ({dns['error']})")
    if dns["not_private"]:
        problems.append(f"DNS: {host} resolves to non-private address(es) {', '.join(dns['not_private'])}: traffic would not stay in the VPC")
    if tcp is not None and tcp["error"]:
        problems.append(f"TCP: cannot connect to {host}:{tcp['port']} ({tcp['error']})")
    if tcp is None or tcp["error"]:
        return  # every family is refused for the reason just given
    routes = ", ".join(patterns)
    by_reason: Dict[str, Dict[str, List[str]]] = {probes.REFUSED: {}, probes.NOT_SERVED: {}}
    for family, answer in result["families"].items():
        if answer["result"] != probes.REACHED:
            reason = "HTTP 404" if answer["status"] == 404 else answer["error"]
            by_reason[answer["result"]].setdefault(reason, []).append(family)
    refused, not_served = ("; ".join(f"{', '.join(names)} ({reason})" for reason, names in by_reason[kind].items()) for kind in (probes.REFUSED, probes.NOT_SERVED))
    if refused:
        problems.append(f"probe {endpoint} (route {routes}): refused: {refused}")
    if not_served:
        report["warnings"].append(f"probe {endpoint} (route {routes}): not served: {not_served}: requests of those API families through this route fail")


def _legacy_probe(chat: Dict[str, Any]) -> Dict[str, Any]:
    """The top-level ``probe`` of one endpoint (GET /compatible-mode/v1/models), as before routes."""
    if chat["status"] is None:
        return {"ok": False, "error": chat["error"]}
    return {"ok": chat["status"] < 500, "status": chat["status"], "latency_ms": chat["ms"], "api_key_sent": bool(os.environ.get("DASHSCOPE_API_KEY"))}


def host_route(text: str, config: Any, router: Optional[Router]) -> Dict[str, Any]:
    """Which route ``text`` (a host, or a URL) takes: ``{"host", "decision", "route", "endpoint", "url", "detail"}``.

    ``decision``: ``redirected`` (``route``, ``endpoint``, and where a chat URL goes), ``public`` (no route
    names it: it stays public, warned), ``blocked`` (strict mode, or an invalid setting), ``oss-internal``,
    ``allowed`` (``DASHSCOPE_PRIVATE_ALLOW``), ``untouched`` (not a Model Studio host), ``invalid``, and
    ``inactive`` without a router (nothing set: nothing is redirected).
    """
    parts = split_url(text.strip()) if "://" in text else None
    host = normalize_host(parts[2] if parts is not None else text.strip().split("/", 1)[0])
    entry: Dict[str, Any] = {"host": host, "decision": "invalid", "route": None, "endpoint": None, "url": None, "detail": None}
    if not host or ("://" in text and parts is None) or any(c in host for c in " /?#@") or (":" in host and not _is_ipv6(host)):
        entry["detail"] = f"{text!r} is not a host name"
        return entry
    if router is None:
        entry.update(decision="inactive", detail="dashscope-private is inactive: nothing is redirected")
        return entry
    url = f"https://{format_netloc(host, None)}/compatible-mode/v1/chat/completions"
    try:
        action = router.decide(host)
    except DashscopePrivateError as exc:
        entry.update(decision="blocked", detail=str(exc))
        return entry
    if action == REDIRECT:
        pattern, target = router.route_of(host) or (None, None)
        entry.update(decision="redirected", route=pattern, endpoint=str(target), url=router.rewrite(url, warn=False))
    elif action == WARN:
        entry.update(decision="public", detail="no route names it: its requests stay on the public internet (warned once per host); strict mode refuses them")
    elif action == PASS:
        allowed = config is not None and host in config.allow
        entry.update(decision="allowed" if allowed else "untouched", detail="DASHSCOPE_PRIVATE_ALLOW lets it go public" if allowed else "not a Model Studio host: left alone")
    else:
        entry.update(decision="oss-internal", url=router.rewrite(f"https://{host}/", warn=False), detail="an upload bucket, sent to its -internal name")
    return entry


def _is_ipv6(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


def _library_versions() -> Dict[str, Optional[str]]:
    """Each integration's library version, ``None`` when it is not installed."""
    from importlib import metadata

    from ..stacks import stdlib_version

    versions: Dict[str, Optional[str]] = {}
    for integration in INTEGRATIONS:
        if integration.distribution == STDLIB:
            versions[integration.name] = stdlib_version()  # always present: there is no distribution to find
            continue
        try:
            versions[integration.name] = metadata.version(integration.distribution)
        except metadata.PackageNotFoundError:
            versions[integration.name] = None
    return versions


def _stack_report(config: Any) -> List[dict]:
    """Installed HTTP stacks and what happens to their DashScope traffic under this configuration."""
    from ..stacks import REDIRECTED, STRICT_ONLY, installed_stacks

    rows = installed_stacks()
    for row in rows:
        integration = row["integration"]
        if row["coverage"] == REDIRECTED and integration in config.disabled_integrations:
            row["effective"] = f"integration {integration} disabled: " + ("blocked by strict mode's net" if config.strict else "NOT redirected")
        elif row["coverage"] == STRICT_ONLY:
            row["effective"] = "blocked (strict mode)" if config.strict else "NOT redirected (blocked in strict mode only)"
        elif row["coverage"] == REDIRECTED:
            row["effective"] = "redirected"
        else:
            row["effective"] = "not covered"
    return rows
