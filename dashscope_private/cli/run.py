"""``run``: activate for one command where ``.pth`` files are not processed.

The command runs with a ``sitecustomize`` on ``PYTHONPATH`` that activates
from ``DASHSCOPE_PRIVATE_ENDPOINT``; ``demo`` uses the same environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from .. import __version__
from ..config import ENDPOINT, load
from ..errors import ConfigError
from ._common import EXIT_CONFIG, PACKAGE_DIR

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    import argparse
    from typing import Dict, Optional

__all__ = ["run_directory", "child_environment", "run"]


def run_directory() -> str:
    """A folder holding ``sitecustomize.py`` plus links to this very package and wrapt.

    Only those two are exposed (never the rest of our site-packages, which
    another interpreter must not import), and they are this exact copy, so
    the wrapper and the package never disagree on version.
    """
    import hashlib
    import tempfile

    import wrapt

    package_dir = PACKAGE_DIR
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
    """``base`` (default: this environment) with ``endpoint`` set and ``run_directory()`` first on ``PYTHONPATH``."""
    env = dict(os.environ if base is None else base)
    if endpoint is not None:
        env[ENDPOINT] = endpoint
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [run_directory(), env.get("PYTHONPATH", "")]))
    return env


def run(args: argparse.Namespace) -> int:
    """The command: check the endpoint, then become the command (``exec`` on POSIX) or wait for it."""
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
