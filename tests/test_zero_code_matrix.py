"""The zero-code matrix: every cell of the coverage matrix as an unchanged program in a fresh interpreter.

The in-process matrix (``test_matrix.py``) runs after pytest has imported half
the standard library, and activates with ``activate()``. A user's program does
neither. Here each cell is a program of its own, run by the ``user_venv``
interpreter (the session's wheel installed next to this run's SDK versions),
with only environment variables set:

- ``DASHSCOPE_PRIVATE_ENDPOINT`` = a loopback stand-in (one per cell), plus
  ``DASHSCOPE_PRIVATE_STRICT=1`` in strict cells;
- "via proxy": ``HTTP(S)_PROXY``/``ALL_PROXY`` point at a loopback trap (one per
  cell) and ``NO_PROXY`` names only ``internal.example``; "direct": no proxy
  variable at all;
- ``PYTHONPATH`` = ``stacks/_guard``, whose ``sitecustomize`` installs an audit
  hook that refuses (and records) every lookup or connection that is not
  loopback, before it happens, and imports nothing.

Axes: each driver in ``tests/stacks`` × {HTTP, WebSocket where it has it} ×
{direct, via proxy} × {redirect, strict-refuse} × each of the driver's
``IMPORT_FORMS`` as the program's **first statement** (then the driver sends
its request: ``stacks/_program.py``). Plus, per stack and kind:

- "imported by another stack first": each other stack's main import form
  (its first ``IMPORT_FORMS`` entry) that imports this stack's library on its
  way (``import aiohttp`` imports ``urllib.request`` and ``http.client``;
  ``import requests`` imports urllib3) as the first statement, then this
  stack's request; for the standard library's stacks every other stack's
  form, since any program may use them. Which forms import what is what the
  import-form programs report (the libraries in ``sys.modules`` right after
  their first statement), so it follows each run's versions; these programs
  are queued as those reports come in, redirected via the proxy only, the
  demanding route (a request that misses goes to the trap or the guard;
  strict mode's net is process-wide and has its own cells). One test per
  stack and kind;
- "settings during import": the program starts with the variable unset, and
  writes it to ``os.environ`` while another thread is held in the middle of
  the stack's import (``_program.race_then_run``); the request must still land
  on the stand-in.

Each cell checks, as ``test_matrix.py`` does: redirect → the stand-in got the
request on the right path with its own Host, nothing reached the trap, the
guard refused nothing; strict → ``PublicEgressBlocked`` for the unredirected
``dashscope-intl.aliyuncs.com``, nothing at the stand-in, the trap or the guard.

The cells run in parallel (``ZERO_CODE_MATRIX_WORKERS`` processes at a time,
default twice the CPUs) when the module starts; each test then reports its
cell. With ``STACK_MATRIX_JSON=path`` the results are written there, and
``tests/stacks/table.py`` turns them into the README's "What is covered" table.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import sysconfig
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from types import ModuleType
from typing import Dict, List, Optional

import pytest

import stacks
from support import PROXY_VARIABLES
from dashscope_private.standin import StandIn
from trap import Trap
import zero_code  # noqa: E402
from zero_code import DRIVERS, GUARD, TESTS, WORKERS, available, cost, environment, program, run_program

pytestmark = pytest.mark.slow

BLOCKED_HOST = "dashscope-intl.aliyuncs.com"


@dataclass(frozen=True)
class Cell:
    driver: str  #: the driver's module name in ``tests/stacks``
    kind: str  #: http | ws
    route: str  #: direct | proxy
    mode: str  #: redirect | strict
    form: str  #: the program's first statement (for ``during``: the import the variable is set in)
    case: str = "first"  #: first (the stack's own import form) | foreign (another stack's) | during

    @property
    def during(self) -> bool:
        return self.case == "during"

    @property
    def id(self) -> str:
        form = re.sub(r"\W+", "_", self.form).strip("_")
        if self.during:
            return f"{self.driver}-{self.kind}-set_during-{form}"
        if self.case == "foreign":
            return f"{self.driver}-{self.kind}-{self.route}-{self.mode}-after-{form}"
        return f"{self.driver}-{self.kind}-{self.route}-{self.mode}-{form}"

    @property
    def module(self) -> ModuleType:
        return DRIVERS[self.driver]


def _cells() -> List[Cell]:
    """The import-form and settings-during-import cells (the "foreign" ones are found at run time)."""
    cells = []
    for name, driver in DRIVERS.items():
        strict_only = getattr(driver, "STRICT_ONLY", False)
        for kind in ("http", "ws"):
            if not hasattr(driver, kind):
                continue
            for form in driver.IMPORT_FORMS:
                for route in ("direct", "proxy"):
                    for mode in ("strict",) if strict_only else ("redirect", "strict"):
                        cells.append(Cell(name, kind, route, mode, form))
            if not strict_only:
                cells.append(Cell(name, kind, "proxy", "redirect", driver.IMPORT_FORMS[0], "during"))
    return cells


#: The import form each "foreign" program starts with: each stack's first (main) form, once.
FOREIGN_FORMS = sorted({driver.IMPORT_FORMS[0] for driver in DRIVERS.values() if not getattr(driver, "STRICT_ONLY", False)})


def _in_stdlib(library: str) -> bool:
    spec = importlib.util.find_spec(library.partition(".")[0])
    origin = getattr(spec, "origin", None) or ""
    return origin.startswith(sysconfig.get_paths()["stdlib"]) and "-packages" not in origin


def _foreign_cells(driver: str, kind: str, form: str, first_imports: List[str]) -> List[Cell]:
    """``form`` first, then this driver's request, if ``form`` is another stack's and imported this driver's
    library; for a standard-library stack (any program may use it, whatever it imported first), any form."""
    module = DRIVERS[driver]
    if form in FOREIGN_FORMS and form not in module.IMPORT_FORMS and (module.LIBRARY in first_imports or _in_stdlib(module.LIBRARY)):
        return [Cell(driver, kind, "proxy", "redirect", form, "foreign")]
    return []


CELLS = _cells()
#: (driver, kind) of each "imported by another stack first" test.
FOREIGN = [(name, kind) for name, driver in DRIVERS.items() if not getattr(driver, "STRICT_ONLY", False) for kind in ("http", "ws") if hasattr(driver, kind)]


@dataclass
class Outcome(zero_code.Outcome):
    cell: Cell
    records: list = field(default_factory=list)

    def explain(self) -> str:
        report = dict(self.report or {})
        traceback = report.pop("traceback", "")
        return "\n".join(
            [f"cell {self.cell.id}: " + "; ".join(self.problems), "--- program", self.program.rstrip(), "--- report", json.dumps(report, indent=1)]
            + [f"--- stand-in saw: {[(r.method, r.path, r.host) for r in self.records]}", f"--- trap saw: {self.trapped}"]
            + (["--- traceback", traceback.rstrip()] if traceback else [])
            + ["--- stderr (tail)", self.stderr[-3000:].rstrip()]
        )


def _program(cell: Cell, url: str, endpoint: str) -> str:
    if cell.during:
        return (
            "import sys\n"
            f"sys.path.insert(0, {TESTS!r})\n"
            "from stacks._program import race_then_run\n"
            f"race_then_run({cell.form!r}, {endpoint!r}, {cell.driver!r}, {cell.kind!r}, {url!r})\n"
        )
    return program(cell.form, "run_cell", cell.driver, cell.kind, url)


def _environment(cell: Cell, endpoint: str, trap_url: str) -> Dict[str, str]:
    """The cell's settings (none at start for ``during``) and proxies."""
    settings = {} if cell.during else {"DASHSCOPE_PRIVATE_ENDPOINT": endpoint}
    if cell.mode == "strict":
        settings["DASHSCOPE_PRIVATE_STRICT"] = "1"
    return environment(settings, trap_url if cell.route == "proxy" else None)


