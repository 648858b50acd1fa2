"""Render the zero-code matrix (``tests/test_zero_code_matrix.py``) as the README's "What is covered" table.

    python tests/stacks/table.py MATRIX.json [--readme README.md]

``MATRIX.json`` is what the matrix writes with ``STACK_MATRIX_JSON=path``: one
row per program run (stack, kind, route, mode, import form, case, result).
Only the text between ``<!-- stacks:start -->`` and ``<!-- stacks:end -->`` in
the README is replaced.

One table row per stack. A matrix column reads ``✓`` when the program passed
with every import form as its first statement (redirected, or refused in
strict mode, with nothing at the proxy trap or the loopback guard), ``✗ (n of
m forms)`` when some failed, ``–`` (not applicable), ``not redirected`` (a
stack only strict mode's net can stop) or ``?`` (not run: the library was not
installed). "import forms checked" lists those first statements, each marked
✗ if any of its programs failed; "after another stack's import" lists the
other stacks' import forms that import this stack's library on their way, each
tried as the first statement before this stack's request (redirect, via the
proxy); "set during import" is the program that sets the variable while
another thread is importing the stack. The in-process
matrix (``tests/test_matrix.py``) prints the same table without those two
columns.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Dict, Iterable, List

START, END = "<!-- stacks:start -->", "<!-- stacks:end -->"
COLUMNS = (
    ("http", "direct", "redirect", "HTTP"),
    ("http", "proxy", "redirect", "HTTP via proxy"),
    ("ws", "direct", "redirect", "WebSocket"),
    ("ws", "proxy", "redirect", "WebSocket via proxy"),
    ("http", "direct", "strict", "strict: HTTP refused"),
    ("http", "proxy", "strict", "… via proxy"),
    ("ws", "direct", "strict", "strict: WS refused"),
    ("ws", "proxy", "strict", "… via proxy"),
)
KIND_NAMES = {"http": "HTTP", "ws": "WS"}


def _combined(marks: List[str], unit: str = "forms") -> str:
    """One mark for several programs: ✓ if all passed, ``✗ (n of m forms)`` if some failed, ? if none ran."""
    ran = [m for m in marks if m != "?"]
    if not ran:
        return "?"
    failed = ran.count("✗")
    if not failed:
        return "✓" if len(ran) == len(marks) else "✓ (some not run)"
    return "✗" if len(marks) == 1 else f"✗ ({failed} of {len(marks)} {unit})"


def _form_mark(marks: List[str]) -> str:
    """Nothing after an import form whose programs all passed; ✗ if any failed, ? if none ran."""
    return " ✗" if "✗" in marks else " ?" if all(m == "?" for m in marks) else ""


def _forms(rows: List[dict]) -> str:
    """The import forms of ``rows``, in their order, each marked if any of its programs failed."""
    forms: Dict[str, List[str]] = {}
    for row in rows:
        forms.setdefault(row["form"], []).append(row["result"])
    return ", ".join(f"`{form}`{_form_mark(marks)}" for form, marks in forms.items())


def render(rows: Iterable[dict], drivers: Iterable = ()) -> str:
    """A Markdown table: one row per stack, one column per (kind, route, mode), plus import forms and settings."""
    rows = list(rows)
    drivers = list(drivers)
    kinds = {d.STACK: {k for k in ("http", "ws") if hasattr(d, k)} for d in drivers}
    strict_only = {d.STACK for d in drivers if getattr(d, "STRICT_ONLY", False)}
    notes = {d.STACK: " (an `http://` URL: same scheme only)" for d in drivers if getattr(d, "SCHEME_BOUND", False)}
    with_forms = any(row.get("form") for row in rows)
    with_during = any(row.get("case") == "during" for row in rows)
    with_foreign = any(row.get("case") == "foreign" for row in rows)
    titles = ["stack"] + (["import forms checked (first statement)"] if with_forms else []) + [c[3] for c in COLUMNS]
    titles += ["after another stack's import"] if with_foreign else []
    titles += ["set during import"] if with_during else []
    lines = ["| " + " | ".join(titles) + " |", "|---" * len(titles) + "|"]
    for stack in sorted({row["stack"] for row in rows}, key=str.lower):
        mine = [row for row in rows if row["stack"] == stack]
        first = [row for row in mine if row.get("case", "first") == "first"]
        cells = []
        if with_forms:
            cells.append(_forms(first))
        for kind, route, mode, _title in COLUMNS:
            marks = [row["result"] for row in first if (row["kind"], row["route"], row["mode"]) == (kind, route, mode)]
            if stack in kinds and kind not in kinds[stack]:
                cells.append("–")
            elif stack in strict_only and mode == "redirect":
                cells.append("not redirected")
            elif not marks:
                cells.append("–" if stack not in kinds else "?")
            else:
                cells.append(_combined(marks))
        if with_foreign:
            foreign = [row for row in mine if row.get("case") == "foreign"]
            cells.append("not redirected" if stack in strict_only else _forms(foreign) or "–")
        if with_during:
            during = {row["kind"]: row["result"] for row in mine if row.get("case") == "during"}
            if stack in strict_only:
                cells.append("not redirected")
            elif not during:
                cells.append("–")
            elif len(during) == 1 or len(set(during.values())) == 1:
                cells.append(next(iter(during.values())))
            else:
                cells.append(", ".join(f"{KIND_NAMES[kind]} {mark}" for kind, mark in sorted(during.items())))
        lines.append(f"| {stack}{notes.get(stack, '')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def load(path: str) -> dict:
    """The matrix's results; the in-process matrix's older ``[[stack, kind, route, mode, mark], ...]`` too."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if isinstance(data, list):
        data = {"cells": [dict(zip(("stack", "kind", "route", "mode", "result"), row), form="", case="first") for row in data]}
    return data


def caption(data: dict) -> str:
    cells = data["cells"]
    ran = [row for row in cells if row["result"] != "?"]
    python = f" on Python {data['python']}" if data.get("python") else ""
    return (
        f"<sub>{len(ran)} programs, each in a fresh interpreter{python} with the wheel installed and only environment "
        f"variables set; {sum(row['result'] == '✗' for row in ran)} failed.</sub>"
    )


def write_readme(path: str, table: str) -> None:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    if not rest:
        raise SystemExit(f"{path} has no {START} marker")
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{head}{START}\n{table}\n{END}{tail}")


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--readme")
    args = parser.parse_args(list(argv) if argv is not None else None)
    data = load(args.results)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import stacks

    table = render(data["cells"], stacks.drivers())
    if any(row.get("form") for row in data["cells"]):
        table += "\n\n" + caption(data)
    print(table)
    if args.readme:
        write_readme(args.readme, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
