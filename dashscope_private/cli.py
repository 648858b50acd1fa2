"""The ``dashscope-private`` command: ``doctor``, ``demo`` and ``run``.

``doctor`` answers "will my program go private, and does the private path
work?"; ``demo`` shows it working on any machine against a loopback stand-in;
``run`` activates for one command where ``.pth`` files are not processed.
Stdlib only: the command must work before any SDK is installed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time

from . import __version__
from ._runtime import REGISTRY
from .config import ENDPOINT, VARIABLES, endpoint_base_path, load
from .errors import ConfigError, DashscopePrivateError
from .routing import Router

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, List, Optional, Sequence

__all__ = ["main"]

TYPICAL_URLS = (
    "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions",
    "https://dashscope.aliyuncs.com/api/v1/services/aigc/text-generation/generation",
    "wss://dashscope.aliyuncs.com/api-ws/v1/inference",
    "wss://dashscope.aliyuncs.com/api-ws/v1/realtime?model=qwen-omni-turbo-realtime",
)

EXIT_OK, EXIT_PROBLEMS, EXIT_CONFIG = 0, 1, 2


# ====================================================================== doctor


def _is_private_address(address: str) -> bool:
    """RFC 1918, carrier-grade NAT (100.64.0.0/10), loopback and IPv6 ULA: traffic that stays inside."""
    import ipaddress

    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    networks = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "::1/128", "fc00::/7")
    return any(ip in ipaddress.ip_network(n) for n in networks)


def _library_versions() -> Dict[str, Optional[str]]:
    """Each integration's library version, ``None`` when it is not installed."""
    from importlib import metadata

    from .stacks import stdlib_integrations, stdlib_version

    stdlib = stdlib_integrations()
    versions: Dict[str, Optional[str]] = {}
    for name in REGISTRY:  # integration names are the libraries' distribution names, except the stdlib's
        if name in stdlib:
            versions[name] = stdlib_version()  # always present: there is no distribution to find
            continue
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


_CHILD_CHECK = """
import json, logging, sys
messages = []
class Collect(logging.Handler):
    def emit(self, record):
        messages.append(record.getMessage())
logging.getLogger("dashscope_private").addHandler(Collect())
logging.getLogger("dashscope_private").setLevel(logging.WARNING)
import dashscope_private
from dashscope_private import _runtime
dashscope_private.activate(sys.argv[1])
result = {}
for name in json.loads(sys.argv[2]):
    module = _runtime.REGISTRY[name][0]
    try:
        __import__(module)
    except Exception as exc:
        result[name] = {"ok": False, "error": "import failed: %s: %s" % (type(exc).__name__, exc)}
        continue
    ok = name in _runtime.installed_integrations()
    problems = [m for m in messages if ("patch " + module) in m]
    result[name] = {"ok": ok and not problems, "error": "; ".join(problems) or (None if ok else "not installed")}
print(json.dumps(result))
"""


def _check_integrations(names: List[str], endpoint: str) -> Dict[str, dict]:
    """Import the libraries in a child process with the plugin active and report each integration."""
    if not names:
        return {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_PRIVATE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_package_parent(), env.get("PYTHONPATH", "")]))
    try:
        out = subprocess.run(
            [sys.executable, "-c", _CHILD_CHECK, endpoint, json.dumps(names)],
            env=env, capture_output=True, text=True, timeout=120,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])
    except Exception as exc:  # the check itself failed: say so, don't crash doctor
        return {name: {"ok": False, "error": f"check failed: {exc}"} for name in names}


def _resolve(host: str, port: int) -> tuple:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return [], str(exc)
    return sorted({info[4][0] for info in infos}), None


def _tcp_connect(host: str, port: int, timeout: float = 3.0) -> tuple:
    start = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return (time.perf_counter() - start) * 1000, None
    except OSError as exc:
        return None, str(exc)


def _probe(scheme: str, host: str, port: int, timeout: float = 10.0) -> dict:
    """One GET /compatible-mode/v1/models, directly (never through a proxy)."""
    import http.client

    connection_type = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    headers = {"User-Agent": f"dashscope-private-doctor/{__version__}"}
    key = os.environ.get("DASHSCOPE_API_KEY")
    if key:
        headers["Authorization"] = f"Bearer {key}"
    start = time.perf_counter()
    try:
        connection = connection_type(host, port, timeout=timeout)
        connection.request("GET", "/compatible-mode/v1/models", headers=headers)
        response = connection.getresponse()
        response.read()
        connection.close()
    except (OSError, http.client.HTTPException) as exc:
        return {"ok": False, "error": str(exc)}
    latency = (time.perf_counter() - start) * 1000
    # Any HTTP answer proves the path; 401/403 only says the key is missing or wrong.
    return {"ok": response.status < 500, "status": response.status, "latency_ms": round(latency, 1), "api_key_sent": bool(key)}


