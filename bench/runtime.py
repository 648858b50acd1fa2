#!/usr/bin/env python3
"""Run-time cost of dashscope-private, in one process, against the loopback stand-in.

Run it with the dev venv (``/work/venv-dev/bin/python bench/runtime.py``); the
package is imported from this checkout. Patched and unpatched blocks alternate
(``dashscope_private.activate()`` / ``deactivate()`` between blocks, ABBA order)
and each side's figure is the median over blocks of the mean time per operation.

  (d) ``openai.OpenAI(api_key=..., base_url='https://dashscope.aliyuncs.com/compatible-mode/v1')``
      construction, unpatched vs patched (the patched one rewrites the URL).  goal <= 1.01x
  (e) one request through the real SDKs: baseline client pointed directly at the
      stand-in vs patched client pointed at the public URL and redirected to it.  goal <= 1.02x
  (f) pass-through cost for a non-DashScope URL: route_url / route_target per call, and
      wrapped minus unwrapped ``httpx.Request('POST', 'https://api.openai.com/v1/x')``.  goal <= 1 us

Only loopback is ever contacted: every proxy variable is cleared, and an audit
hook refuses any DNS lookup or connection that is not to a loopback address (a
request the plugin failed to redirect fails loudly instead of leaving the
machine). Every timed block also checks that the stand-in got exactly the
requests sent, on the expected path.
"""

from __future__ import annotations

import argparse
import gc
import ipaddress
import json
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")

PUBLIC_BASE = "https://dashscope.aliyuncs.com"
OPENAI_PATH = "/compatible-mode/v1"
OTHER_URL = "https://api.openai.com/v1/chat/completions"
GOAL_D = 1.01
GOAL_E = 1.02
GOAL_F_NS = 1000.0

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

import dashscope  # noqa: E402
import httpx  # noqa: E402
import httpx2  # noqa: E402
import openai  # noqa: E402
import requests  # noqa: E402
from dashscope import Generation  # noqa: E402

import dashscope_private  # noqa: E402
from dashscope_private import _runtime  # noqa: E402
from dashscope_private.standin import StandIn  # noqa: E402

# ----------------------------------------------------------------------------- harness


def log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


