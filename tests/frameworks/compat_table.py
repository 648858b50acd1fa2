"""Turn the frameworks tests' JUnit XML into the compatibility table (stdlib only).

    python tests/frameworks/compat_table.py RESULTS.xml [MORE.xml ...] [--uninstallable FILE]
                                            [--doc docs/compatibility.md] [--readme README.md]

Each XML is one pytest run of ``tests/frameworks`` in one venv; the run records
the installed versions as test-suite properties (see ``test_frameworks.py``).
A framework's row comes from the runs where its tests did not skip. The
``--uninstallable`` file (``package<TAB>reason`` lines, written by the
``frameworks`` leg of ``.ci/run``) explains frameworks that could not be
installed. ``--doc`` is rewritten whole; in ``--readme`` only the text between
``<!-- compat:start -->`` and ``<!-- compat:end -->`` is replaced.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import xml.etree.ElementTree as ET
from typing import Dict, List, NamedTuple, Optional, Tuple


class Framework(NamedTuple):
    key: str  #: the tests of this framework are named ``test_<key>_...``
    distribution: str
    exercised: str
    sdks: Tuple[str, ...]  #: what its tests use, for tests whose requests cannot be observed in-process (Ray's)


FRAMEWORKS = (
    Framework("langchain_openai", "langchain-openai",
              "`ChatOpenAI(base_url=<compatible-mode>)`: invoke, async, streaming; `OPENAI_API_BASE`", ()),
    Framework("langchain_community", "langchain-community",
              "`ChatTongyi`: invoke, async, streaming; `DashScopeEmbeddings`", ()),
    Framework("llama_index", "llama-index-llms-dashscope",
              "`DashScope` LLM: complete, chat, stream, async", ()),
    Framework("litellm", "litellm",
              "`completion(model=\"dashscope/qwen-plus\")`, async streaming; `embedding(...)`", ()),
    Framework("anthropic", "anthropic",
              "`Anthropic(base_url=<…/apps/anthropic>)`, `ANTHROPIC_BASE_URL`, async streaming", ()),
    Framework("ray", "ray",
              "a task on a local cluster, the endpoint only in `runtime_env` `env_vars`; `requests` and `openai` in the worker",
              ("requests", "openai")),
)

#: Distributions whose versions each run records, besides the frameworks.
SDKS = ("openai", "dashscope", "httpx", "httpx2", "requests", "aiohttp", "websocket-client", "wrapt", "langchain-core", "llama-index-core")

START, END = "<!-- compat:start -->", "<!-- compat:end -->"


class Outcome(NamedTuple):
    name: str
    status: str  # passed | failed | skipped
    message: str
    versions: Dict[str, str]
    transports: Tuple[str, ...]  #: the HTTP libraries its requests went through, as observed
    sdks: Tuple[str, ...]  #: the SDKs on the call stack when they did


def read_junit(path: str) -> List[Outcome]:
    outcomes = []
    for suite in ET.parse(path).getroot().iter("testsuite"):
        versions = {p.get("name", ""): p.get("value", "") for p in suite.iter("property")}
        for case in suite.iter("testcase"):
            name = case.get("name", "")
            status, message = "passed", ""
            for tag in ("failure", "error"):
                node = case.find(tag)
                if node is not None:
                    status, message = "failed", node.get("message", "")
                    break
            else:
                node = case.find("skipped")
                if node is not None:
                    status, message = "skipped", node.get("message", "")
            transports = tuple(t for t in versions.get(f"transports:{name}", "").split(",") if t)
            sdks = tuple(t for t in versions.get(f"sdks:{name}", "").split(",") if t)
            outcomes.append(Outcome(name, status, message, versions, transports, sdks))
    return outcomes


def read_uninstallable(path: Optional[str]) -> Dict[str, str]:
    reasons: Dict[str, str] = {}
    if path and os.path.exists(path):
        for line in open(path, encoding="utf-8"):
            if "\t" in line:
                package, reason = line.rstrip("\n").split("\t", 1)
                reasons[package.strip()] = reason.strip()
    return reasons


def _framework_of(test_name: str) -> Optional[Framework]:
    base = test_name.split("[", 1)[0]
    for framework in FRAMEWORKS:
        if base.startswith(f"test_{framework.key}_"):
            return framework
    return None


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _named(dists, versions: Dict[str, str]) -> str:
    return ", ".join(f"{d} {versions[d]}" if versions.get(d) else d for d in dists)


def _routes(framework: Framework, tests: List[Outcome]) -> str:
    """``openai 3.1 → httpx2 2.1``: the SDK that sent the requests, then the HTTP libraries that carried them."""
    by_sender: Dict[str, set] = {}
    fallback = ""
    for test in tests:
        if not test.transports:  # not observable in-process (Ray's workers): what the test's code calls
            fallback = _named(framework.sdks, test.versions) + " (in a subprocess, not observed)"
            continue
        sender = _named(test.sdks, test.versions) or f"{framework.distribution}'s own client"
        by_sender.setdefault(sender, set()).update(_named([t], test.versions) for t in test.transports)
    routes = [f"{sender} → {', '.join(sorted(carriers))}" for sender, carriers in by_sender.items()]
    return "; ".join(routes + ([fallback] if fallback else [])) or "—"


class Row(NamedTuple):
    framework: Framework
    version: str
    works: str
    route: str
    tests: List[Outcome]


def rows(outcomes: List[Outcome], uninstallable: Dict[str, str]) -> List[Row]:
    result = []
    for framework in FRAMEWORKS:
        mine = [o for o in outcomes if _framework_of(o.name) is framework]
        ran = [o for o in mine if o.status != "skipped"]
        # One line per test: a run where it ran beats a run where it skipped.
        by_name: Dict[str, Outcome] = {}
        for o in mine:
            if o.name not in by_name or (by_name[o.name].status == "skipped" and o.status != "skipped"):
                by_name[o.name] = o
            elif o.status == "failed":
                by_name[o.name] = o
        tests = list(by_name.values())
        versions = ran[0].versions if ran else {}
        version = versions.get(framework.distribution, "")
        if not tests:
            works = "not run (no test results)"
        elif not ran:
            reason = uninstallable.get(framework.distribution) or tests[0].message
            works = "skipped: " + _one_line(reason)
            version = "not installed" if framework.distribution in uninstallable or "could not import" in reason else ""
        else:
            failed = [t for t in tests if t.status == "failed"]
            passed = [t for t in tests if t.status == "passed"]
            if failed:
                works = f"**no**: {len(failed)} of {len(tests)} failed ({', '.join(t.name for t in failed)})"
            else:
                works = f"yes ({len(passed)}/{len(tests)} tests)"
                skipped = [t for t in tests if t.status == "skipped"]
                if skipped:
                    works += "; skipped: " + "; ".join(_one_line(t.message, 80) for t in skipped)
        result.append(Row(framework, version or "—", works, _routes(framework, ran), sorted(tests, key=lambda t: t.name)))
    return result


def table(result: List[Row]) -> str:
    lines = ["| framework | version tested | works | through (SDK → HTTP library, as observed) | what runs (unchanged user code, public URL) |", "|---|---|---|---|---|"]
    for row in result:
        lines.append(f"| {row.framework.distribution} | {row.version} | {row.works} | {row.route} | {row.framework.exercised} |")
    return "\n".join(lines)


def environment(outcomes: List[Outcome]) -> str:
    pythons = sorted({o.versions.get("python", "") for o in outcomes} - {""})
    return "Python " + ", ".join(pythons) if pythons else "Python (unknown)"


def document(result: List[Row], outcomes: List[Outcome]) -> str:
    out = [
        "# Framework compatibility",
        "",
        "<!-- Generated by tests/frameworks/compat_table.py from the `frameworks` leg of .ci/run; do not edit by hand. -->",
        "",
        "Each framework is installed at its newest version and runs unchanged user code that names the public",
        "DashScope URL or model, with dashscope-private active and a loopback stand-in as the endpoint",
        "([tests/frameworks/test_frameworks.py](../tests/frameworks/test_frameworks.py)). *Works* means every call",
        "returned the stand-in's reply, every request arrived at the endpoint, and nothing reached the tests'",
        f"proxy trap. {environment(outcomes)}.",
        "",
        table(result),
        "",
        "## Tests",
        "",
        "| test | result | through |",
        "|---|---|---|",
    ]
    for row in result:
        for t in row.tests:
            status = t.status if t.status != "skipped" else f"skipped: {_one_line(t.message, 100)}"
            via = _routes(row.framework, [t]) if t.status != "skipped" else ""
            out.append(f"| `{t.name}` | {status} | {via} |")
    return "\n".join(out) + "\n"


def rewrite_readme(path: str, result: List[Row], outcomes: List[Outcome]) -> None:
    text = open(path, encoding="utf-8").read()
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{path}: no {START} ... {END} markers")
    block = f"{START}\n{table(result)}\n\n{environment(outcomes)}; generated from the test results by `tests/frameworks/compat_table.py`.\n{END}"
    new = pattern.sub(lambda _: block, text, count=1)
    if new != text:
        with open(path, "w", encoding="utf-8") as f:
            f.write(new)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("junit", nargs="+")
    parser.add_argument("--uninstallable")
    parser.add_argument("--doc")
    parser.add_argument("--readme")
    args = parser.parse_args(argv)
    outcomes = []
    for path in args.junit:
        if os.path.exists(path):
            outcomes += read_junit(path)
        else:  # that run did not get as far as pytest: its frameworks show as not run
            print(f"compat_table: {path} is missing", file=sys.stderr)
    result = rows(outcomes, read_uninstallable(args.uninstallable))
    if args.doc:
        os.makedirs(os.path.dirname(os.path.abspath(args.doc)), exist_ok=True)
        with open(args.doc, "w", encoding="utf-8") as f:
            f.write(document(result, outcomes))
    if args.readme:
        rewrite_readme(args.readme, result, outcomes)
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
