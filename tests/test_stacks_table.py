"""tests/stacks/table.py: the README's "What is covered" table from the zero-code matrix's results."""

from __future__ import annotations

import json

import stacks
from stacks import table


def _row(stack, kind, route, mode, form, result, case="first"):
    return {"stack": stack, "kind": kind, "route": route, "mode": mode, "form": form, "case": case, "result": result}


def _cells_of(text: str, stack: str) -> list:
    (line,) = [line for line in text.splitlines() if line.startswith(f"| {stack}")]
    return [cell.strip() for cell in line.strip("|").split("|")][1:]


def test_one_row_per_stack_with_forms_foreign_imports_and_settings_during_import():
    rows = [
        _row("urllib.request", "http", route, mode, form, "✗" if (mode, form) == ("redirect", "import urllib.request") else "✓")
        for route in ("direct", "proxy") for mode in ("redirect", "strict") for form in ("from urllib.request import urlopen", "import urllib.request")
    ]
    rows += [_row("urllib.request", "http", "proxy", "redirect", "import aiohttp", "✗", "foreign"), _row("urllib.request", "http", "proxy", "redirect", "import requests", "✓", "foreign")]
    rows += [_row("urllib.request", "http", "proxy", "redirect", "from urllib.request import urlopen", "✓", "during")]
    text = table.render(rows, stacks.drivers())
    header = text.splitlines()[0]
    assert "import forms checked (first statement)" in header and "after another stack's import" in header and "set during import" in header
    cells = _cells_of(text, "urllib.request")
    assert cells[0] == "`from urllib.request import urlopen`, `import urllib.request` ✗"
    assert cells[1:3] == ["✗ (1 of 2 forms)", "✗ (1 of 2 forms)"]  # HTTP, HTTP via proxy
    assert cells[3:5] == ["–", "–"]  # no WebSocket
    assert cells[5:7] == ["✓", "✓"]  # strict
    assert cells[-2:] == ["`import aiohttp` ✗, `import requests`", "✓"]


def test_not_installed_and_strict_only_stacks():
    rows = [_row("raw socket (any unpatched stack)", "http", route, "strict", "import socket", "✓") for route in ("direct", "proxy")]
    rows += [_row("DSPy", "http", route, mode, "import dspy", "?") for route in ("direct", "proxy") for mode in ("redirect", "strict")]
    text = table.render(rows, stacks.drivers())
    assert _cells_of(text, "raw socket")[1:3] == ["not redirected", "not redirected"]
    assert _cells_of(text, "DSPy")[:3] == ["`import dspy` ?", "?", "?"]


def test_readme_written_between_the_markers_from_the_json(tmp_path):
    results = tmp_path / "matrix.json"
    results.write_text(json.dumps({"python": "3.11.9", "cells": [_row("requests", "http", "direct", "redirect", "import requests", "✓")]}))
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{table.START}\nold\n{table.END}\nafter\n")
    assert table.main([str(results), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith(f"before\n{table.START}\n| stack | import forms checked") and text.endswith(f"{table.END}\nafter\n")
    assert "1 programs, each in a fresh interpreter on Python 3.11.9" in text and "old" not in text


def test_the_in_process_matrix_format_still_loads(tmp_path):
    results = tmp_path / "matrix.json"
    results.write_text(json.dumps([["requests", "http", "direct", "redirect", "✓"]]))
    assert table.load(str(results))["cells"][0]["result"] == "✓"
