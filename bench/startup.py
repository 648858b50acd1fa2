#!/usr/bin/env python3
"""Start-up cost of dashscope-private: fresh interpreters, BASE venv vs PLUGIN venv.

Two venvs are made with uv from the same interpreter (and reused on later runs):

* BASE:   wrapt + openai
* PLUGIN: the same pinned versions + the dashscope-private wheel built from this checkout

Cases (each a ratio PLUGIN / BASE of medians over N interleaved runs):

  (a) ``python -c pass``, DASHSCOPE_PRIVATE_ENDPOINT unset in both      goal <= 1.05x
  (b) ``python -c pass``, variable set in PLUGIN, unset in BASE          goal <= 1.15x
      (+ asserts wrapt/openai/requests/httpx/logging are not imported at start-up)
  (c) ``python -c "import openai"``, variable set in PLUGIN, unset in BASE   goal <= 1.05x

Metrics for each case: whole-process wall time (the goal metric), the child's CPU
time (user+sys from rusage), and an in-process number: the ``-X importtime`` total
(sum of all "self" times) for (a)/(b), and ``time.perf_counter()`` around
``import openai`` inside the child for (c) (plus ``-X importtime`` totals from a few
extra runs). Runs alternate A/B, B/A to cancel drift.

Only stdlib; run it with any Python 3.9+ (by default the venvs are made from the
base interpreter of the Python running this script). Talks to no network beyond
what ``uv`` needs to install packages from the registry (normally its cache).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from _results import write_json  # bench/ is sys.path[0] when a script here runs

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
ENDPOINT_VALUE = "ep-x.dashscope.cn-beijing.privatelink.aliyuncs.com"
FORBIDDEN_AT_STARTUP = ("wrapt", "openai", "requests", "httpx", "logging")

GOALS = {"a": 1.05, "b": 1.15, "c": 1.05}
CASE_TITLES = {
    "a": "(a) -c pass, unset",
    "b": "(b) -c pass, set",
    "c": "(c) import openai, set",
}

# Not copied when building the wheel from a copy of the checkout.
BUILD_IGNORE = (".git", ".bench-venvs", ".ci-venvs", ".venv*", "__pycache__", "*.pyc", ".pytest_cache",
                ".hypothesis", "dist", "build", "*.egg-info", "results")

IMPORT_OPENAI_TIMED = (
    "import time\n"
    "t = time.perf_counter()\n"
    "import openai\n"
    "t = time.perf_counter() - t\n"
    "import sys\n"
    "sys.stdout.write(repr(t))\n"
)

LIST_MODULES = (
    "import sys\n"
    "names = sorted(sys.modules)\n"
    "r = sys.modules.get('dashscope_private._runtime')\n"
    "b = sys.modules.get('dashscope_private._boot')\n"
    "# active: activation complete, or (lazy start-up) hooks registered and waiting for the first SDK import\n"
    "active = (r is not None and r.current() is not None) or bool(b is not None and b.pending)\n"
    "installed = ','.join(r.installed_integrations()) if r is not None else ''\n"
    "sys.stdout.write('ACTIVE=%s\\nINSTALLED=%s\\n' % (active, installed) + '\\n'.join(names))\n"
)


def log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def run(cmd, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kwargs)


# ----------------------------------------------------------------------------- build + venvs


def default_python() -> str:
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def build_wheel(uv: str, out_dir: str, notes: list) -> str:
    """Build the wheel from a copy of the checkout (so the work tree is never written)."""
    tmp = tempfile.mkdtemp(prefix="dsp-bench-src-")
    src = tmp
    try:
        src = os.path.join(src, "src")
        shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(*BUILD_IGNORE), symlinks=True)
        if not os.path.exists(os.path.join(src, "README.md")):
            # pyproject.toml declares readme = "README.md", which the checkout lacks:
            # hatchling then refuses to build. Build the copy with a placeholder.
            with open(os.path.join(src, "README.md"), "w") as f:
                f.write("# dashscope-private\n\n(placeholder written by bench/startup.py)\n")
            notes.append("README.md is missing from the checkout but pyproject.toml names it: "
                         "`uv build`/`python -m build` fail in the checkout; the wheel was built from a copy with a placeholder README.md")
        os.makedirs(out_dir, exist_ok=True)
        for old in os.listdir(out_dir):
            if old.endswith(".whl"):
                os.remove(os.path.join(out_dir, old))
        run([uv, "build", "--wheel", "--out-dir", out_dir, src])
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"uv build failed:\n{exc.stderr[-3000:]}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    wheels = [w for w in os.listdir(out_dir) if w.endswith(".whl")]
    if len(wheels) != 1:
        raise SystemExit(f"expected one wheel in {out_dir}, found {wheels}")
    return os.path.join(out_dir, wheels[0])


def venv_python(venv: str) -> str:
    return os.path.join(venv, "bin", "python")


def read_stamp(venv: str) -> dict:
    try:
        with open(os.path.join(venv, "bench-stamp.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def write_stamp(venv: str, stamp: dict) -> None:
    with open(os.path.join(venv, "bench-stamp.json"), "w") as f:
        json.dump(stamp, f, indent=1)


def freeze(uv: str, venv: str) -> list:
    out = run([uv, "pip", "freeze", "--python", venv_python(venv)]).stdout
    return sorted(line.strip() for line in out.splitlines() if line.strip())


def ensure_venvs(args, uv: str, python: str, notes: list) -> dict:
    workdir = os.path.abspath(args.workdir)
    os.makedirs(workdir, exist_ok=True)
    base, plugin = os.path.join(workdir, "base"), os.path.join(workdir, "plugin")
    py_version = run([python, "-c", "import sys; print(sys.version.split()[0])"]).stdout.strip()
    requirements = [args.openai_spec, args.wrapt_spec]

    # BASE
    stamp = read_stamp(base)
    wanted = {"python": python, "version": py_version, "requirements": requirements}
    if args.rebuild or {k: stamp.get(k) for k in wanted} != wanted or not os.path.exists(venv_python(base)):
        log(f"[startup] creating BASE venv {base} ({python}, {py_version})")
        shutil.rmtree(base, ignore_errors=True)
        run([uv, "venv", "--quiet", "--python", python, base])
        run([uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", venv_python(base), *requirements])
        write_stamp(base, {**wanted, "freeze": freeze(uv, base)})
    base_freeze = read_stamp(base)["freeze"]

    # the wheel, rebuilt every time so PLUGIN always reflects the checkout
    if args.wheel:
        wheel = os.path.abspath(args.wheel)
    else:
        log("[startup] building the dashscope-private wheel (uv build, from a copy of the checkout)")
        wheel = build_wheel(uv, os.path.join(workdir, "wheel"), notes)
    wheel_hash = sha256(wheel)

    # PLUGIN: BASE's exact pins + the wheel
    stamp = read_stamp(plugin)
    wanted = {"python": python, "version": py_version, "base_freeze": base_freeze}
    fresh = args.rebuild or {k: stamp.get(k) for k in wanted} != wanted or not os.path.exists(venv_python(plugin))
    if fresh:
        log(f"[startup] creating PLUGIN venv {plugin}")
        shutil.rmtree(plugin, ignore_errors=True)
        run([uv, "venv", "--quiet", "--python", python, plugin])
        pins = os.path.join(workdir, "base-pins.txt")
        with open(pins, "w") as f:
            f.write("\n".join(base_freeze) + "\n")
        run([uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", venv_python(plugin), "-r", pins])
    if fresh or stamp.get("wheel_sha256") != wheel_hash:
        log(f"[startup] installing {os.path.basename(wheel)} into PLUGIN")
        run([uv, "pip", "install", "--quiet", "--compile-bytecode", "--reinstall-package", "dashscope-private",
             "--no-deps", "--python", venv_python(plugin), wheel])
        write_stamp(plugin, {**wanted, "wheel_sha256": wheel_hash})

    plugin_freeze = freeze(uv, plugin)
    extra = [p for p in plugin_freeze if p not in base_freeze]
    missing = [p for p in base_freeze if p not in plugin_freeze]
    if missing or [p for p in extra if not p.lower().startswith("dashscope-private")]:
        raise SystemExit(f"PLUGIN does not match BASE + the wheel: extra={extra} missing={missing}")
    site = run([venv_python(plugin), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    if not os.path.exists(os.path.join(site, "dashscope_private.pth")):
        raise SystemExit(f"dashscope_private.pth is not in {site}: the wheel does not ship the start-up file")
    return {
        "workdir": workdir,
        "base": base,
        "plugin": plugin,
        "python": python,
        "python_version": py_version,
        "wheel": wheel,
        "wheel_sha256": wheel_hash,
        "base_packages": base_freeze,
        "plugin_packages": plugin_freeze,
    }


# ----------------------------------------------------------------------------- measuring


def child_env(endpoint: bool) -> dict:
    """A minimal, reproducible environment: nothing of ours, no PYTHON* variables."""
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    if endpoint:
        env["DASHSCOPE_PRIVATE_ENDPOINT"] = ENDPOINT_VALUE
    return env


class Runner:
    def __init__(self, cwd: str) -> None:
        self.cwd = cwd

    def once(self, python: str, code: str, env: dict, importtime: bool = False) -> dict:
        cmd = [python] + (["-X", "importtime"] if importtime else []) + ["-c", code]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=self.cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc.communicate()
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit(f"child failed ({proc.returncode}): {cmd}\n{err.decode(errors='replace')[-2000:]}")
        result = {
            "wall": wall,
            "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "stdout": out.decode(errors="replace"),
        }
        stderr = err.decode(errors="replace")
        if importtime:
            result.update(parse_importtime(stderr))
        elif stderr.strip():
            raise SystemExit(f"unexpected stderr from {cmd}: {stderr[-2000:]}")
        return result


def parse_importtime(stderr: str) -> dict:
    """Totals from ``-X importtime``: the sum of self times, and per-module cumulative times."""
    total = 0
    modules = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative, name = line[len("import time:"):].split("|", 2)
        total += int(self_us)
        name = name.rstrip()
        depth = (len(name) - len(name.lstrip()) - 1) // 2  # one space after "|", then two per level
        modules[name.strip()] = (int(self_us), int(cumulative), depth)
    return {"importtime_total": total / 1e6, "importtime_modules": modules}


def interleave(runner: Runner, a: tuple, b: tuple, n: int, warmup: int, importtime: bool = False) -> tuple:
    """``n`` runs of each of a=(python, code, env) and b, in ABBA order after ``warmup`` runs each."""
    for _ in range(warmup):
        runner.once(*a, importtime=importtime)
        runner.once(*b, importtime=importtime)
    ra, rb = [], []
    for i in range(n):
        if i % 2 == 0:
            ra.append(runner.once(*a, importtime=importtime))
            rb.append(runner.once(*b, importtime=importtime))
        else:
            rb.append(runner.once(*b, importtime=importtime))
            ra.append(runner.once(*a, importtime=importtime))
    return ra, rb


def summarize(values: list) -> dict:
    values = sorted(values)
    q = statistics.quantiles(values, n=4) if len(values) >= 2 else [values[0]] * 3
    return {"median": statistics.median(values), "p25": q[0], "p75": q[2], "min": values[0], "n": len(values)}


def row(case: str, metric: str, base_values: list, plugin_values: list, goal: float, primary: bool) -> dict:
    b, p = summarize(base_values), summarize(plugin_values)
    ratio = p["median"] / b["median"]
    return {
        "case": case,
        "metric": metric,
        "primary": primary,
        "baseline": b,
        "plugin": p,
        "ratio": ratio,
        "min_ratio": p["min"] / b["min"],
        "delta_ms": (p["median"] - b["median"]) * 1e3,
        "goal": goal,
        "pass": ratio <= goal,
    }


def module_set(result: dict) -> tuple:
    lines = result["stdout"].splitlines()
    active = lines[0].split("=", 1)[1] == "True"
    installed = [x for x in lines[1].split("=", 1)[1].split(",") if x]
    return active, installed, set(lines[2:])


def top_importtime_delta(base_runs: list, plugin_runs: list, limit: int = 12) -> list:
    """Modules whose median self time grew most (or that only PLUGIN imports)."""
    def medians(runs):
        names = set().union(*(r["importtime_modules"] for r in runs))
        return {n: statistics.median(r["importtime_modules"].get(n, (0, 0, 0))[0] for r in runs) for n in names}

    mb, mp = medians(base_runs), medians(plugin_runs)
    deltas = []
    for name in set(mb) | set(mp):
        d = mp.get(name, 0) - mb.get(name, 0)
        deltas.append((d, name, name not in mb))
    deltas.sort(reverse=True)
    return [{"module": n, "delta_self_us": d, "plugin_only": only} for d, n, only in deltas[:limit]]


# ----------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", default=os.path.join(REPO, ".bench-venvs"), help="cache dir for the venvs and the wheel (default: %(default)s)")
    parser.add_argument("-n", "--runs", type=int, default=30, help="interleaved runs per side for each case (default 30)")
    parser.add_argument("--importtime-runs", type=int, default=None, help="-X importtime runs per side for (c) (default: min(runs, 8))")
    parser.add_argument("--quick", action="store_true", help="8 runs per side, 3 importtime runs for (c), 1 warm-up")
    parser.add_argument("--python", default=default_python(), help="interpreter both venvs are made from (default: %(default)s)")
    parser.add_argument("--wheel", help="install this prebuilt wheel instead of building one from the checkout")
    parser.add_argument("--openai-spec", default="openai", help="requirement for openai in both venvs (default: %(default)s)")
    parser.add_argument("--wrapt-spec", default="wrapt", help="requirement for wrapt in both venvs (default: %(default)s)")
    parser.add_argument("--rebuild", action="store_true", help="recreate both venvs")
    parser.add_argument("--cases", default="abc", help="subset of cases to run, e.g. 'ab' (default: abc)")
    parser.add_argument("--json", default=os.path.join(RESULTS, "startup.json"), help="where to write results (default: %(default)s)")
    parser.add_argument("--fail-on-goal", action="store_true", help="exit 2 when a wall-time goal fails")
    args = parser.parse_args()

    n = 8 if args.quick else args.runs
    warmup = 1 if args.quick else 3
    it_runs = args.importtime_runs if args.importtime_runs is not None else (3 if args.quick else min(n, 8))
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("uv is required (https://docs.astral.sh/uv/)")

    started = time.perf_counter()
    notes: list = []
    env_info = ensure_venvs(args, uv, args.python, notes)
    setup_seconds = time.perf_counter() - started
    base_py, plugin_py = venv_python(env_info["base"]), venv_python(env_info["plugin"])
    unset, setv = child_env(False), child_env(True)
    cwd = tempfile.mkdtemp(prefix="dsp-bench-cwd-")  # empty: nothing importable from the cwd
    runner = Runner(cwd)
    rows, checks, analysis = [], [], {}
    failed_checks = False

    # ---- sanity: what start-up imports, and that the plugin really activates
    _, _, base_mods = module_set(runner.once(base_py, LIST_MODULES, unset))
    active_a, _, plugin_unset_mods = module_set(runner.once(plugin_py, LIST_MODULES, unset))
    active_b, _, plugin_set_mods = module_set(runner.once(plugin_py, LIST_MODULES, setv))
    leaked = sorted(m for m in FORBIDDEN_AT_STARTUP if m in plugin_set_mods)
    checks.append({"check": "(a) unset: dashscope_private not imported, inactive",
                   "ok": not active_a and not any(m.startswith("dashscope_private") for m in plugin_unset_mods)})
    checks.append({"check": "(b) set: plugin active after start-up", "ok": active_b})
    checks.append({"check": "(b) set: none of " + ", ".join(FORBIDDEN_AT_STARTUP) + " imported at start-up",
                   "ok": not leaked, "leaked": leaked})
    analysis["startup_modules_added_when_set"] = sorted(plugin_set_mods - base_mods)
    analysis["startup_modules_added_when_unset"] = sorted(plugin_unset_mods - base_mods)

    # ---- (a) and (b): python -c pass
    for case, (a, b) in (
        ("a", ((base_py, "pass", unset), (plugin_py, "pass", unset))),
        ("b", ((base_py, "pass", unset), (plugin_py, "pass", setv))),
    ):
        if case not in args.cases:
            continue
        log(f"[startup] {CASE_TITLES[case]}: {n} wall runs + {n} importtime runs per side")
        ra, rb = interleave(runner, a, b, n, warmup)
        rows.append(row(case, "wall", [r["wall"] for r in ra], [r["wall"] for r in rb], GOALS[case], True))
        rows.append(row(case, "cpu (child user+sys)", [r["cpu"] for r in ra], [r["cpu"] for r in rb], GOALS[case], False))
        ia, ib = interleave(runner, a, b, n, 1, importtime=True)
        rows.append(row(case, "importtime total", [r["importtime_total"] for r in ia], [r["importtime_total"] for r in ib], GOALS[case], False))
        site_a = [r["importtime_modules"].get("site", (0, 0, 0))[1] / 1e6 for r in ia]
        site_b = [r["importtime_modules"].get("site", (0, 0, 0))[1] / 1e6 for r in ib]
        rows.append(row(case, "importtime site (cumulative)", site_a, site_b, GOALS[case], False))
        analysis[f"importtime_top_deltas_{case}"] = top_importtime_delta(ia, ib)

    # ---- (c): import openai
    if "c" in args.cases:
        base_c = (base_py, IMPORT_OPENAI_TIMED, unset)
        plugin_c = (plugin_py, IMPORT_OPENAI_TIMED, setv)
        check = runner.once(plugin_py, "import openai\n" + LIST_MODULES, setv)
        active_c, installed_c, plugin_openai_mods = module_set(check)
        _, _, base_openai_mods = module_set(runner.once(base_py, "import openai\n" + LIST_MODULES, unset))
        checks.append({"check": "(c) set: openai integration installed after import openai",
                       "ok": active_c and "openai" in installed_c, "installed": installed_c})
        analysis["import_openai_modules_added"] = sorted(plugin_openai_mods - base_openai_mods)
        log(f"[startup] {CASE_TITLES['c']}: {n} runs per side (wall + perf_counter in the child), then {it_runs} importtime runs per side")
        ra, rb = interleave(runner, base_c, plugin_c, n, warmup)
        rows.append(row("c", "wall", [r["wall"] for r in ra], [r["wall"] for r in rb], GOALS["c"], True))
        rows.append(row("c", "cpu (child user+sys)", [r["cpu"] for r in ra], [r["cpu"] for r in rb], GOALS["c"], False))
        rows.append(row("c", "in-child perf_counter(import openai)", [float(r["stdout"]) for r in ra], [float(r["stdout"]) for r in rb], GOALS["c"], False))
        if it_runs > 0:
            ia, ib = interleave(runner, (base_py, "import openai", unset), (plugin_py, "import openai", setv), it_runs, 1, importtime=True)
            rows.append(row("c", "importtime total", [r["importtime_total"] for r in ia], [r["importtime_total"] for r in ib], GOALS["c"], False))
            analysis["importtime_top_deltas_c"] = top_importtime_delta(ia, ib)
            wr = [r["importtime_modules"].get("wrapt", (0, 0, 0))[1] / 1e3 for r in ib]
            analysis["import_openai_plugin_wrapt_cumulative_ms_median"] = statistics.median(wr)

    shutil.rmtree(cwd, ignore_errors=True)

    # ---- report
    print()
    print(f"dashscope-private start-up benchmark: {n} interleaved runs per side, medians "
          f"(python {env_info['python_version']} at {env_info['python']}, {os.cpu_count()} cpus)")
    print(f"venvs: {env_info['base']} | {env_info['plugin']}")
    print("baseline/plugin/delta/ratio: medians; min ratio: fastest plugin run / fastest baseline run (robust to load spikes)")
    header = f"{'case':<26} {'metric':<37} {'baseline':>11} {'plugin':>11} {'delta':>9} {'ratio':>7} {'goal':>7}  {'verdict':<12} {'min ratio':>9}"
    print(header)
    print("-" * len(header))
    for r in rows:
        verdict = ("PASS" if r["pass"] else "FAIL") + ("" if r["primary"] else " (info)")
        print(f"{CASE_TITLES[r['case']]:<26} {r['metric']:<37} {r['baseline']['median'] * 1e3:>9.2f}ms {r['plugin']['median'] * 1e3:>9.2f}ms "
              f"{r['delta_ms']:>+7.2f}ms {r['ratio']:>6.3f}x {'<=' + format(r['goal'], '.2f'):>7}  {verdict:<12} {r['min_ratio']:>8.3f}x")
    print()
    for c in checks:
        print(f"check: {'ok  ' if c['ok'] else 'FAIL'} {c['check']}" + (f" -> {c.get('leaked') or c.get('installed')}" if c.get("leaked") or c.get("installed") else ""))
        failed_checks |= not c["ok"]
    print(f"modules the plugin adds to start-up when set: {', '.join(analysis['startup_modules_added_when_set']) or '(none)'}")
    if "import_openai_modules_added" in analysis:
        print(f"modules the plugin adds to `import openai`: {', '.join(analysis['import_openai_modules_added']) or '(none)'}")
    for note in notes:
        print(f"note: {note}")
    print(f"(setup {setup_seconds:.1f}s, total {time.perf_counter() - started:.1f}s)")

    result = {
        "benchmark": "startup",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "git_commit": _git_commit(),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "settings": {"runs": n, "warmup": warmup, "importtime_runs_c": it_runs, "endpoint_value": ENDPOINT_VALUE, "quick": args.quick},
        "environment": env_info,
        "units": "seconds",
        "rows": rows,
        "checks": checks,
        "analysis": analysis,
        "notes": notes,
        "seconds": time.perf_counter() - started,
    }
    write_json(args.json, result)
    if failed_checks:
        return 1
    if args.fail_on_goal and not all(r["pass"] for r in rows if r["primary"]):
        return 2
    return 0


def _git_commit() -> str | None:
    try:
        return run(["git", "-C", REPO, "rev-parse", "HEAD"]).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


if __name__ == "__main__":
    sys.exit(main())
