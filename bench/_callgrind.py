"""Counting instructions per segment under valgrind's callgrind: shared by runtime.py and httpx_hooks.py.

The child marks the end of each segment by calling ``os.getppid()`` (a C function nothing on the
measured path calls), and ``--dump-before`` makes callgrind write the counters since the last mark;
``labels.json`` (written by the child) names each segment ``[name, patched, operations]`` or ``null``.
"""

from __future__ import annotations

import json
import os
import subprocess

MARK = "os_getppid"


def total(path: str) -> int:
    """The instruction count of one callgrind dump."""
    with open(path) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise SystemExit(f"no totals in {path}")


def per_operation(valgrind: str, child: list, out_dir: str) -> dict:
    """Run ``child`` (a command that writes ``out_dir/labels.json``) under callgrind; returns
    ``{name: {False: [...], True: [...]}}``, instructions per operation for each segment, by side."""
    out = os.path.join(out_dir, "cg.out")
    cmd = [valgrind, "--tool=callgrind", f"--dump-before={MARK}", f"--callgrind-out-file={out}", *child]
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"the callgrind child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    with open(os.path.join(out_dir, "labels.json")) as f:
        labels = json.load(f)
    per: dict = {}
    for part, label in enumerate(labels, 1):  # dump k holds the segment that ends at mark k
        if label is not None:
            name, patched, n = label
            per.setdefault(name, {False: [], True: []})[patched].append(total(f"{out}.{part}") / n)
    return per