def doctor(args: argparse.Namespace) -> int:
    report: Dict[str, Any] = {"version": __version__, "python": sys.version.split()[0], "problems": []}
    problems: List[str] = report["problems"]
    environ = _settings_environment(report)
    try:
        config = load(environ)
    except ConfigError as exc:
        report["config_error"] = str(exc)
        report["verdict"] = f"configuration error: {exc}"
        _emit(args, report, [f"✗ {exc}", *_settings_lines(report), "verdict: configuration error (requests to DashScope public hosts are blocked)"])
        return EXIT_CONFIG
    if config is None:
        disabled = bool(environ.get(ENDPOINT))
        report["verdict"] = "inactive: " + ("DASHSCOPE_PRIVATE_DISABLE is set" if disabled else f"{ENDPOINT} is not set")
        _emit(args, report, [*_settings_lines(report), report["verdict"]])
        return EXIT_PROBLEMS

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
    report["warnings"] = _settings_warnings(config, report)
    report["urls"] = {}
    for url in TYPICAL_URLS:
        try:
            report["urls"][url] = router.rewrite(url)
        except DashscopePrivateError as exc:
            report["urls"][url] = f"blocked: {exc}"

    versions = _library_versions()
    to_check = [n for n, v in versions.items() if v is not None and n not in config.disabled_integrations]
    checks = _check_integrations(to_check, environ[ENDPOINT])
    report["libraries"] = {
        name: {"version": versions[name], "disabled": name in config.disabled_integrations, **checks.get(name, {})}
        for name in REGISTRY
    }
    for name, info in report["libraries"].items():
        if info["version"] and not info["disabled"] and not info.get("ok"):
            problems.append(f"integration {name} does not install on {name} {info['version']}: {info.get('error')}")

    report["stacks"] = _stack_report(config)

    scheme = endpoint.scheme or ("http" if endpoint.is_privatelink_domain else "https")
    port = endpoint.port or (443 if scheme == "https" else 80)
    addresses, dns_error = _resolve(endpoint.host, port)
    public = [a for a in addresses if not _is_private_address(a)]
    report["dns"] = {"host": endpoint.host, "addresses": addresses, "error": dns_error, "not_private": public}
    if dns_error:
        problems.append(f"DNS: {endpoint.host} does not resolve ({dns_error})")
    if public:
        problems.append(f"DNS: {endpoint.host} resolves to non-private address(es) {', '.join(public)}: traffic would not stay in the VPC")
    if addresses:
        connect_ms, connect_error = _tcp_connect(endpoint.host, port)
        report["tcp"] = {"port": port, "connect_ms": round(connect_ms, 1) if connect_ms is not None else None, "error": connect_error}
        if connect_error:
            problems.append(f"TCP: cannot connect to {endpoint.host}:{port} ({connect_error})")
        if args.probe and not connect_error:
            report["probe"] = _probe(scheme, endpoint.host, port)
            if not report["probe"]["ok"]:
                problems.append(f"probe: GET /compatible-mode/v1/models failed ({report['probe'].get('error') or report['probe'].get('status')})")

    report["verdict"] = "ok: DashScope traffic will go through " + str(endpoint) if not problems else f"{len(problems)} problem(s) found"
    lines = _doctor_lines(report)
    lines[-1:-1] = _settings_lines(report)  # before the verdict
    _emit(args, report, lines)
    return EXIT_PROBLEMS if problems else EXIT_OK


def _stack_report(config: Any) -> List[dict]:
    """Installed HTTP stacks and what happens to their DashScope traffic under this configuration."""
    from .stacks import REDIRECTED, STRICT_ONLY, installed_stacks

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


def _stack_lines(rows: List[dict]) -> List[str]:
    lines = ["", "HTTP stacks (from package metadata; nothing imported):"]
    for row in rows:
        note = f"  ({row['note']})" if row["note"] else ""
        lines.append(f"  {row['name']:<17} {row['version']:<12} {row['effective']}{note}")
    return lines


# ---------------------------------------------------------------------- doctor: where settings live


