"""Routes, zero-code: one unchanged program sends each public host to its own private endpoint.

The issue's "Done when", as users meet it: each program here is unchanged (the
driver's main import form, its first ``IMPORT_FORMS`` entry, as the **first
statement**, then the driver's requests: ``stacks._program.run_requests``),
run by the ``user_venv`` interpreter (the session's wheel) with only
environment variables set and the loopback guard on ``PYTHONPATH``
(``zero_code.environment``, as in ``test_zero_code_matrix.py``). Each program
gets two loopback stand-ins: A, named ``http://127.0.0.1:PORT``, and B, named
``http://localhost:PORT`` (two endpoint hosts, as two regions' PrivateLink
domains are: neither the proxy bypass nor a Host header can pass by the two
sharing a host). Cells, for every driver in ``tests/stacks``:

- ``routes``: ``DASHSCOPE_PRIVATE_ROUTES=dashscope.aliyuncs.com=A,dashscope-intl.aliyuncs.com=B``;
  HTTP, and a WebSocket where the driver has ``ws``, to both public hosts;
- ``file``: the same routes in a TOML file's ``[routes]`` table, ``DASHSCOPE_PRIVATE_CONFIG`` the only variable;
- ``proxy``: as ``routes``, with ``HTTP(S)_PROXY``/``ALL_PROXY`` at a loopback trap and
  ``NO_PROXY`` naming only ``internal.example``: both endpoints are reached direct;
- ``strict``: as ``routes`` plus ``DASHSCOPE_PRIVATE_STRICT=1``, and the same requests to
  ``dashscope-us.aliyuncs.com``, which no route names: refused with ``PublicEgressBlocked``;
- ``workspace``: ``DASHSCOPE_PRIVATE_ROUTES=*.cn-beijing.maas.aliyuncs.com=A`` plus
  ``DASHSCOPE_PRIVATE_ENDPOINT=B``: a workspace access domain goes to A (through its route),
  ``dashscope.aliyuncs.com`` to B (the endpoint's default host).

Each program is judged on: every request completed (200, or the stand-in's
``task-started``), or, unrouted in strict mode, was refused with
``PublicEgressBlocked`` for its host (possibly as ``__cause__``/``__context__``);
A got exactly the requests meant for A and B those for B (kind and landing
path, counted: a request sent to the wrong endpoint shows as one too many at
one and one missing at the other), each stand-in saw its own ``host:port`` as
``Host``; nothing reached the trap, the guard refused nothing.

A ``STRICT_ONLY`` driver (raw sockets: nothing can redirect them) has the
strict cell only, in which every host is refused: strict mode's net refuses a
routed host that is being resolved too (it was not redirected). A
``SCHEME_BOUND`` driver (``http.client``) asks for ``http://`` URLs, as in the matrix.

The programs run in parallel (``ZERO_CODE_MATRIX_WORKERS`` at a time) when the
module starts; each test then reports its program.
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import ModuleType
from typing import Dict, List, Optional
from urllib.parse import urlsplit

import pytest

import stacks
from dashscope_private.standin import StandIn
from support import elsewhere
from trap import Trap
import zero_code
from zero_code import DRIVERS, WORKERS, available, cost, environment, program, run_program

pytestmark = pytest.mark.slow

BEIJING = "dashscope.aliyuncs.com"
INTL = "dashscope-intl.aliyuncs.com"
#: a public Model Studio host no route names
UNROUTED = "dashscope-us.aliyuncs.com"
#: a workspace access domain, and the route that covers it
WORKSPACE = "ws-abc123.cn-beijing.maas.aliyuncs.com"
WORKSPACE_ROUTE = "*.cn-beijing.maas.aliyuncs.com"
KINDS = ("http", "ws")
#: the stand-in's record kind for each request kind
RECORD_KIND = {"http": "http", "ws": "websocket"}


@dataclass(frozen=True)
class Request:
    kind: str  #: http | ws
    host: str  #: the public host the program asks for
    to: Optional[str]  #: the stand-in it must reach ("A" or "B"), or None: refused with PublicEgressBlocked


@dataclass(frozen=True)
class RouteCell:
    driver: str  #: the driver's module name in ``tests/stacks``
    name: str  #: routes | file | proxy | strict | workspace

    @property
    def id(self) -> str:
        return f"{self.driver}-{self.name}"

    @property
    def module(self) -> ModuleType:
        return DRIVERS[self.driver]

    @property
    def form(self) -> str:
        return self.module.IMPORT_FORMS[0]

    def requests(self) -> List[Request]:
        kinds = [kind for kind in KINDS if hasattr(self.module, kind)]
        if self.name == "workspace":
            return [Request(kind, host, to) for kind in kinds for host, to in ((WORKSPACE, "A"), (BEIJING, "B"))]
        if getattr(self.module, "STRICT_ONLY", False):  # nothing redirects it: strict mode refuses every host
            return [Request(kind, host, None) for kind in kinds for host in (BEIJING, INTL, UNROUTED)]
        hosts = [(BEIJING, "A"), (INTL, "B")] + ([(UNROUTED, None)] if self.name == "strict" else [])
        return [Request(kind, host, to) for kind in kinds for host, to in hosts]

    def url(self, request: Request) -> str:
        """The driver's public URL for ``request.kind`` (``http://`` for a scheme-bound stack) on ``request.host``."""
        return stacks.public_url(self.module, request.kind).replace(BEIJING, request.host, 1)


