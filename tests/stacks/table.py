"""Render the coverage matrix (``tests/test_matrix.py``) as the README's "What is covered" table.

    python tests/stacks/table.py MATRIX.json [--readme README.md]

Only the text between ``<!-- stacks:start -->`` and ``<!-- stacks:end -->`` in
the README is replaced. A cell reads ``✓`` (redirected, or refused in strict
mode, with nothing at the proxy trap), ``✗`` (failed), ``–`` (not
applicable), ``not redirected`` (a stack only strict mode's net can stop) or
``?`` (not run: the library was not installed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Dict, Iterable, Tuple

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


def render(results: Dict[Tuple[str, str, str, str], str], drivers: Iterable = ()) -> str:
    """A Markdown table: one row per stack, one column per (kind, route, mode)."""
    stacks = {key[0]: None for key in sorted(results)}
    drivers = list(drivers)
    kinds = {d.STACK: {k for k in ("http", "ws") if hasattr(d, k)} for d in drivers}
    strict_only = {d.STACK for d in drivers if getattr(d, "STRICT_ONLY", False)}
    notes = {d.STACK: " (an `http://` URL: same scheme only)" for d in drivers if getattr(d, "SCHEME_BOUND", False)}
    lines = ["| stack | " + " | ".join(c[3] for c in COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for stack in stacks:
        cells = []
        for kind, route, mode, _title in COLUMNS:
            if stack in kinds and kind not in kinds[stack]:
                cells.append("–")
            elif stack in strict_only and mode == "redirect":
                cells.append("not redirected")
            else:
                cells.append(results.get((stack, kind, route, mode), "–" if stack not in kinds else "?"))
        lines.append(f"| {stack}{notes.get(stack, '')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


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
    with open(args.results, encoding="utf-8") as f:
        results = {tuple(row[:4]): row[4] for row in json.load(f)}
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import stacks

    table = render(results, stacks.drivers())
    print(table)
    if args.readme:
        write_readme(args.readme, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