def _read_dotenv(path: str) -> Dict[str, str]:
    """The ``DASHSCOPE_PRIVATE_*`` assignments of a ``.env`` file (python-dotenv's common syntax).

    Only our variables are kept: nothing else of the file (API keys) is read into the report.
    """
    found: Dict[str, str] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            line = raw.strip()
            if line.startswith("export "):
                line = line[len("export ") :].lstrip()
            name, sep, value = line.partition("=")
            name = name.strip()
            if not sep or not name.startswith("DASHSCOPE_PRIVATE_"):
                continue
            value = value.strip()
            if value[:1] in ("'", '"') and value.count(value[0]) >= 2:
                value = value[1 : value.index(value[0], 1)]
            elif " #" in value:
                value = value.split(" #", 1)[0].rstrip()
            found[name] = value
    return found


def _settings_environment(report: Dict[str, Any]) -> Dict[str, str]:
    """The environment doctor checks: the process's, plus a ``./.env``'s variables it lacks.

    A ``.env`` in the working folder that names our variables while the process
    environment lacks them is the case activation cannot see coming: the program
    goes private only if it loads the file into ``os.environ`` (``load_dotenv()``)
    before its first request. doctor says so, and checks the ``.env``'s values
    (the process environment wins, as with ``load_dotenv()``).
    """
    environ = dict(os.environ)
    path = os.path.join(os.getcwd(), ".env")
    try:
        found = _read_dotenv(path) if os.path.isfile(path) else {}
    except OSError:
        found = {}
    if not found:
        return environ
    missing = sorted(name for name in found if name not in os.environ)
    differs = sorted(name for name in found if name in os.environ and os.environ[name] != found[name])
    report["dotenv"] = {"path": path, "variables": sorted(found), "missing_from_environment": missing, "differs_from_environment": differs, "checked_from_file": missing}
    for name in missing:
        environ[name] = found[name]
    if missing:
        report["dotenv"]["advice"] = (
            f"{path} sets {', '.join(missing)}, which this shell's environment lacks. A program goes private only if it "
            "loads that file into os.environ before its first request: load_dotenv() at its top does (dashscope-private "
            "watches os.environ); a program that reads the file only into its own settings (dotenv_values() without "
            "os.environ, pydantic-settings, a framework's --env-file) never tells us. Then export the variables instead: "
            "set -a; . ./.env; set +a"
        )
    if differs:
        report["dotenv"]["advice_differs"] = (
            f"{path} sets {', '.join(differs)} to other values than this environment; load_dotenv() keeps the "
            "environment's (override=False), so those are what a program uses"
        )
    return environ


def _settings_warnings(config: Any, report: Dict[str, Any]) -> List[str]:
    """Things that work but deserve a look: plain HTTP to the endpoint."""
    warnings: List[str] = []
    endpoint = config.endpoint
    plain = endpoint.scheme == "http" or (endpoint.scheme is None and endpoint.is_privatelink_domain)
    loopback = endpoint.host in ("localhost", "::1") or endpoint.host.startswith("127.")
    if plain and not loopback:
        warnings.append(
            f"the endpoint {endpoint} speaks plain HTTP: API keys and prompts cross the VPC unencrypted. The default "
            "ep-*.privatelink.aliyuncs.com domain serves HTTP only; for HTTPS enable the endpoint's custom service "
            "domain (private DNS, e.g. vpc-cn-beijing.dashscope.aliyuncs.com) and set DASHSCOPE_PRIVATE_ENDPOINT to it"
        )
    return warnings


def _settings_lines(report: Dict[str, Any]) -> List[str]:
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


def _doctor_lines(report: Dict[str, Any]) -> List[str]:
    config = report["config"]
    lines = [f"dashscope-private {report['version']} on Python {report['python']}", "", "configuration:"]
    for name, value in (("endpoint", config["endpoint"]), ("hosts", ", ".join(config["hosts"])), ("strict", config["strict"]), ("oss", config["oss"] or "-"), ("allow", ", ".join(config["allow"]) or "-"), ("disabled", ", ".join(config["disabled_integrations"]) or "-")):
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
    lines += _stack_lines(report["stacks"])
    lines += ["", "typical URLs:"]
    lines += [f"  {src}\n    -> {dst}" for src, dst in report["urls"].items()]
    dns = report["dns"]
    lines += ["", f"DNS {dns['host']}: " + (", ".join(dns["addresses"]) or f"unresolved ({dns['error']})") + ("  (NOT PRIVATE: " + ", ".join(dns["not_private"]) + ")" if dns["not_private"] else "")]
    if "tcp" in report:
        tcp = report["tcp"]
        lines.append(f"TCP port {tcp['port']}: " + (f"connected in {tcp['connect_ms']} ms" if tcp["connect_ms"] is not None else f"failed ({tcp['error']})"))
    if "probe" in report:
        probe = report["probe"]
        lines.append("probe GET /compatible-mode/v1/models: " + (f"HTTP {probe['status']} in {probe['latency_ms']} ms" if "status" in probe else f"failed ({probe['error']})"))
    lines.append("")
    lines += [f"✗ {p}" for p in report["problems"]]
    lines.append("verdict: " + report["verdict"])
    return lines


