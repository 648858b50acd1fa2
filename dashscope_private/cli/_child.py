"""doctor's integration check, the child's half: ``python -m dashscope_private.cli._child ENDPOINT NAMES_JSON``.

Activates with ENDPOINT, imports each named integration's library, and prints
one JSON line of what it found (``integration_check.read_child_report`` reads
it). Facts only, taken from the runtime's own state, never from log messages.
"""

from __future__ import annotations

import json
import sys

from .integration_check import PROBE_URL, REPORT_KEY

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, List, Optional, Sequence

__all__ = ["inspect", "main"]


def inspect(endpoint: str, names: List[str]) -> Dict[str, Any]:
    """Activate, import the libraries behind ``names``, and describe the result as plain data."""
    import dashscope_private
    from dashscope_private import _runtime
    from dashscope_private.registry import INTEGRATIONS_BY_NAME

    dashscope_private.activate(endpoint)
    import_errors: Dict[str, Optional[str]] = {}
    for name in names:
        try:
            __import__(INTEGRATIONS_BY_NAME[name].modules[0])
            import_errors[name] = None
        except Exception as exc:
            import_errors[name] = f"{type(exc).__name__}: {exc}"
    return {
        REPORT_KEY: 1,
        "active": _runtime.is_active(),
        "installed": sorted(_runtime.installed_integrations()),
        "failures": _runtime.integration_failures(),
        "import_errors": import_errors,
        "probe": {"url": PROBE_URL, "routed": _runtime.route_url(PROBE_URL, warn=False)},
    }


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    report = inspect(args[0], json.loads(args[1]))
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
