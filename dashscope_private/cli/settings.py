"""doctor on where settings live: a ``./.env`` the environment lacks, and settings that work but deserve a look.

Builds report data only; ``render`` turns it into text.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, List

__all__ = ["read_dotenv", "settings_environment", "settings_warnings"]


def read_dotenv(path: str) -> Dict[str, str]:
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


def settings_environment(report: Dict[str, Any]) -> Dict[str, str]:
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
        found = read_dotenv(path) if os.path.isfile(path) else {}
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


def settings_warnings(config: Any, report: Dict[str, Any]) -> List[str]:
    """Things that work but deserve a look: plain HTTP to an endpoint."""
    warnings: List[str] = []
    for endpoint in config.endpoints():
        plain = endpoint.scheme == "http" or (endpoint.scheme is None and endpoint.is_privatelink_domain)
        loopback = endpoint.host in ("localhost", "::1") or endpoint.host.startswith("127.")
        if plain and not loopback:
            warnings.append(
                f"the endpoint {endpoint} speaks plain HTTP: API keys and prompts cross the VPC unencrypted. The default "
                "ep-*.privatelink.aliyuncs.com domain serves HTTP only; for HTTPS enable the endpoint's custom service "
                "domain (private DNS, e.g. vpc-cn-beijing.dashscope.aliyuncs.com) and set DASHSCOPE_PRIVATE_ENDPOINT to it"
            )
    return warnings