def _judge(outcome: Outcome, standin: StandIn) -> None:
    cell, report, problems = outcome.cell, outcome.report or {}, outcome.problems
    if report.get("escapes"):
        problems.append(f"the loopback guard refused {report['escapes']} (the request went public)")
    if outcome.trapped:
        problems.append(f"the proxy trap got {outcome.trapped} (the request went to the proxy, i.e. public)")
    if cell.during:
        race = report.get("race") or {}
        if not race.get("paused_in"):
            problems.append(f"the variable was not written during the import ({race})")
    if cell.mode == "redirect":
        if report.get("result") not in (200, "task-started"):
            problems.append(f"the request did not complete: {report.get('error') or report.get('result')!r}")
        path = stacks.landing_path(cell.module, cell.kind)
        landed = [r for r in outcome.records if r.path.startswith(path)]
        if not landed:
            problems.append(f"nothing reached the stand-in on {path}")
        elif any(r.host != standin.netloc for r in landed):
            problems.append(f"Host headers at the stand-in: {[r.host for r in landed]}, not {standin.netloc}")
    else:
        if report.get("blocked_host") != BLOCKED_HOST:
            problems.append(f"no PublicEgressBlocked for {BLOCKED_HOST}: {report.get('error') or report.get('result')!r}")
        if outcome.records:
            problems.append("the stand-in got a request in a strict refusal")


