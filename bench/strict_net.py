#!/usr/bin/env python3
"""Cost of strict mode's process-level net per name lookup (``socket.getaddrinfo``).

    python bench/strict_net.py [--blocks 30] [--calls 20000]

In one process, blocks alternate (ABBA) between no plugin, the plugin active
without strict mode (the net must not be installed at all: ``socket.getaddrinfo``
is the very same function) and strict mode (the net checks every lookup). Each
block times ``socket.getaddrinfo`` for loopback names, which is answered
locally (``/etc/hosts`` and numeric parsing) and so is the cheapest real lookup:
the net's share of a DNS query that leaves the machine is far smaller. The
figures are medians of the per-call thread CPU time; the delta (strict - off) is
the net's cost. Only loopback is ever looked up.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from _results import write_json  # noqa: E402

import dashscope_private  # noqa: E402
from dashscope_private.standin import StandIn  # noqa: E402

HOSTS = ("127.0.0.1", "localhost")
GOAL_NS = 1000.0  # "nothing measurable": under a microsecond per lookup


def per_call(n: int) -> float:
    lookup = socket.getaddrinfo
    start = time.thread_time()
    for i in range(n):
        lookup(HOSTS[i & 1], 443)
    return (time.thread_time() - start) / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=30)
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()
    for name in [n for n in os.environ if "proxy" in n.lower() or n.startswith("DASHSCOPE_PRIVATE_")]:
        del os.environ[name]
    original = socket.getaddrinfo
    with StandIn() as standin:
        modes = {
            "off": lambda: dashscope_private.deactivate(),
            "active": lambda: dashscope_private.activate(standin.url, strict=False),
            "strict": lambda: dashscope_private.activate(standin.url, strict=True),
        }
        samples: dict = {m: [] for m in modes}
        same_function_when_not_strict = True
        order = list(modes)
        for block in range(args.blocks):
            for mode in order if block % 2 == 0 else reversed(order):
                modes[mode]()
                if mode != "strict":
                    same_function_when_not_strict &= socket.getaddrinfo is original
                per_call(200)  # warm the decision cache and the resolver
                samples[mode].append(per_call(args.calls))
        dashscope_private.deactivate()
    med = {m: statistics.median(v) for m, v in samples.items()}
    delta_ns = (med["strict"] - med["off"]) * 1e9
    rows = {
        "getaddrinfo_off_ns": med["off"] * 1e9,
        "getaddrinfo_active_not_strict_ns": med["active"] * 1e9,
        "getaddrinfo_strict_ns": med["strict"] * 1e9,
        "ratio_active_not_strict": med["active"] / med["off"],
        "ratio_strict": med["strict"] / med["off"],
        "net_cost_per_lookup_ns": delta_ns,
        "net_absent_when_not_strict": same_function_when_not_strict,
        "goal_ns": GOAL_NS,
        "met": delta_ns <= GOAL_NS and same_function_when_not_strict,
    }
    print(f"socket.getaddrinfo per call (median of {args.blocks} blocks x {args.calls} calls, thread CPU):")
    print(f"  no plugin            {rows['getaddrinfo_off_ns']:9.0f} ns")
    print(f"  active, not strict   {rows['getaddrinfo_active_not_strict_ns']:9.0f} ns  ({rows['ratio_active_not_strict']:.3f}x; net installed: {not same_function_when_not_strict})")
    print(f"  strict mode          {rows['getaddrinfo_strict_ns']:9.0f} ns  ({rows['ratio_strict']:.3f}x)")
    print(f"  net cost per lookup  {delta_ns:9.0f} ns  (goal <= {GOAL_NS:.0f} ns: {'met' if rows['met'] else 'MISSED'})")
    write_json(os.path.join(HERE, "results", "strict_net.json"), {"python": platform.python_version(), **rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
