"""The ``dashscope-private`` command: ``doctor``, ``demo``, ``run`` and ``report``.

``doctor`` answers "will my program go private, and does the private path
work?"; ``demo`` shows it working on any machine against a loopback stand-in;
``run`` activates for one command where ``.pth`` files are not processed.
Stdlib only: the command must work before any SDK is installed.

One module per job: ``doctor`` builds a report (data), ``render`` prints it
(text or ``--json``), ``settings`` and ``probes`` feed it, ``integration_check``
and ``_child`` are the two halves of the child-process check; ``demo`` and
``run`` are the other commands. This module parses arguments.
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from ..config import ENDPOINT
from ._common import EXIT_CONFIG, EXIT_OK, EXIT_PROBLEMS
from .demo import demo
from .doctor import doctor
from .probes import is_private_address as _is_private_address
from .render import settings_lines as _settings_lines
from .report import report
from .run import child_environment, run, run_directory
from .settings import read_dotenv as _read_dotenv
from .settings import settings_warnings as _settings_warnings

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Optional, Sequence

# The underscored names are this module's names from before the split, kept for code that imports them.
__all__ = ["main", "build_parser", "run_directory", "child_environment", "EXIT_OK", "EXIT_PROBLEMS", "EXIT_CONFIG",
           "_is_private_address", "_read_dotenv", "_settings_lines", "_settings_warnings"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dashscope-private", description="Send Alibaba Cloud Model Studio (DashScope) traffic through your PrivateLink endpoint.")
    parser.add_argument("--version", action="version", version=f"dashscope-private {__version__}")
    sub = parser.add_subparsers(dest="subcommand")
    p = sub.add_parser("doctor", help="check the configuration, the libraries and the private path")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--probe", action="store_true", help="also ask each route's endpoint for each API family (chat, generation, WebSocket inference, realtime, files, batches, uploads, anthropic)")
    p.add_argument("--host", action="append", metavar="HOST", help="say which route HOST (e.g. a workspace's ws-xxx.cn-beijing.maas.aliyuncs.com) takes; repeatable")
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
    p = sub.add_parser(
        "report",
        help="merge audit trails (DASHSCOPE_PRIVATE_AUDIT) into a summary; exit 1 on public or blocked decisions",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="audit files (JSON lines) from any processes and machines; - reads stdin")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=report)
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