def _cells() -> List[RouteCell]:
    cells = []
    for name, driver in DRIVERS.items():
        strict_only = getattr(driver, "STRICT_ONLY", False)
        for cell in ("strict",) if strict_only else ("routes", "file", "proxy", "strict", "workspace"):
            cells.append(RouteCell(name, cell))
    return cells


CELLS = _cells()


def _settings(cell: RouteCell, a: str, b: str, workdir: str) -> Dict[str, str]:
    """The cell's variables (the only thing a program is given); the ``file`` cell's TOML file is written here."""
    if cell.name == "workspace":
        return {"DASHSCOPE_PRIVATE_ROUTES": f"{WORKSPACE_ROUTE}={a}", "DASHSCOPE_PRIVATE_ENDPOINT": b}
    if cell.name == "file":
        path = os.path.join(workdir, cell.id + ".toml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(f'[routes]\n"{BEIJING}" = "{a}"\n"{INTL}" = "{b}"\n')
        return {"DASHSCOPE_PRIVATE_CONFIG": path}
    settings = {"DASHSCOPE_PRIVATE_ROUTES": f"{BEIJING}={a},{INTL}={b}"}
    if cell.name == "strict":
        settings["DASHSCOPE_PRIVATE_STRICT"] = "1"
    return settings


@dataclass
class Outcome(zero_code.Outcome):
    cell: RouteCell
    settings: Dict[str, str] = field(default_factory=dict)
    records: Dict[str, list] = field(default_factory=dict)  #: stand-in label -> what it saw

    def explain(self) -> str:
        report = dict(self.report or {})
        requests = [dict(fields) for fields in report.get("requests") or []]
        tracebacks = [fields.pop("traceback", "") for fields in requests]
        report["requests"] = requests
        return "\n".join(
            [f"cell {self.cell.id}: " + "; ".join(self.problems), "--- settings", json.dumps(self.settings, indent=1), "--- program", self.program.rstrip()]
            + ["--- report", json.dumps(report, indent=1)]
            + [f"--- stand-in {label} saw: {[(r.method, r.path, r.host) for r in records]}" for label, records in self.records.items()]
            + [f"--- trap saw: {self.trapped}"]
            + [f"--- traceback of request {i}\n{traceback.rstrip()}" for i, traceback in enumerate(tracebacks) if traceback]
            + ["--- stderr (tail)", self.stderr[-3000:].rstrip()]
        )


def _landing(module: ModuleType, path: str) -> str:
    """The landing path ``path`` is under (the driver's, per kind), else ``path`` itself."""
    for kind in KINDS:
        landing = stacks.landing_path(module, kind)
        if path.startswith(landing):
            return landing
    return path


def _judge(outcome: Outcome, endpoints: Dict[str, str]) -> None:
    cell, report, problems = outcome.cell, outcome.report or {}, outcome.problems
    if report.get("escapes"):
        problems.append(f"the loopback guard refused {report['escapes']} (a request went public)")
    if outcome.trapped:
        problems.append(f"the proxy trap got {outcome.trapped} (a request went to the proxy, i.e. public)")
    requests = cell.requests()
    results = report.get("requests") or []
    if len(results) != len(requests):
        problems.append(f"{len(results)} results for {len(requests)} requests")
    for request, fields in zip(requests, results):
        what = f"{request.kind} to {request.host}"
        if request.to is not None:
            if fields.get("result") not in (200, "task-started"):
                problems.append(f"{what} did not complete: {fields.get('error') or fields.get('result')!r}")
        elif fields.get("blocked_host") != request.host:
            problems.append(f"{what}: no PublicEgressBlocked for {request.host}: {fields.get('error') or fields.get('result')!r}")
    for label, endpoint in endpoints.items():
        records, netloc = outcome.records[label], urlsplit(endpoint).netloc
        wanted = sorted((RECORD_KIND[r.kind], stacks.landing_path(cell.module, r.kind)) for r in requests if r.to == label)
        got = sorted((record.kind, _landing(cell.module, record.path)) for record in records)
        if got != wanted:
            problems.append(f"stand-in {label} got {got}, not {wanted}")
        hosts = sorted({record.host for record in records} - {netloc})
        if hosts:
            problems.append(f"Host headers at stand-in {label}: {hosts}, not {netloc}")


def run_route_cell(cell: RouteCell, python: str, workdir: str) -> Outcome:
    """Run one program with its own stand-ins A and B and its own trap; judge what each side saw."""
    outcome = Outcome(cell)
    trap = Trap()
    try:
        with StandIn() as a, StandIn() as b:
            endpoints = {"A": a.url, "B": elsewhere(b)}
            outcome.settings = _settings(cell, endpoints["A"], endpoints["B"], workdir)
            outcome.program = program(cell.form, "run_requests", [[cell.driver, r.kind, cell.url(r)] for r in cell.requests()])
            env = environment(outcome.settings, trap.url if cell.name == "proxy" else None)
            ran = run_program(python, workdir, cell.id, outcome.program, env)
            outcome.report, outcome.stderr, outcome.seconds = ran.report, ran.stderr, ran.seconds
            outcome.records = {"A": a.records, "B": b.records}
            outcome.trapped = trap.take()
            if outcome.report is None:
                outcome.problems.append("the program reported nothing (it crashed; see stderr)")
            else:
                _judge(outcome, endpoints)
    finally:
        trap.close()
    return outcome


@pytest.fixture(scope="module")
def outcomes(request, tmp_path_factory) -> Dict[RouteCell, Optional[Outcome]]:
    """Every selected program of this module, run at once, in parallel. ``None``: the library is not installed."""
    selected = [item.callspec.params["cell"] for item in request.session.items if hasattr(item, "callspec") and item.module.__name__ == __name__]
    runnable = [cell for cell in selected if available(cell.module)]
    python = request.getfixturevalue("user_venv")
    workdir = str(tmp_path_factory.mktemp("zero-code-routes"))
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        ordered = sorted(runnable, key=lambda cell: cost(cell.form), reverse=True)
        done = dict(zip(ordered, pool.map(lambda cell: run_route_cell(cell, python, workdir), ordered)))
    seconds = time.monotonic() - started
    failed = sum(1 for outcome in done.values() if not outcome.ok)
    sys.stderr.write(f"\nzero-code routes: {len(done)} programs ({failed} failed, {len(selected) - len(done)} not installed) in {seconds:.1f} s, {WORKERS} at a time\n")
    return {cell: done.get(cell) for cell in selected}


@pytest.mark.parametrize("cell", CELLS, ids=[cell.id for cell in CELLS])
def test_routed_program(cell: RouteCell, outcomes):
    zero_code.check(outcomes[cell], cell)
