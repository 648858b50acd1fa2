#!/usr/bin/env python3
"""Run-time cost of dashscope-private, in one process, against the loopback stand-in.

Run it with the dev venv (``/work/venv-dev/bin/python bench/runtime.py``); the
package is imported from this checkout. Patched and unpatched blocks alternate
(``dashscope_private.activate()`` / ``deactivate()`` between blocks, ABBA order).
Each side's figure is the median over blocks of the mean time per operation,
both wall time (``perf_counter``) and CPU time of the process (``process_time``:
client and in-process stand-in threads; not inflated when other processes take
the CPU, so it is the steadier of the two on a shared machine).

  (d) ``openai.OpenAI(api_key=..., base_url='https://dashscope.aliyuncs.com/compatible-mode/v1')``
      construction, unpatched vs patched (the patched one rewrites the URL).  goal <= 1.01x
  (e) one request through the real SDKs: baseline client pointed directly at the
      stand-in vs patched client pointed at the public URL and redirected to it.  goal <= 1.02x
  (f) pass-through cost for a non-DashScope URL: route_url / route_target per call, and
      wrapped minus unwrapped ``httpx.Request('POST', 'https://api.openai.com/v1/x')``
      (thread CPU time per call).  goal <= 1 us

Only loopback is ever contacted: every proxy variable is cleared, and an audit
hook refuses any DNS lookup or connection that is not to a loopback address (a
request the plugin failed to redirect fails loudly instead of leaving the
machine). Every timed block also checks that the stand-in got exactly the
requests sent, on the expected path and Host.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import ipaddress
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time

import _callgrind  # noqa: E402  (bench/ is sys.path[0] when a script here runs)
from _results import write_json  # bench/ is sys.path[0] when a script here runs

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")

PUBLIC_BASE = "https://dashscope.aliyuncs.com"
OPENAI_PATH = "/compatible-mode/v1"
OTHER_URL = "https://api.openai.com/v1/chat/completions"
GOAL_D = 1.01
GOAL_E = 1.02
GOAL_F_NS = 1000.0
#: (e): (case, primary); a primary row's goal counts in the verdict, the others are (info).
CASES = (
    ("openai chat.completions.create (keep-alive client)", True),
    ("dashscope Generation.call (keep-alive, shared session)", True),
    ("requests.post", True),
    ("httpx.post", True),
    ("requests.Session().post (keep-alive)", True),
    ("httpx.Client().post (keep-alive)", True),
    ("httpx2.Client().post (keep-alive)", False),
    ("urllib3.PoolManager().request (keep-alive)", False),
    ("aiohttp.ClientSession().post (keep-alive)", False),
)
#: Untimed operations after each switch of sides (see ``settle``).
SETTLE = 2

# ----------------------------------------------------------------------------- a clean, loopback-only process

for _name in list(os.environ):
    if _name.startswith("DASHSCOPE_PRIVATE_") or _name.lower() in (
        "http_proxy", "https_proxy", "all_proxy", "ws_proxy", "wss_proxy", "openai_base_url",
        "dashscope_http_base_url", "dashscope_websocket_base_url",
    ):
        del os.environ[_name]
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost,::1"
os.environ["OPENAI_API_KEY"] = "sk-bench"
os.environ["DASHSCOPE_API_KEY"] = "sk-bench"


def _is_loopback(host: object) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


def _loopback_guard(event: str, args: tuple) -> None:
    if event == "socket.connect":
        address = args[1]
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            raise ConnectionRefusedError(f"bench: refusing a non-loopback connection to {address!r}")
    elif event == "socket.getaddrinfo":
        if not _is_loopback(args[0]):
            raise ConnectionRefusedError(f"bench: refusing a DNS lookup of {args[0]!r} (only loopback is allowed)")


sys.addaudithook(_loopback_guard)
sys.path.insert(0, REPO)

import aiohttp  # noqa: E402
import dashscope  # noqa: E402
import httpx  # noqa: E402
import httpx2  # noqa: E402
import openai  # noqa: E402
import requests  # noqa: E402
import urllib3  # noqa: E402
from dashscope import Generation  # noqa: E402

import dashscope_private  # noqa: E402
from dashscope_private import _runtime  # noqa: E402
from dashscope_private.standin import StandIn  # noqa: E402

perf = time.perf_counter
cpu = time.process_time
thread_cpu = time.thread_time


# ----------------------------------------------------------------------------- harness


def log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def start_standin(as_shipped: bool) -> StandIn:
    """The library's stand-in; by default with TCP_NODELAY on its sockets.

    As shipped, the stand-in writes a response's headers and body in two
    ``send()`` calls with Nagle's algorithm on, so every request after the first
    on a keep-alive connection waits for the client's delayed ACK (~40 ms on
    Linux): the SDKs' per-request cost would drown in a TCP timer. The bench
    swaps in a handler subclass that sets socketserver's
    ``disable_nagle_algorithm`` (nothing in the package is changed on disk).
    """
    standin = StandIn()
    if not as_shipped:
        server = standin._server
        server.RequestHandlerClass = type("NoDelayHandler", (server.RequestHandlerClass,), {"disable_nagle_algorithm": True})
    return standin


def routes_for(endpoint: str) -> dict:
    """``--routes``: the stand-in serves dashscope.aliyuncs.com as one of three routes (another exact host, a
    wildcard); the other two name a loopback port nothing here sends to."""
    return {"dashscope-intl.aliyuncs.com": "http://127.0.0.1:9", "*.cn-beijing.maas.aliyuncs.com": "http://127.0.0.1:9", "dashscope.aliyuncs.com": endpoint}


class Sides:
    """Switch between the unpatched and the patched process state (``routes``: with ``DASHSCOPE_PRIVATE_ROUTES``)."""

    def __init__(self, endpoint: str, routes: bool = False) -> None:
        self.endpoint = endpoint
        self.routes = routes

    def set(self, patched: bool) -> None:
        if patched:
            if self.routes:
                dashscope_private.activate(routes=routes_for(self.endpoint))
            else:
                dashscope_private.activate(self.endpoint)
            assert _runtime.is_active()
        else:
            dashscope_private.deactivate()
            assert not _runtime.is_active() and not _runtime.installed_integrations()


def summarize(values: list) -> dict:
    values = sorted(values)
    q = statistics.quantiles(values, n=4) if len(values) >= 2 else [values[0]] * 3
    return {"median": statistics.median(values), "p25": q[0], "p75": q[2], "min": values[0], "n": len(values)}


def ratio_interval(base_values: list, plugin_values: list, rounds: int = 2000) -> tuple:
    """95 % bootstrap interval of the ratio of medians (blocks resampled in their pairs; fixed seed).

    When it contains the goal, the run cannot tell whether the goal is met: the
    machine's noise is larger than the difference being measured.
    """
    rng = random.Random(1)
    pairs = list(zip(base_values, plugin_values))
    ratios = []
    for _ in range(rounds):
        sample = rng.choices(pairs, k=len(pairs))
        ratios.append(statistics.median(p for _, p in sample) / statistics.median(u for u, _ in sample))
    ratios.sort()
    return ratios[int(0.025 * rounds)], ratios[int(0.975 * rounds) - 1]


def compare(base_values: list, plugin_values: list) -> dict:
    """Medians, their ratio and its 95 % interval, and the spread of per-pair ratios (block i of each side)."""
    base, plug = summarize(base_values), summarize(plugin_values)
    pairs = [p / u for u, p in zip(base_values, plugin_values)]
    q = statistics.quantiles(pairs, n=4) if len(pairs) >= 2 else [pairs[0]] * 3
    lo, hi = ratio_interval(base_values, plugin_values) if len(pairs) >= 2 else (pairs[0], pairs[0])
    return {"baseline": base, "plugin": plug, "ratio": plug["median"] / base["median"], "ratio_ci95": [lo, hi],
            "min_ratio": plug["min"] / base["min"], "delta_us": (plug["median"] - base["median"]) * 1e6,
            "paired_ratio": {"median": statistics.median(pairs), "p25": q[0], "p75": q[2]}}


def settle(sides: Sides, run_block, patched: bool, n: int = SETTLE) -> None:
    """Switch sides and run ``n`` untimed operations.

    The first request after ``activate()`` fills the new router's memos and the
    interpreter's caches (the patched classes' method caches were just reset):
    ~0.3 ms once per activation, which a program pays once, not per request.
    Both sides settle alike, so every timed block measures the steady state.
    """
    sides.set(patched)
    if n:
        run_block(patched, n)


def alternate(sides: Sides, blocks: int, per_block: int, run_block, warmup: int = 1) -> dict:
    """``run_block(patched, n) -> (wall, cpu[, thread])`` in alternating ABBA blocks, each settled
    after its switch; per-operation medians."""
    for patched in (False, True):
        settle(sides, run_block, patched, warmup)
    wall: dict = {False: [], True: []}
    cpus: dict = {False: [], True: []}
    threads: dict = {False: [], True: []}
    for b in range(blocks):
        for patched in ((False, True) if b % 2 == 0 else (True, False)):
            settle(sides, run_block, patched)
            gc.collect()
            w, c, *t = run_block(patched, per_block)
            wall[patched].append(w / per_block)
            cpus[patched].append(c / per_block)
            if t:
                threads[patched].append(t[0] / per_block)
    result = compare(wall[False], wall[True])
    result["cpu"] = compare(cpus[False], cpus[True])
    result["thread_cpu"] = compare(threads[False], threads[True]) if threads[False] else None
    result["calls_per_op"] = {"baseline": calls_per_op(sides, run_block, False), "plugin": calls_per_op(sides, run_block, True)}
    sides.set(False)
    result.update(blocks=blocks, per_block=per_block, settle=SETTLE)
    return result


def calls_per_op(sides: Sides, run_block, patched: bool, n: int = 10) -> float:
    """Python + builtin calls per operation in this thread (cProfile's count): a noise-free cost figure.

    Includes the block's own bookkeeping, which is the same on both sides.
    """
    settle(sides, run_block, patched)
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        run_block(patched, n)
    finally:
        profiler.disable()
    return sum(entry.callcount for entry in profiler.getstats()) / n


def calibrate(sides: Sides, run_block, budget: float, blocks: int, lo: int = 3, hi: int = 100000) -> int:
    """Operations per block so that 2 * blocks blocks take about ``budget`` seconds."""
    sides.set(False)
    run_block(False, 2)
    one = run_block(False, 3)[0] / 3
    return max(lo, min(hi, int(budget / (2 * blocks * max(one, 1e-9)))))


def timed_loop(fn, n: int) -> tuple:
    """(wall, process cpu, this thread's cpu) for ``n`` calls of ``fn``."""
    c0, h0, t0 = cpu(), thread_cpu(), perf()
    for _ in range(n):
        fn()
    return perf() - t0, cpu() - c0, thread_cpu() - h0


# ----------------------------------------------------------------------------- (d) client construction


def bench_construction(sides: Sides, standin: StandIn, blocks: int, budget: float, http_client=None) -> dict:
    """``http_client=None``: the plain call (each client builds its own SSL context, which
    dominates); otherwise a shared client, so that only the SDK's own work is timed."""
    public = PUBLIC_BASE + OPENAI_PATH
    seen = {}
    extra = {} if http_client is None else {"http_client": http_client}

    def run_block(patched: bool, n: int) -> tuple:
        wall = used = 0.0
        clients = []
        for _ in range(n):
            c0, t0 = cpu(), perf()
            client = openai.OpenAI(api_key="sk-bench", base_url=public, **extra)
            wall += perf() - t0
            used += cpu() - c0
            clients.append(client)
        seen[patched] = str(clients[-1].base_url)
        if http_client is None:
            for client in clients:
                client.close()
        return wall, used

    n = calibrate(sides, run_block, budget, blocks)
    result = alternate(sides, blocks, n, run_block)
    expected = f"{standin.url}{OPENAI_PATH}/"
    if seen[True] != expected or seen[False] != public + "/":
        raise SystemExit(f"(d) unexpected base URLs: unpatched {seen[False]!r}, patched {seen[True]!r} (expected {expected!r})")
    result["base_url_unpatched"], result["base_url_patched"] = seen[False], seen[True]
    return result


# ----------------------------------------------------------------------------- (e) requests


def _expect(standin: StandIn, n: int, path_part: str, what: str) -> None:
    records = standin.records
    standin.clear()
    wrong = [r for r in records if path_part not in r.path or r.host != standin.netloc]
    if len(records) != n or wrong:
        raise SystemExit(f"{what}: the stand-in saw {len(records)} requests (expected {n}); unexpected: {wrong[:3]}")


def make_request_cases(standin: StandIn) -> tuple:
    """([(name, run_block, primary)], close); each run_block(patched, n) returns (wall, cpu) for n requests."""
    direct = standin.url
    messages = [{"role": "user", "content": "hi"}]
    payload = {"model": "qwen-plus", "messages": messages}
    openai_clients, sessions, httpx_clients, pools, loops, aiohttp_sessions = {}, {}, {}, {}, {}, {}

    def chat_url(patched: bool) -> str:
        return (PUBLIC_BASE if patched else direct) + OPENAI_PATH + "/chat/completions"

    def openai_chat(patched: bool, n: int) -> tuple:
        if patched not in openai_clients:
            base = (PUBLIC_BASE if patched else direct) + OPENAI_PATH
            openai_clients[patched] = openai.OpenAI(api_key="sk-bench", base_url=base, max_retries=0)
            assert str(openai_clients[patched].base_url) == direct + OPENAI_PATH + "/", openai_clients[patched].base_url
        create = openai_clients[patched].chat.completions.create
        standin.clear()
        result = timed_loop(lambda: create(model="qwen-plus", messages=messages), n)
        _expect(standin, n, "/compatible-mode/v1/chat/completions", "openai chat.completions.create")
        return result

    def dashscope_generation(patched: bool, n: int) -> tuple:
        dashscope.base_http_api_url = (PUBLIC_BASE if patched else direct) + "/api/v1"
        assert dashscope.base_http_api_url == direct + "/api/v1", dashscope.base_http_api_url
        responses = []

        def call() -> None:
            responses.append(Generation.call(model="qwen-plus", prompt="hi", api_key="sk-bench").status_code)

        standin.clear()
        result = timed_loop(call, n)
        if set(responses) != {200}:
            raise SystemExit(f"dashscope Generation.call failed: {responses}")
        _expect(standin, n, "/api/v1/services/aigc/text-generation/generation", "dashscope Generation.call")
        return result

    def raw_post(label: str, poster):  # poster(patched) -> callable(url) that posts once
        def case(patched: bool, n: int) -> tuple:
            post = poster(patched)
            url = chat_url(patched)
            standin.clear()
            result = timed_loop(lambda: post(url, json=payload).raise_for_status(), n)
            _expect(standin, n, "/chat/completions", label)
            return result

        return case

    requests_post = raw_post("requests.post", lambda patched: requests.post)
    httpx_post = raw_post("httpx.post", lambda patched: httpx.post)

    def kept(store: dict, key: object, make):  # built once per side (not per block: setup is neither timed nor counted)
        if key not in store:
            store[key] = make()
        return store[key]

    requests_session_post = raw_post("requests.Session.post", lambda patched: kept(sessions, patched, requests.Session).post)
    httpx_client_post = raw_post("httpx.Client.post", lambda patched: kept(httpx_clients, patched, httpx.Client).post)
    httpx2_client_post = raw_post("httpx2.Client.post", lambda patched: kept(httpx_clients, ("httpx2", patched), httpx2.Client).post)

    def urllib3_pool_post(patched: bool, n: int) -> tuple:
        manager = kept(pools, patched, urllib3.PoolManager)
        url = chat_url(patched)

        def post() -> None:
            if manager.request("POST", url, json=payload).status != 200:
                raise SystemExit("urllib3 PoolManager.request failed")

        standin.clear()
        result = timed_loop(post, n)
        _expect(standin, n, "/chat/completions", "urllib3.PoolManager.request")
        return result

    def aiohttp_session_post(patched: bool, n: int) -> tuple:
        """One event loop per side, kept; the session is made inside it and kept too (keep-alive)."""
        loop = loops.get(patched)
        if loop is None:
            loop = loops[patched] = asyncio.new_event_loop()
        url = chat_url(patched)

        async def run() -> None:
            session = aiohttp_sessions.get(patched)
            if session is None:
                session = aiohttp_sessions[patched] = aiohttp.ClientSession()
            for _ in range(n):
                async with session.post(url, json=payload) as response:
                    response.raise_for_status()
                    await response.read()

        standin.clear()
        c0, h0, t0 = cpu(), thread_cpu(), perf()
        loop.run_until_complete(run())
        result = perf() - t0, cpu() - c0, thread_cpu() - h0
        _expect(standin, n, "/chat/completions", "aiohttp.ClientSession.post")
        return result

    run = {
        "openai chat.completions.create (keep-alive client)": openai_chat,
        "dashscope Generation.call (keep-alive, shared session)": dashscope_generation,
        "requests.post": requests_post,
        "httpx.post": httpx_post,
        "requests.Session().post (keep-alive)": requests_session_post,
        "httpx.Client().post (keep-alive)": httpx_client_post,
        "httpx2.Client().post (keep-alive)": httpx2_client_post,
        "urllib3.PoolManager().request (keep-alive)": urllib3_pool_post,
        "aiohttp.ClientSession().post (keep-alive)": aiohttp_session_post,
    }
    cases = [(name, run[name], primary) for name, primary in CASES]

    def close() -> None:
        for c in list(openai_clients.values()) + list(sessions.values()) + list(httpx_clients.values()) + list(pools.values()):
            c.clear() if isinstance(c, urllib3.PoolManager) else c.close()
        for patched, loop in loops.items():
            if patched in aiohttp_sessions:
                loop.run_until_complete(aiohttp_sessions[patched].close())
            loop.close()

    return cases, close


# ----------------------------------------------------------------------------- (e) instructions, under callgrind

def selected(name: str, cases: str) -> bool:
    return any(part in name for part in cases.split(","))


def _mark(labels: list, label: object) -> None:
    """End a segment: callgrind (``--dump-before=os_getppid``) writes the instructions since the last mark."""
    labels.append(label)
    os.getppid()


def callgrind_child(out_dir: str, cases_filter: str, ops: int, reps: int, routes: bool = False) -> None:
    """Runs under callgrind: each timed block of (e) between two marks, its label in ``labels.json``."""
    labels: list = []
    with start_standin(False) as standin:
        sides = Sides(standin.url, routes)
        cases, close = make_request_cases(standin)
        try:
            for name, run_block, _primary in cases:
                if not selected(name, cases_filter):
                    continue
                for patched in (False, True):
                    settle(sides, run_block, patched, 3)
                for rep in range(reps):
                    for patched in ((False, True) if rep % 2 == 0 else (True, False)):
                        settle(sides, run_block, patched)
                        gc.collect()
                        _mark(labels, None)
                        run_block(patched, ops)
                        _mark(labels, [name, patched, ops])
            sides.set(False)
        finally:
            close()
    with open(os.path.join(out_dir, "labels.json"), "w") as f:
        json.dump(labels, f)


def measure_instructions(cases_filter: str, ops: int, reps: int, keep: str | None = None, routes: bool = False) -> list:
    """Instructions per request (all threads, the stand-in's included: the same on both sides), counted
    by valgrind's callgrind in a child running this script: deterministic, so the ratio has no noise.
    ``keep``: a folder for callgrind's files (``callgrind_annotate`` them to see where the difference is)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        log("[runtime] (e) instructions: valgrind not found, skipped")
        return []
    with tempfile.TemporaryDirectory(prefix="bench-callgrind-") as scratch:
        tmp = keep or scratch
        os.makedirs(tmp, exist_ok=True)
        child = [sys.executable, os.path.abspath(__file__), "--callgrind-child", tmp, "--cases", cases_filter,
                 "--instr-ops", str(ops), "--instr-reps", str(reps)] + (["--routes"] if routes else [])
        per = _callgrind.per_operation(valgrind, child, tmp)
    rows = []
    for name, sides in per.items():
        base, plug = statistics.median(sides[False]), statistics.median(sides[True])
        rows.append({"case": name, "baseline": base, "plugin": plug, "ratio": plug / base, "delta": plug - base,
                     "baseline_blocks": sides[False], "plugin_blocks": sides[True], "ops_per_block": ops})
    return rows


# ----------------------------------------------------------------------------- (f) pass-through


def per_call(fn, args: tuple, n: int) -> float:
    """Thread CPU seconds per call (not inflated by other processes taking the CPU)."""
    clock = time.thread_time
    t0 = clock()
    for _ in range(n):
        fn(*args)
    return (clock() - t0) / n


def _noop(*args):  # the loop + call overhead that every per-call figure includes
    return None


def _paired(toggle, fn, fargs: tuple, count: int, repeats: int) -> dict:
    """Per-call time of ``fn`` with the toggle off and on, alternating; paired differences."""
    samples = {False: [], True: []}
    for state in (False, True):
        toggle(state)
        per_call(fn, fargs, max(1, count // 10))
    deltas = []
    for r in range(repeats):
        pair = {}
        for state in ((False, True) if r % 2 == 0 else (True, False)):
            toggle(state)
            pair[state] = per_call(fn, fargs, count)
            samples[state].append(pair[state])
        deltas.append(pair[True] - pair[False])
    toggle(False)
    base, plug, d = summarize(samples[False]), summarize(samples[True]), summarize(deltas)
    return {"unwrapped_ns": base["median"] * 1e9, "wrapped_ns": plug["median"] * 1e9,
            "median_ns": d["median"] * 1e9, "p25_ns": d["p25"] * 1e9, "p75_ns": d["p75"] * 1e9,
            "difference_of_medians_ns": (plug["median"] - base["median"]) * 1e9}


class _Target:
    def method(self, url):
        return url


def bench_pass_through(sides: Sides, repeats: int, n: int) -> list:
    """(f): absolute per-call figures with the router active, and wrapped - unwrapped pairs."""
    rows = []
    gc_was = gc.isenabled()
    gc.disable()
    try:
        sides.set(True)
        assert _runtime.route_url(OTHER_URL) is OTHER_URL
        assert _runtime.route_target("https", "api.openai.com") is None
        dashscope_url = PUBLIC_BASE + OPENAI_PATH + "/chat/completions"
        assert _runtime.route_url(dashscope_url) != dashscope_url
        absolute = [
            ("route_url('https://api.openai.com/v1/chat/completions')", _runtime.route_url, (OTHER_URL,), True),
            ("route_target('https', 'api.openai.com')", _runtime.route_target, ("https", "api.openai.com"), True),
            ("  reference: loop + call of a no-op function", _noop, (OTHER_URL,), False),
            ("  reference: route_url(<dashscope URL>), a rewrite", _runtime.route_url, (dashscope_url,), False),
        ]
        for name, fn, fargs, goal in absolute:
            per_call(fn, fargs, n // 10)
            s = summarize([per_call(fn, fargs, n) for _ in range(repeats)])
            rows.append({"case": name, "kind": "absolute", "median_ns": s["median"] * 1e9, "min_ns": s["min"] * 1e9,
                         "p25_ns": s["p25"] * 1e9, "p75_ns": s["p75"] * 1e9, "primary": goal,
                         "goal_ns": GOAL_F_NS if goal else None, "pass": (s["median"] * 1e9 <= GOAL_F_NS) if goal else None})

        def prepare_requests(url):
            return requests.Request("POST", url).prepare()

        other = "https://api.openai.com/v1/x"
        wrapped = [
            ("httpx.Request('POST', 'https://api.openai.com/v1/x')", httpx.Request, ("POST", other), n // 40, True),
            ("httpx2.Request('POST', 'https://api.openai.com/v1/x')", httpx2.Request, ("POST", other), n // 40, False),
            ("requests.Request('POST', 'https://api.openai.com/v1/x').prepare()", prepare_requests, (other,), n // 100, False),
        ]
        for name, fn, fargs, count, primary in wrapped:
            r = _paired(sides.set, fn, fargs, count, repeats)
            r.update(case=name + ": wrapped - unwrapped", kind="delta", goal_ns=GOAL_F_NS, primary=primary,
                     **{"pass": r["median_ns"] <= GOAL_F_NS})
            rows.append(r)

        # The floor of any wrapt-based hook here: a pass-through wrapper with nothing of ours inside.
        from dashscope_private._patching import _Wrapper

        original = _Target.__dict__["method"]
        floor = _Wrapper(original, lambda wrapped, instance, args, kwargs: wrapped(*args, **kwargs))

        def toggle(on: bool) -> None:
            _Target.method = floor if on else original

        target = _Target()
        r = _paired(toggle, lambda url: target.method(url), (other,), n // 4, repeats)
        r.update(case="  reference: a method wrapped in a pass-through _Wrapper (wrapt floor)", kind="delta",
                 goal_ns=None, primary=False, **{"pass": None})
        rows.append(r)
    finally:
        sides.set(False)
        if gc_was:
            gc.enable()
    return rows


# ----------------------------------------------------------------------------- main


def versions() -> dict:
    import aiohttp
    import websocket
    import wrapt

    return {
        "python": sys.version.split()[0],
        "openai": openai.__version__,
        "dashscope": getattr(dashscope, "__version__", None),
        "httpx": httpx.__version__,
        "httpx2": getattr(httpx2, "__version__", None),
        "requests": requests.__version__,
        "aiohttp": aiohttp.__version__,
        "websocket-client": getattr(websocket, "__version__", None),
        "wrapt": wrapt.__version__,
        "dashscope-private": dashscope_private.__version__,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer blocks and a smaller time budget (~30 s)")
    parser.add_argument("--blocks", type=int, default=None, help="blocks per side for (d) and (e) (default 30, quick 8)")
    parser.add_argument("--budget", type=float, default=None, help="seconds per (d)/(e) scenario (default 10, quick 2)")
    parser.add_argument("--json", default=os.path.join(RESULTS, "runtime.json"), help="where to write results (default: %(default)s)")
    parser.add_argument("--only", default="def",
                        help="subset of d, e, f, i (default: def; i: (e) in instructions, under valgrind's callgrind, a few minutes)")
    parser.add_argument("--cases", default="", help="(e), i: only the cases whose name contains one of these comma-separated texts (e.g. keep-alive,openai)")
    parser.add_argument("--instr-ops", type=int, default=10, help="i: requests per counted block (default 10)")
    parser.add_argument("--instr-reps", type=int, default=2, help="i: counted blocks per side (default 2)")
    parser.add_argument("--instr-keep", metavar="DIR", help="i: keep callgrind's files (labels.json, cg.out.N) in DIR")
    parser.add_argument("--instr-from", metavar="JSON",
                        help="without i: show the instruction counts of an earlier --only i run of the same checkout (deterministic) beside this run's times")
    parser.add_argument("--routes", action="store_true", help="activate with DASHSCOPE_PRIVATE_ROUTES (three routes, a wildcard among them) instead of one endpoint")
    parser.add_argument("--fail-on-goal", action="store_true", help="exit 2 when a goal fails (wall, CPU or instructions)")
    parser.add_argument("--standin-as-shipped", action="store_true",
                        help="keep Nagle's algorithm on the stand-in's sockets (keep-alive requests then take ~40 ms each)")
    parser.add_argument("--callgrind-child", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.callgrind_child:
        callgrind_child(args.callgrind_child, args.cases, args.instr_ops, args.instr_reps, args.routes)
        return 0
    blocks = args.blocks or (8 if args.quick else 30)
    budget = args.budget or (2.0 if args.quick else 10.0)
    f_repeats, f_n = (9, 20000) if args.quick else (31, 60000)

    started = perf()
    results: dict = {"d": None, "d_shared": None, "e": [], "f": [], "i": []}
    with start_standin(args.standin_as_shipped) as standin:
        sides = Sides(standin.url, args.routes)
        if "d" in args.only:
            log(f"[runtime] (d) OpenAI client construction: {blocks} blocks per side")
            results["d"] = bench_construction(sides, standin, blocks, budget)
            log(f"[runtime] (d) ... with a shared http_client: {blocks} blocks per side")
            shared = openai.DefaultHttpxClient()
            try:
                results["d_shared"] = bench_construction(sides, standin, blocks, budget / 3, http_client=shared)
            finally:
                shared.close()
        if "e" in args.only:
            cases, close = make_request_cases(standin)
            try:
                for name, run_block, primary in cases:
                    if not selected(name, args.cases):
                        continue
                    log(f"[runtime] (e) {name}: {blocks} blocks per side ({perf() - started:.0f}s)")
                    n = calibrate(sides, run_block, budget if primary else budget / 2, blocks)
                    r = alternate(sides, blocks, n, run_block, warmup=3)
                    r.update(case=name, primary=primary)
                    results["e"].append(r)
            finally:
                close()
        if "f" in args.only:
            log(f"[runtime] (f) pass-through: {f_repeats} repeats ({perf() - started:.0f}s)")
            results["f"] = bench_pass_through(sides, f_repeats, f_n)
        standin_hosts = {r.host for r in standin.records}
    if standin_hosts - {standin.netloc}:
        raise SystemExit(f"the stand-in saw unexpected Host headers: {standin_hosts}")
    if "i" in args.only:
        log(f"[runtime] (e) in instructions, under callgrind: {args.instr_reps} blocks of {args.instr_ops} per side ({perf() - started:.0f}s)")
        results["i"] = measure_instructions(args.cases, args.instr_ops, args.instr_reps, args.instr_keep, args.routes)
    elif args.instr_from:
        with open(args.instr_from) as f:
            results["i"] = [dict(r, **{"from": args.instr_from}) for r in json.load(f)["instructions"]]
    instructions = {r["case"]: r for r in results["i"]}
    primary_cases = {name for name, primary in CASES if primary}

    # ---- report
    ok = True
    print()
    print(f"dashscope-private run-time benchmark (python {sys.version.split()[0]}, openai {openai.__version__}, "
          f"wrapt {versions()['wrapt']}, {os.cpu_count()} cpus); medians over {blocks} alternating blocks per side, "
          f"each measured after {SETTLE} untimed operations")
    print("wall = perf_counter, cpu = process_time (all threads, incl. the in-process stand-in), each with the 95% bootstrap interval "
          "of its ratio [lo-hi]; min w/c = fastest plugin block / fastest baseline block, wall and cpu; thread, min = the calling "
          "thread's cpu (thread_time: the client's own work), median and min ratio; +us = plugin - baseline, cpu median per "
          "operation; +calls = extra Python/builtin calls per operation (cProfile count); a row is met only when every ratio "
          "measured is within the goal; 'noise' = a missed goal lies inside that clock's interval")
    header = (f"{'case':<60} {'base wall':>10} {'plug wall':>10} {'ratio [95% CI]':>21} {'base cpu':>10} {'plug cpu':>10} "
              f"{'ratio [95% CI]':>21} {'min w/c':>11} {'thread':>6} {'min':>5} {'+us':>6} {'+calls':>7} {'goal':>6}  verdict")
    print(header)
    print("-" * len(header))

    def clock_verdict(r: dict, goal: float) -> str:
        if r["ratio"] <= goal:
            return "PASS"
        lo, _hi = r.get("ratio_ci95") or (r["ratio"], r["ratio"])
        return "FAIL (noise)" if lo <= goal else "FAIL"

    def ratio_row(label: str, r: dict, goal: float, primary: bool = True, instr: dict | None = None) -> None:
        nonlocal ok
        wall_pass, cpu_pass = r["ratio"] <= goal, r["cpu"]["ratio"] <= goal
        instr_pass = instr is None or instr["ratio"] <= goal
        r["goal"], r["pass"], r["cpu"]["pass"] = goal, wall_pass, cpu_pass
        r["met"] = wall_pass and cpu_pass and instr_pass
        if primary:
            ok &= r["met"]
        verdict = f"{'met' if r['met'] else 'NOT met'}: wall {clock_verdict(r, goal)}, cpu {clock_verdict(r['cpu'], goal)}"
        if instr is not None:
            verdict += f", instr {'PASS' if instr_pass else 'FAIL'}"
        verdict += "" if primary else " (info)"
        c = r["cpu"]
        added = r["calls_per_op"]["plugin"] - r["calls_per_op"]["baseline"]
        t = r.get("thread_cpu")
        thread = f"{t['ratio']:>5.3f}x {t['min_ratio']:>5.3f}" if t else f"{'':>6} {'':>5}"

        def ci(x: dict) -> str:
            lo, hi = x["ratio_ci95"]
            return f"{x['ratio']:>5.3f}x [{lo:.3f}-{hi:.3f}]"

        print(f"{label:<60} {r['baseline']['median'] * 1e6:>8.1f}us {r['plugin']['median'] * 1e6:>8.1f}us {ci(r):>21} "
              f"{c['baseline']['median'] * 1e6:>8.1f}us {c['plugin']['median'] * 1e6:>8.1f}us {ci(c):>21} "
              f"{r['min_ratio']:>5.3f}/{c['min_ratio']:<5.3f} {thread} {c['delta_us']:>+6.1f} {added:>+7.0f} {'<=' + format(goal, '.2f'):>6}  {verdict}")

    if results["d"]:
        ratio_row("(d) openai.OpenAI(base_url=<public>) construction", results["d"], GOAL_D)
    if results["d_shared"]:
        ratio_row("(d) ... with a shared http_client (no SSL setup)", results["d_shared"], GOAL_D, False)
    for r in results["e"]:
        instr = instructions.get(r["case"])
        if instr is not None:
            r["instructions"] = instr
        ratio_row(f"(e) {r['case']}", r, GOAL_E, r["primary"], instr)
    if results["i"]:
        print()
        header = (f"{'(e) in instructions per request (callgrind, all threads; deterministic)':<72} {'baseline':>12} {'plugin':>12} "
                  f"{'ratio':>7} {'+instr':>9} {'goal':>6}  verdict")
        print(header)
        print("-" * len(header))
        for r in results["i"]:
            primary = r["case"] in primary_cases
            r["pass"] = r["ratio"] <= GOAL_E
            if primary and not results["e"]:
                ok &= r["pass"]
            verdict = ("PASS" if r["pass"] else "FAIL") + ("" if primary else " (info)")
            print(f"{r['case']:<72} {r['baseline']:>12,.0f} {r['plugin']:>12,.0f} {r['ratio']:>6.4f}x {r['delta']:>+9,.0f} "
                  f"{'<=' + format(GOAL_E, '.2f'):>6}  {verdict}")
    if results["f"]:
        print()
        header = f"{'(f) pass-through, non-DashScope URL (thread CPU per call)':<80} {'median':>9} {'IQR':>13} {'goal':>8}  verdict"
        print(header)
        print("-" * len(header))
        for r in results["f"]:
            if r["goal_ns"] is None:
                verdict, goal = "(reference)", ""
            else:
                verdict, goal = ("PASS" if r["pass"] else "FAIL"), f"<={r['goal_ns']:.0f}ns"
                if r["primary"]:
                    ok &= r["pass"]
                else:
                    verdict += " (info)"
            extra = f"  [{r['unwrapped_ns']:.0f} -> {r['wrapped_ns']:.0f} ns]" if r["kind"] == "delta" else ""
            iqr = f"{r['p25_ns']:.0f}-{r['p75_ns']:.0f}"
            print(f"{r['case']:<80} {r['median_ns']:>7.0f}ns {iqr:>13} {goal:>8}  {verdict}{extra}")
    if results["d"]:
        print(f"\n(d) base_url unpatched: {results['d']['base_url_unpatched']}  patched: {results['d']['base_url_patched']}")
    print(f"stand-in TCP_NODELAY: {not args.standin_as_shipped}; (total {perf() - started:.1f}s)")

    out = {
        "benchmark": "runtime",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "versions": versions(),
        "settings": {"blocks": blocks, "budget_seconds": budget, "f_repeats": f_repeats, "f_calls": f_n, "quick": args.quick,
                     "standin_tcp_nodelay": not args.standin_as_shipped, "routes": routes_for("<stand-in>") if args.routes else None},
        "units": "seconds per operation unless the key says _ns/_us",
        "construction": results["d"],
        "construction_shared_http_client": results["d_shared"],
        "requests": results["e"],
        "pass_through": results["f"],
        "instructions": results["i"],
        "all_goals_pass": ok,
        "seconds": perf() - started,
    }
    write_json(args.json, out)
    return 2 if (args.fail_on_goal and not ok) else 0


if __name__ == "__main__":
    sys.exit(main())
