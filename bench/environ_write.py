#!/usr/bin/env python3
"""Cost of the ``os.environ`` watcher per write, with the variable unset (the idle case).

    python bench/environ_write.py [--blocks 40] [--calls 50000]

Every Python process with the package installed runs the watcher (the ``.pth``
installs it so that a later ``load_dotenv()`` takes effect). A program that
writes its environment in a loop pays for it on each write, so the goal is
≤ 1.05x an unwatched write. In one process, blocks alternate (ABBA) between the
standard library's ``os._Environ.__setitem__`` and the watcher installed
exactly as start-up installs it (``_dashscope_private_start.watch_environ``);
each block times writes of an ordinary key (``os.environ``) and of a key that
starts with ``D`` (the watcher's slower branch, still not ours). Figures are
medians of per-write thread CPU time; nothing is activated.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "activation"))
sys.path.insert(0, HERE)

from _results import write_json  # noqa: E402

import _dashscope_private_start as start  # noqa: E402

GOAL = 1.05


def per_write(key: str, n: int) -> float:
    environ = os.environ
    begin = time.thread_time()
    for _ in range(n):
        environ[key] = "value"
    return (time.thread_time() - begin) / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=40)
    parser.add_argument("--calls", type=int, default=50000)
    args = parser.parse_args()
    environ_type = os._Environ
    if start.ORIGINAL in vars(environ_type):  # a .pth already installed one: start from the original
        environ_type.__setitem__ = vars(environ_type)[start.ORIGINAL]
        delattr(environ_type, start.ORIGINAL)
    original = environ_type.__setitem__
    start.watch_environ()
    watcher = environ_type.__setitem__
    inline = watcher.__code__.co_names[:4] == start._STDLIB_SETITEM_NAMES
    keys = {"plain": "BENCH_ENVIRON_KEY", "d_key": "DBENCH_ENVIRON_KEY"}
    samples: dict = {(side, k): [] for side in ("original", "watcher") for k in keys}
    for block in range(args.blocks):
        for side in ("original", "watcher") if block % 2 == 0 else ("watcher", "original"):
            environ_type.__setitem__ = original if side == "original" else watcher
            for name, key in keys.items():
                per_write(key, 500)
                samples[(side, name)].append(per_write(key, args.calls))
    environ_type.__setitem__ = watcher
    med = {k: statistics.median(v) for k, v in samples.items()}
    rows = {}
    for name in keys:
        base, ours = med[("original", name)], med[("watcher", name)]
        rows[name] = {"original_ns": base * 1e9, "watcher_ns": ours * 1e9, "ratio": ours / base, "delta_ns": (ours - base) * 1e9}
    met = rows["plain"]["ratio"] <= GOAL
    print(f"os.environ[key] = value, per write (median of {args.blocks} blocks x {args.calls} writes, thread CPU; inline copy: {inline}):")
    for name, row in rows.items():
        print(f"  {name:6s} original {row['original_ns']:7.1f} ns   watcher {row['watcher_ns']:7.1f} ns   {row['ratio']:.3f}x ({row['delta_ns']:+.1f} ns)")
    print(f"  goal for an ordinary key <= {GOAL}x: {'met' if met else 'MISSED'}")
    write_json(os.path.join(HERE, "results", "environ_write.json"), {"python": platform.python_version(), "inline": inline, "goal": GOAL, "met": met, **rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
