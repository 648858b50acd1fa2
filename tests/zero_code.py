"""Unchanged programs in fresh interpreters: what the zero-code modules share.

``test_zero_code_matrix.py`` (one request per program, a cell of the coverage
matrix) and ``test_zero_code_routes.py`` (several requests per program, routed
to several endpoints) both write a program that starts with a stack's import
form and then calls a function of ``stacks/_program.py``, run it with the
``user_venv`` interpreter and only environment variables set (the loopback
guard ``stacks/_guard`` on ``PYTHONPATH``), and read the one report line it
prints. This module holds that part; each test module judges what its programs
did.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Dict, List, Optional

import stacks
from support import PROXY_VARIABLES
from stacks._program import MARKER

TESTS = os.path.dirname(os.path.abspath(__file__))
GUARD = os.path.join(TESTS, "stacks", "_guard")
DRIVERS = {driver.__name__.rpartition(".")[2]: driver for driver in stacks.drivers()}
LIBRARIES = sorted({driver.LIBRARY for driver in DRIVERS.values()})
#: Programs run at a time (``ZERO_CODE_MATRIX_WORKERS``, default twice the CPUs).
WORKERS = int(os.environ.get("ZERO_CODE_MATRIX_WORKERS") or 2 * (os.cpu_count() or 1))
TIMEOUT = 180


def available(driver: ModuleType) -> bool:
    """Whether this run has the driver's library (the user venv has the same versions)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return importlib.util.find_spec(driver.LIBRARY) is not None
        except ImportError:
            return False


def cost(form: str) -> int:
    """Roughly how long a program starting with ``form`` takes (the SDKs' imports dominate): run the longest first."""
    return {"dspy": 4, "dashscope": 3, "openai": 3}.get(form.split()[1].partition(".")[0], 1)


def program(form: str, function: str, *args: object) -> str:
    """An unchanged program: ``form`` first, then ``stacks._program.function(*args, first_imports)``, where
    ``first_imports`` are the drivers' libraries that the first statement imported."""
    call = ", ".join([*(repr(arg) for arg in args), "first_imports"])
    return (
        f"{form}\n"  # first: nothing (no stdlib HTTP module, no helper of ours) is imported before it
        "import sys\n"
        f"first_imports = [name for name in {LIBRARIES!r} if name in sys.modules]\n"
        f"sys.path.insert(0, {TESTS!r})\n"
        f"from stacks._program import {function}\n"
        f"{function}({call})\n"
    )


def environment(settings: Dict[str, str], proxy: Optional[str] = None) -> Dict[str, str]:
    """This session's environment without our variables, proxies or PYTHONPATH; then the guard, ``settings``
    and, with ``proxy``, every proxy variable pointing at it (``NO_PROXY`` naming only ``internal.example``)."""
    dropped = set(PROXY_VARIABLES) | {"NO_PROXY", "no_proxy", "PYTHONPATH"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_PRIVATE_") and k not in dropped}
    env["PYTHONPATH"] = GUARD
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # DSPy: its bundled price map, not one fetched from GitHub
    if proxy is not None:
        env.update({name: proxy for name in PROXY_VARIABLES})
        env["NO_PROXY"] = env["no_proxy"] = "internal.example"
    env.update(settings)
    return env


@dataclass
class Ran:
    report: Optional[dict]  #: the program's report line, ``None`` when it printed none (it crashed)
    stderr: str
    seconds: float


def _text(output) -> str:  # type: ignore[no-untyped-def]
    return output.decode("utf-8", "replace") if isinstance(output, bytes) else output or ""


def run_program(python: str, workdir: str, name: str, text: str, env: Dict[str, str]) -> Ran:
    """Write ``text`` to ``workdir/name.py``, run it with ``python`` and ``env``; its last report line."""
    path = os.path.join(workdir, name + ".py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    started = time.monotonic()
    try:
        done = subprocess.run([python, path], cwd=workdir, env=env, capture_output=True, text=True, timeout=TIMEOUT)
        stdout, stderr = done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:  # its output so far (bytes, whatever text= said)
        stdout, stderr = _text(exc.stdout), f"timed out after {TIMEOUT} s\n" + _text(exc.stderr)
    seconds = time.monotonic() - started
    time.sleep(0.05)  # a request a stand-in is still recording
    lines = [line for line in stdout.splitlines() if line.startswith(MARKER)]
    return Ran(json.loads(lines[-1][len(MARKER):]) if lines else None, stderr, seconds)


@dataclass
class Outcome:
    """What one zero-code program did, and the problems found with it (none: the cell passed)."""

    cell: Any
    problems: List[str] = field(default_factory=list)
    report: Optional[dict] = None
    trapped: list = field(default_factory=list)
    seconds: float = 0.0
    stderr: str = ""
    program: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


def check(outcome: "Optional[Outcome]", cell: Any) -> None:
    """One program's test: skipped when its library is not installed in this run, failed by any problem."""
    import pytest

    if outcome is None:
        pytest.skip(f"{cell.module.LIBRARY} is not installed in this run")
    assert outcome.ok, outcome.explain()  # type: ignore[attr-defined]