def run_cell(cell: Cell, python: str, workdir: str) -> Outcome:
    """Run one cell's program with its own stand-in and trap; judge what each side saw."""
    outcome = Outcome(cell)
    trap = Trap()
    try:
        with StandIn() as standin:
            url = (stacks.public_url(cell.module, cell.kind) if cell.mode == "redirect" else stacks.UNREDIRECTED[cell.kind])
            outcome.program = _program(cell, url, standin.url)
            ran = run_program(python, workdir, cell.id, outcome.program, _environment(cell, standin.url, trap.url))
            outcome.report, outcome.stderr, outcome.seconds = ran.report, ran.stderr, ran.seconds
            outcome.records = list(standin.records)
            outcome.trapped = trap.take()
            if outcome.report is not None:
                _judge(outcome, standin)
            else:
                outcome.problems.append("the program reported nothing (it crashed; see stderr)")
    finally:
        trap.close()
    return outcome


def run_matrix(cells: List[Cell], foreign_tests: list, python: str, workdir: str) -> Dict[Cell, Outcome]:
    """Run ``cells``, ``WORKERS`` programs at a time; as soon as a form's first program reports what that
    first statement imported, queue the "foreign" programs (``foreign_tests``' stacks) it calls for."""
    done: Dict[Cell, Outcome] = {}
    reported: set = set()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        running = {pool.submit(run_cell, cell, python, workdir): cell for cell in sorted(cells, key=lambda cell: cost(cell.form), reverse=True)}
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                cell = running.pop(future)
                outcome = done[cell] = future.result()
                imported = (outcome.report or {}).get("first_imports")
                if cell.case != "first" or imported is None or cell.form in reported:
                    continue
                reported.add(cell.form)
                for driver, kind in foreign_tests:
                    for foreign in _foreign_cells(driver, kind, cell.form, imported):
                        running[pool.submit(run_cell, foreign, python, workdir)] = foreign
    return done


def result_rows(outcomes: Dict[Cell, Optional[Outcome]]) -> list:
    """The rows ``tests/stacks/table.py`` renders: ✓, ✗, or ? (the library is not in this run)."""
    order = {cell: i for i, cell in enumerate(CELLS)}  # each stack's own forms in IMPORT_FORMS order; the rest by name
    rows = []
    for cell in sorted(outcomes, key=lambda c: (order.get(c, len(order)), c.driver, c.kind, c.form)):
        outcome = outcomes[cell]
        rows.append({
            "stack": cell.module.STACK, "driver": cell.driver, "kind": cell.kind, "route": cell.route, "mode": cell.mode,
            "form": cell.form, "case": cell.case,
            "result": "?" if outcome is None else "✓" if outcome.ok else "✗",
            "seconds": None if outcome is None else round(outcome.seconds, 2),
        })
    return rows


# ------------------------------------------------------------------ the tests