def _emit(args: argparse.Namespace, report: Dict[str, Any], lines: List[str]) -> None:
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print("\n".join(lines))


# ====================================================================== run


def _package_parent() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_directory() -> str:
    """A folder holding ``sitecustomize.py`` plus links to this very package and wrapt.

    Only those two are exposed (never the rest of our site-packages, which
    another interpreter must not import), and they are this exact copy, so
    the wrapper and the package never disagree on version.
    """
    import hashlib
    import tempfile

    import wrapt

    package_dir = os.path.dirname(os.path.abspath(__file__))
    wrapt_dir = os.path.dirname(os.path.abspath(wrapt.__file__))
    key = hashlib.sha256(f"{__version__}|{package_dir}|{wrapt_dir}".encode()).hexdigest()[:16]
    target = os.path.join(tempfile.gettempdir(), f"dashscope-private-run-{key}")
    if os.path.isfile(os.path.join(target, "sitecustomize.py")):
        return target
    staging = tempfile.mkdtemp(prefix="dashscope-private-run-")
    shutil.copyfile(os.path.join(package_dir, "_sitecustomize.py"), os.path.join(staging, "sitecustomize.py"))
    for name, source in (("dashscope_private", package_dir), ("wrapt", wrapt_dir)):
        try:
            os.symlink(source, os.path.join(staging, name))
        except OSError:
            shutil.copytree(source, os.path.join(staging, name))
    try:
        os.rename(staging, target)
    except OSError:  # another process won the race: use theirs
        shutil.rmtree(staging, ignore_errors=True)
    return target


def child_environment(endpoint: Optional[str] = None, base: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    env = dict(os.environ if base is None else base)
    if endpoint is not None:
        env[ENDPOINT] = endpoint
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [run_directory(), env.get("PYTHONPATH", "")]))
    return env


def run(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        print("dashscope-private run: give a command, e.g. dashscope-private run -- python app.py", file=sys.stderr)
        return EXIT_CONFIG
    env = child_environment(args.endpoint)
    try:
        load(env)
    except ConfigError as exc:
        print(f"dashscope-private run: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if "-S" in command[1:]:
        print(
            "dashscope-private run: note: python -S skips sitecustomize, so nothing activates; "
            "add `import dashscope_private.auto` at the top of the program instead",
            file=sys.stderr,
        )
    try:
        if os.name == "posix":
            sys.stdout.flush()
            sys.stderr.flush()
            executable = shutil.which(command[0], path=env.get("PATH")) or command[0]
            os.execvpe(executable, command, env)
        return subprocess.call(command, env=env)
    except FileNotFoundError:
        print(f"dashscope-private run: command not found: {command[0]}", file=sys.stderr)
        return 127


# ====================================================================== demo

DEMO_PROGRAMS = (
    ("guide_openai.py", "OpenAI SDK (the guide's example, public base_url in the code)", "openai"),
    ("guide_dashscope.py", "DashScope SDK (the guide's example, public base_http_api_url)", "dashscope"),
    ("guide_http.py", "raw HTTP with requests (the guide's curl call)", "requests"),
)


def _examples_dir() -> str:
    packaged = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_examples")
    if os.path.isdir(packaged):
        return packaged
    return os.path.join(_package_parent(), "examples")  # a source checkout


def demo(args: argparse.Namespace) -> int:
    from importlib import util as importlib_util

    from .standin import StandIn

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


# ====================================================================== main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dashscope-private", description="Send Alibaba Cloud Model Studio (DashScope) traffic through your PrivateLink endpoint.")
    parser.add_argument("--version", action="version", version=f"dashscope-private {__version__}")
    sub = parser.add_subparsers(dest="subcommand")
    p = sub.add_parser("doctor", help="check the configuration, the libraries and the private path")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--probe", action="store_true", help="also send one HTTP request (GET /compatible-mode/v1/models)")
    p.set_defaults(func=doctor)
    p = sub.add_parser("demo", help="show it working against a built-in loopback stand-in endpoint")
    p.set_defaults(func=demo)
    p = sub.add_parser(
        "run",
        help="run a command with private routing active (no .pth needed)",
        description="Run COMMAND with private routing active, through a sitecustomize on PYTHONPATH. "
        "Note: `python -S` skips sitecustomize; use `import dashscope_private.auto` there.",
    )
    p.add_argument("--endpoint", help=f"the endpoint (default: ${ENDPOINT})")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    p.set_defaults(func=run)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_CONFIG
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
