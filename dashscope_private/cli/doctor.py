"""``doctor``: will my program go private, and does the private path work?

``build_report`` probes and returns plain data (the ``--json`` output, as is);
``render`` says the same data in text; ``exit_code`` reads it. Nothing here prints.
"""

from __future__ import annotations

import sys

from .. import __version__
from ..config import INTEGRATION_NAMES
from ..registry import INTEGRATIONS, STDLIB
from ..config import ENDPOINT, VARIABLES, endpoint_base_path, load
from ..errors import ConfigError, DashscopePrivateError
from ..routing import Router
from . import probes
from ._common import EXIT_CONFIG, EXIT_OK, EXIT_PROBLEMS
from .integration_check import PROBE_URL, check_integrations
from .render import emit
from .settings import settings_environment, settings_warnings

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    import argparse
    from typing import Any, Dict, List, Optional

__all__ = ["TYPICAL_URLS", "build_report", "exit_code", "doctor"]

TYPICAL_URLS = (
    "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions",
    "https://dashscope.aliyuncs.com/api/v1/services/aigc/text-generation/generation",
    "wss://dashscope.aliyuncs.com/api-ws/v1/inference",
    "wss://dashscope.aliyuncs.com/api-ws/v1/realtime?model=qwen-omni-turbo-realtime",
)


def doctor(args: argparse.Namespace) -> int:
    """The command: build the report, print it (text or ``--json``), exit with its code."""
    report = build_report(probe=args.probe)
    emit(report, as_json=args.json)
    return exit_code(report)


def exit_code(report: Dict[str, Any]) -> int:
    """2 for a configuration error; 1 when inactive or a problem was found; else 0."""
    if "config_error" in report:
        return EXIT_CONFIG
    if "config" not in report or report["problems"]:
        return EXIT_PROBLEMS
    return EXIT_OK


def build_report(probe: bool = False) -> Dict[str, Any]:
    """Everything doctor finds, as JSON-ready data: settings, libraries, stacks, URLs, DNS, TCP, probe."""
    report: Dict[str, Any] = {"version": __version__, "python": sys.version.split()[0], "problems": []}
    problems: List[str] = report["problems"]
    environ = settings_environment(report)
    try:
        config = load(environ)
    except ConfigError as exc:
        report["config_error"] = str(exc)
        report["verdict"] = f"configuration error: {exc}"
        return report
    if config is None:
        disabled = bool(environ.get(ENDPOINT))
        report["verdict"] = "inactive: " + ("DASHSCOPE_PRIVATE_DISABLE is set" if disabled else f"{ENDPOINT} is not set")
        return report

    endpoint = config.endpoint
    router = Router(config)
    sources = {**dict(config.sources), **{name: ".env" for name in report.get("dotenv", {}).get("checked_from_file", ())}}
    report["config"] = {
        "endpoint": str(endpoint),
        "hosts": list(config.hosts.patterns()),
        "strict": config.strict,
        "oss": config.oss or None,
        "allow": list(config.allow.patterns()),
        "disabled_integrations": sorted(config.disabled_integrations),
        "log": config.log_level,
        "sources": {name: sources.get(name, "default") for name in VARIABLES},
        "dropped_path": endpoint_base_path(environ[ENDPOINT]),
    }
    report["warnings"] = settings_warnings(config, report)
    report["urls"] = {}
    for url in TYPICAL_URLS:
        try:
            report["urls"][url] = router.rewrite(url)
        except DashscopePrivateError as exc:
            report["urls"][url] = f"blocked: {exc}"

    versions = _library_versions()
    to_check = [n for n, v in versions.items() if v is not None and n not in config.disabled_integrations]
    checks = check_integrations(to_check, environ[ENDPOINT], _routed(router, PROBE_URL))
    report["libraries"] = {
        name: {"version": versions[name], "disabled": name in config.disabled_integrations, **checks.get(name, {})}
        for name in INTEGRATION_NAMES
    }
    for name, info in report["libraries"].items():
        if info["version"] and not info["disabled"] and not info.get("ok"):
            problems.append(f"integration {name} does not install on {name} {info['version']}: {info.get('error')}")

    report["stacks"] = _stack_report(config)
    _check_network(report, endpoint, probe)
    report["verdict"] = "ok: DashScope traffic will go through " + str(endpoint) if not problems else f"{len(problems)} problem(s) found"
    return report


def _routed(router: Router, url: str) -> str:
    try:
        return router.rewrite(url)
    except DashscopePrivateError as exc:
        return f"blocked: {exc}"


def _check_network(report: Dict[str, Any], endpoint: Any, probe: bool) -> None:
    """DNS (private addresses only), TCP, and with ``probe`` one HTTP request: ``dns``, ``tcp``, ``probe``."""
    problems: List[str] = report["problems"]
    scheme = endpoint.scheme or ("http" if endpoint.is_privatelink_domain else "https")
    port = endpoint.port or (443 if scheme == "https" else 80)
    addresses, dns_error = probes.resolve(endpoint.host, port)
    public = [a for a in addresses if not probes.is_private_address(a)]
    report["dns"] = {"host": endpoint.host, "addresses": addresses, "error": dns_error, "not_private": public}
    if dns_error:
        problems.append(f"DNS: {endpoint.host} does not resolve ({dns_error})")
    if public:
        problems.append(f"DNS: {endpoint.host} resolves to non-private address(es) {', '.join(public)}: traffic would not stay in the VPC")
    if not addresses:
        return
    connect_ms, connect_error = probes.tcp_connect(endpoint.host, port)
    report["tcp"] = {"port": port, "connect_ms": round(connect_ms, 1) if connect_ms is not None else None, "error": connect_error}
    if connect_error:
        problems.append(f"TCP: cannot connect to {endpoint.host}:{port} ({connect_error})")
    if probe and not connect_error:
        report["probe"] = probes.probe(scheme, endpoint.host, port)
        if not report["probe"]["ok"]:
            problems.append(f"probe: GET /compatible-mode/v1/models failed ({report['probe'].get('error') or report['probe'].get('status')})")


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