@pytest.fixture(scope="module")
def outcomes(request, tmp_path_factory) -> Dict[Cell, Optional[Outcome]]:
    """Every selected cell of this module, run at once, in parallel, and the "foreign" ones the import-form
    programs' reports call for. ``None``: the library is not installed in this run."""
    params = [item.callspec.params for item in request.session.items if hasattr(item, "callspec") and item.module.__name__ == __name__]
    selected = [p["cell"] for p in params if "cell" in p]
    foreign_tests = [p["stack_kind"] for p in params if "stack_kind" in p]
    if foreign_tests:  # each form's program reports what its first statement imported: run one of each
        for form in FOREIGN_FORMS:
            if not any(cell.form == form and cell.case == "first" for cell in selected):
                selected.append(next(cell for cell in CELLS if cell.form == form and cell.case == "first"))
    installed = {name: available(driver) for name, driver in DRIVERS.items()}
    python = request.getfixturevalue("user_venv")
    started = time.monotonic()
    runnable = [cell for cell in selected if installed[cell.driver]]
    done = run_matrix(runnable, [t for t in foreign_tests if installed[t[0]]], python, str(tmp_path_factory.mktemp("zero-code-matrix")))
    seconds = time.monotonic() - started
    results: Dict[Cell, Optional[Outcome]] = {**{cell: done.get(cell) for cell in selected}, **done}
    failed = sum(1 for outcome in done.values() if not outcome.ok)
    missing = sum(1 for outcome in results.values() if outcome is None)
    summary = f"zero-code matrix: {len(done)} programs ({failed} failed, {missing} not installed) in {seconds:.1f} s, {WORKERS} at a time"
    sys.stderr.write("\n" + summary + "\n")
    out = os.environ.get("STACK_MATRIX_JSON")
    if out and set(CELLS) <= set(selected) and set(FOREIGN) <= set(foreign_tests):  # the README table only from a whole matrix
        python_version = subprocess.run([python, "-c", "import platform; print(platform.python_version())"], capture_output=True, text=True).stdout.strip()
        with open(out, "w", encoding="utf-8") as f:
            json.dump({"python": python_version, "seconds": round(seconds, 1), "workers": WORKERS, "cells": result_rows(results)}, f, ensure_ascii=False, indent=1)
    yield results
    from stacks.table import render

    print("\n" + summary + "\n" + render(result_rows(results), DRIVERS.values()))


@pytest.mark.parametrize("cell", CELLS, ids=[cell.id for cell in CELLS])
def test_cell(cell: Cell, outcomes):
    zero_code.check(outcomes[cell], cell)


@pytest.mark.parametrize("stack_kind", FOREIGN, ids=[f"{driver}-{kind}" for driver, kind in FOREIGN])
def test_imported_first_by_another_stack(stack_kind, outcomes):
    """Each other stack's import form that imports this one's library, first; then this stack's request."""
    driver, kind = stack_kind
    mine = {cell: outcome for cell, outcome in outcomes.items() if cell.case == "foreign" and (cell.driver, cell.kind) == stack_kind}
    if not mine:
        pytest.skip("no other stack's import form imports this library (or it is not installed)")
    failed = [outcome for outcome in mine.values() if outcome is not None and not outcome.ok]
    assert not failed, f"{len(failed)} of {len(mine)} programs failed: " + ", ".join(repr(o.cell.form) for o in failed) + "\n\n" + "\n\n".join(o.explain() for o in failed)


def test_the_programs_guard_refuses_what_is_not_loopback(user_venv, standin):
    """The net under the direct cells: lookups and connections that are not loopback are refused before
    they happen. A backstop hook added after the guard's would catch a miss, so none can go out here either."""
    code = (
        "import sys\n"
        "def backstop(event, args):\n"
        "    if event in ('socket.getaddrinfo', 'socket.connect') and ('aliyuncs' in repr(args) or '192.0.2.1' in repr(args)):\n"
        "        raise SystemExit('the guard let ' + event + ' through')\n"
        "sys.addaudithook(backstop)\n"
        "import socket, urllib.request\n"
        "for attempt in (lambda: socket.getaddrinfo('dashscope.aliyuncs.com', 443), lambda: socket.socket().connect(('192.0.2.1', 443))):\n"
        "    try:\n"
        "        attempt()\n"
        "    except OSError as exc:\n"
        "        print('refused:', exc)\n"
        f"print(urllib.request.urlopen({standin.url + '/x'!r}, timeout=10).status)\n"
        "import sitecustomize; print(len(sitecustomize.ESCAPES))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES and not k.startswith("DASHSCOPE_PRIVATE_")}
    env["PYTHONPATH"] = GUARD
    result = subprocess.run([user_venv, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.splitlines() == [
        "refused: loopback guard: socket.getaddrinfo 'dashscope.aliyuncs.com' is not loopback",
        "refused: loopback guard: socket.connect ('192.0.2.1', 443) is not loopback",
        "200",
        "2",
    ], result.stdout + result.stderr