class Sides:
    """Switch between the unpatched and the patched process state."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def set(self, patched: bool) -> None:
        if patched:
            dashscope_private.activate(self.endpoint)
            assert _runtime.is_active()
        else:
            dashscope_private.deactivate()
            assert not _runtime.is_active() and not _runtime.installed_integrations()


def summarize(values: list) -> dict:
    values = sorted(values)
    q = statistics.quantiles(values, n=4) if len(values) >= 2 else [values[0]] * 3
    return {"median": statistics.median(values), "p25": q[0], "p75": q[2], "min": values[0], "n": len(values)}


def alternate(sides: Sides, blocks: int, per_block: int, run_block, warmup: int = 1) -> dict:
    """Time ``run_block(patched, n) -> seconds`` in alternating blocks; per-operation seconds per block."""
    for patched in (False, True):
        sides.set(patched)
        run_block(patched, warmup)
    times = {False: [], True: []}
    for b in range(blocks):
        order = (False, True) if b % 2 == 0 else (True, False)
        for patched in order:
            sides.set(patched)
            gc.collect()
            times[patched].append(run_block(patched, per_block) / per_block)
    sides.set(False)
    base, plug = summarize(times[False]), summarize(times[True])
    pair = sorted(p / u for u, p in zip(times[False], times[True]))
    return {
        "baseline": base,
        "plugin": plug,
        "ratio": plug["median"] / base["median"],
        "delta_us": (plug["median"] - base["median"]) * 1e6,
        "paired_ratio_p25_p75": [statistics.quantiles(pair, n=4)[0], statistics.quantiles(pair, n=4)[2]] if len(pair) >= 2 else None,
        "blocks": blocks,
        "per_block": per_block,
    }


def calibrate(sides: Sides, run_block, budget: float, blocks: int, lo: int = 3, hi: int = 100000) -> int:
    """Operations per block so that 2 * blocks blocks take about ``budget`` seconds."""
    sides.set(False)
    run_block(False, 2)
    one = run_block(False, 3) / 3
    return max(lo, min(hi, int(budget / (2 * blocks * max(one, 1e-9)))))


# ----------------------------------------------------------------------------- (d) client construction


def bench_construction(sides: Sides, standin: StandIn, blocks: int, budget: float) -> dict:
    public = PUBLIC_BASE + OPENAI_PATH
    seen = {}

    def run_block(patched: bool, n: int) -> float:
        total = 0.0
        clients = []
        perf = time.perf_counter
        for _ in range(n):
            t0 = perf()
            client = openai.OpenAI(api_key="sk-bench", base_url=public)
            total += perf() - t0
            clients.append(client)
        seen[patched] = str(clients[-1].base_url)
        for client in clients:
            client.close()
        return total

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


def make_request_cases(standin: StandIn) -> list:
    """(name, run_block) pairs; each run_block(patched, n) returns seconds for n requests."""
    direct = standin.url
    messages = [{"role": "user", "content": "hi"}]
    payload = {"model": "qwen-plus", "messages": messages}
    cases = []
    clients = {}

    def openai_client(patched: bool) -> openai.OpenAI:
        if patched not in clients:
            base = (PUBLIC_BASE if patched else direct) + OPENAI_PATH
            clients[patched] = openai.OpenAI(api_key="sk-bench", base_url=base, max_retries=0)
            assert str(clients[patched].base_url) == direct + OPENAI_PATH + "/", clients[patched].base_url
        return clients[patched]

    def openai_chat(patched: bool, n: int) -> float:
        client = openai_client(patched)
        create = client.chat.completions.create
        standin.clear()
        t0 = time.perf_counter()
        for _ in range(n):
            create(model="qwen-plus", messages=messages)
        elapsed = time.perf_counter() - t0
        _expect(standin, n, "/compatible-mode/v1/chat/completions", "openai chat.completions.create")
        return elapsed

    def dashscope_generation(patched: bool, n: int) -> float:
        dashscope.base_http_api_url = (PUBLIC_BASE if patched else direct) + "/api/v1"
        assert dashscope.base_http_api_url == direct + "/api/v1", dashscope.base_http_api_url
        standin.clear()
        t0 = time.perf_counter()
        for _ in range(n):
            response = Generation.call(model="qwen-plus", prompt="hi", api_key="sk-bench")
        elapsed = time.perf_counter() - t0
        if response.status_code != 200:
            raise SystemExit(f"dashscope Generation.call failed: {response}")
        _expect(standin, n, "/api/v1/services/aigc/text-generation/generation", "dashscope Generation.call")
        return elapsed

    def chat_url(patched: bool) -> str:
        return (PUBLIC_BASE if patched else direct) + OPENAI_PATH + "/chat/completions"

    def requests_post(patched: bool, n: int) -> float:
        url = chat_url(patched)
        standin.clear()
        t0 = time.perf_counter()
        for _ in range(n):
            requests.post(url, json=payload).raise_for_status()
        elapsed = time.perf_counter() - t0
        _expect(standin, n, "/chat/completions", "requests.post")
        return elapsed

    sessions = {}

    def requests_session_post(patched: bool, n: int) -> float:
        session = sessions.setdefault(patched, requests.Session())
        url = chat_url(patched)
        standin.clear()
        t0 = time.perf_counter()
        for _ in range(n):
            session.post(url, json=payload).raise_for_status()
        elapsed = time.perf_counter() - t0
        _expect(standin, n, "/chat/completions", "requests.Session.post")
        return elapsed

    def httpx_post(patched: bool, n: int) -> float:
        url = chat_url(patched)
        standin.clear()
        t0 = time.perf_counter()
        for _ in range(n):
            httpx.post(url, json=payload).raise_for_status()
        elapsed = time.perf_counter() - t0
        _expect(standin, n, "/chat/completions", "httpx.post")
        return elapsed

    httpx_clients = {}

    def httpx_client_post(patched: bool, n: int) -> float:
        client = httpx_clients.setdefault(patched, httpx.Client())
        url = chat_url(patched)
        standin.clear()
        t0 = time.perf_counter()
        for _ in range(n):
            client.post(url, json=payload).raise_for_status()
        elapsed = time.perf_counter() - t0
        _expect(standin, n, "/chat/completions", "httpx.Client.post")
        return elapsed

    cases = [
        ("openai chat.completions.create", openai_chat, True),
        ("dashscope Generation.call", dashscope_generation, True),
        ("requests.post", requests_post, True),
        ("httpx.post", httpx_post, True),
        ("requests.Session().post (keep-alive)", requests_session_post, False),
        ("httpx.Client().post (keep-alive)", httpx_client_post, False),
    ]

    def close() -> None:
        for c in clients.values():
            c.close()
        for s in sessions.values():
            s.close()
        for c in httpx_clients.values():
            c.close()

    return cases, close


# ----------------------------------------------------------------------------- (f) pass-through


def per_call(fn, args: tuple, n: int) -> float:
    perf = time.perf_counter
    t0 = perf()
    for _ in range(n):
        fn(*args)
    return (perf() - t0) / n


def _noop(*args):  # the loop + call overhead that every per-call figure includes
    return None


def bench_pass_through(sides: Sides, repeats: int, n: int) -> list:
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
            ("loop + call overhead of a no-op function (reference)", _noop, (OTHER_URL,), False),
            ("route_url(<dashscope URL>), a rewrite (reference)", _runtime.route_url, (dashscope_url,), False),
        ]
        for name, fn, fargs, goal in absolute:
            per_call(fn, fargs, n // 10)
            samples = [per_call(fn, fargs, n) for _ in range(repeats)]
            s = summarize(samples)
            rows.append({"case": name, "kind": "absolute", "median_ns": s["median"] * 1e9, "min_ns": s["min"] * 1e9,
                         "p25_ns": s["p25"] * 1e9, "p75_ns": s["p75"] * 1e9,
                         "goal_ns": GOAL_F_NS if goal else None, "pass": (s["median"] * 1e9 <= GOAL_F_NS) if goal else None})

        # wrapped minus unwrapped, alternating activate/deactivate blocks
        def prepare_requests(url):
            return requests.Request("POST", url).prepare()

        wrapped = [
            ("httpx.Request('POST', 'https://api.openai.com/v1/x')", httpx.Request, ("POST", "https://api.openai.com/v1/x"), n // 4),
            ("httpx2.Request('POST', 'https://api.openai.com/v1/x')", httpx2.Request, ("POST", "https://api.openai.com/v1/x"), n // 4),
            ("requests.Request('POST', 'https://api.openai.com/v1/x').prepare()", prepare_requests, ("https://api.openai.com/v1/x",), n // 20),
        ]
        for name, fn, fargs, count in wrapped:
            samples = {False: [], True: []}
            for patched in (False, True):
                sides.set(patched)
                per_call(fn, fargs, count // 10)
            for r in range(repeats):
                for patched in ((False, True) if r % 2 == 0 else (True, False)):
                    sides.set(patched)
                    samples[patched].append(per_call(fn, fargs, count))
            base, plug = summarize(samples[False]), summarize(samples[True])
            delta = (plug["median"] - base["median"]) * 1e9
            rows.append({"case": name + ": wrapped - unwrapped", "kind": "delta", "unwrapped_ns": base["median"] * 1e9,
                         "wrapped_ns": plug["median"] * 1e9, "median_ns": delta,
                         "min_ns": (plug["min"] - base["min"]) * 1e9, "goal_ns": GOAL_F_NS, "pass": delta <= GOAL_F_NS})
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
    parser.add_argument("--quick", action="store_true", help="fewer blocks and a smaller time budget (~20 s)")
    parser.add_argument("--blocks", type=int, default=None, help="blocks per side for (d) and (e) (default 20, quick 6)")
    parser.add_argument("--budget", type=float, default=None, help="seconds per (d)/(e) scenario (default 14, quick 2)")
    parser.add_argument("--json", default=os.path.join(RESULTS, "runtime.json"), help="where to write results (default: %(default)s)")
    parser.add_argument("--only", default="def", help="subset of d, e, f (default: def)")
    parser.add_argument("--fail-on-goal", action="store_true", help="exit 2 when a goal fails")
    args = parser.parse_args()
    blocks = args.blocks or (6 if args.quick else 20)
    budget = args.budget or (2.0 if args.quick else 14.0)
    f_repeats, f_n = (7, 20000) if args.quick else (21, 100000)

    started = time.perf_counter()
    results = {"d": None, "e": [], "f": []}
    with StandIn() as standin:
        sides = Sides(standin.url)
        if "d" in args.only:
            log(f"[runtime] (d) OpenAI client construction: {blocks} blocks per side")
            results["d"] = bench_construction(sides, standin, blocks, budget)
        if "e" in args.only:
            cases, close = make_request_cases(standin)
            try:
                for name, run_block, primary in cases:
                    log(f"[runtime] (e) {name}: {blocks} blocks per side")
                    n = calibrate(sides, run_block, budget if primary else budget / 2, blocks)
                    r = alternate(sides, blocks, n, run_block, warmup=3)
                    r.update(case=name, primary=primary)
                    results["e"].append(r)
            finally:
                close()
        if "f" in args.only:
            log(f"[runtime] (f) pass-through: {f_repeats} repeats")
            results["f"] = bench_pass_through(sides, f_repeats, f_n)
        standin_hosts = {r.host for r in standin.records}
    if standin_hosts - {standin.netloc}:
        raise SystemExit(f"the stand-in saw unexpected Host headers: {standin_hosts}")

    # ---- report
    print()
    print(f"dashscope-private run-time benchmark (python {sys.version.split()[0]}, openai {openai.__version__}, "
          f"{os.cpu_count()} cpus); medians over alternating blocks")
    header = f"{'case':<58} {'baseline':>11} {'plugin':>11} {'delta':>10} {'ratio':>7} {'goal':>7}  verdict"
    print(header)
    print("-" * len(header))
    ok = True

    def ratio_row(label: str, r: dict, goal: float, primary: bool = True) -> None:
        nonlocal ok
        passed = r["ratio"] <= goal
        if primary:
            ok &= passed
        verdict = ("PASS" if passed else "FAIL") + ("" if primary else " (info)")
        r["goal"], r["pass"] = goal, passed
        print(f"{label:<58} {r['baseline']['median'] * 1e6:>9.1f}us {r['plugin']['median'] * 1e6:>9.1f}us "
              f"{r['delta_us']:>+8.1f}us {r['ratio']:>6.3f}x {'<=' + format(goal, '.2f'):>7}  {verdict}")

    if results["d"]:
        ratio_row("(d) openai.OpenAI(base_url=dashscope public) construction", results["d"], GOAL_D)
    for r in results["e"]:
        ratio_row(f"(e) {r['case']}", r, GOAL_E, r["primary"])
    if results["f"]:
        print()
        header = f"{'(f) pass-through, non-DashScope URL':<80} {'per call':>10} {'goal':>8}  verdict"
        print(header)
        print("-" * len(header))
        for r in results["f"]:
            if r["goal_ns"] is None:
                verdict, goal = "(reference)", ""
            else:
                verdict, goal = ("PASS" if r["pass"] else "FAIL"), f"<={r['goal_ns']:.0f}ns"
                ok &= r["pass"]
            extra = f"  [{r['unwrapped_ns']:.0f} -> {r['wrapped_ns']:.0f} ns]" if r["kind"] == "delta" else ""
            print(f"{r['case']:<80} {r['median_ns']:>8.0f}ns {goal:>8}  {verdict}{extra}")
    if results["d"]:
        print(f"\n(d) base_url unpatched: {results['d']['base_url_unpatched']}  patched: {results['d']['base_url_patched']}")
    print(f"(total {time.perf_counter() - started:.1f}s)")

    out = {
        "benchmark": "runtime",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "versions": versions(),
        "settings": {"blocks": blocks, "budget_seconds": budget, "f_repeats": f_repeats, "f_calls": f_n, "quick": args.quick},
        "units": "seconds per operation unless the key says _ns/_us",
        "construction": results["d"],
        "requests": results["e"],
        "pass_through": results["f"],
        "all_goals_pass": ok,
        "seconds": time.perf_counter() - started,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    tmp = args.json + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1, default=str)
    os.replace(tmp, args.json)
    print(f"wrote {args.json}")
    return 2 if (args.fail_on_goal and not ok) else 0


if __name__ == "__main__":
    sys.exit(main())
