#!/usr/bin/env python3
"""Instructions the httpx/httpx2 hooks add to a keep-alive request, without I/O (callgrind).

    python bench/httpx_hooks.py [--requests 200] [--reps 2]

``runtime.py``'s keep-alive rows count whole requests with the stand-in's threads, and their
blocks differ by up to ~1.5 % (how many reads a response takes, when a garbage collection
falls): differences of a few thousand instructions are lost there. This counts only what the
hooks touch: ``Client.build_request("POST", url, json=...)`` (``_merge_url``,
``Request.__init__``, the Host check) and ``Client._transport_for_url``, in a loop, nothing
sent. Baseline: a client of the unpatched library and the stand-in's own URL; plugin: a client
built while active and the public DashScope URL, redirected. The garbage collector is off in
the counted loops, so a collection cannot fall into one side only. Needs ``valgrind``.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import shutil
import sys
import tempfile

import _callgrind  # bench/ is sys.path[0] when a script here runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENDPOINT = "http://127.0.0.1:9"  # never connected to: nothing is sent
PUBLIC = "https://dashscope.aliyuncs.com"
PATH = "/compatible-mode/v1/chat/completions"
PAYLOAD = {"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]}
LIBRARIES = ("httpx", "httpx2")


def _loop(client, url: str, n: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(n):
        request = client.build_request("POST", url, json=PAYLOAD)
        client._transport_for_url(request.url)


def child(out_dir: str, n: int, reps: int) -> None:
    """Runs under callgrind: each counted loop lies between two ``os.getppid()`` marks."""
    sys.path.insert(0, ROOT)
    import dashscope_private

    labels: list = []
    gc.disable()
    for name in LIBRARIES:
        library = importlib.import_module(name)
        dashscope_private.activate(ENDPOINT)
        patched = library.Client()
        dashscope_private.deactivate()
        plain = library.Client()
        for rep in range(reps):
            for active in (False, True) if rep % 2 == 0 else (True, False):
                if active:
                    dashscope_private.activate(ENDPOINT)
                client, url = (patched, PUBLIC + PATH) if active else (plain, ENDPOINT + PATH)
                _loop(client, url, 20)  # settle: specialised bytecode, memos
                os.getppid()
                labels.append(None)
                _loop(client, url, n)
                os.getppid()
                labels.append([name, active, n])
                if active:
                    dashscope_private.deactivate()
    with open(os.path.join(out_dir, "labels.json"), "w") as f:
        json.dump(labels, f)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests built per counted loop")
    parser.add_argument("--reps", type=int, default=2, help="counted loops per side and library")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.requests, args.reps)
        return
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind not found")
    with tempfile.TemporaryDirectory(prefix="bench-httpx-hooks-") as tmp:
        command = [sys.executable, os.path.abspath(__file__), "--child", tmp, "--requests", str(args.requests), "--reps", str(args.reps)]
        per = _callgrind.per_operation(valgrind, command, tmp)
    print(f"{'instructions per build_request + _transport_for_url':52} {'baseline':>10} {'plugin':>10} {'+instr':>9}  (each loop)")
    for name, sides in per.items():
        base, plug = min(sides[False]), min(sides[True])
        loops = " ".join(f"{x:,.0f}" for x in sides[False] + sides[True])
        print(f"{name + '.Client()':52} {base:10,.0f} {plug:10,.0f} {plug - base:+9,.0f}  ({loops})")


if __name__ == "__main__":
    main()
