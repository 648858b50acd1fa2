"""The peer suites: which library, at which pinned version, installed how, run how.

Most suites come entirely from PyPI: the library's own sdist (its tests) and the test
dependencies that sdist declares (a pinned requirements file, a uv.lock, a dependency group or a
test extra, whichever it ships). Where the sdist ships no tests, `tests_from` says where they come
from instead: another sdist (httpx's suite for its fork httpx2), or the library's repository at the
release tag (websockets, dashscope: these need `--git SUITE=DIR`, as CI reaches only the package
index). Where something had to be chosen by hand, `why` says so.

Fields of a suite (keyed by integration name):
  dist, version   the sdist fetched (`pip download --no-deps --no-binary :all: dist==version`):
                  filled in from the integration's row in the registry (`peer`, dashscope_private/config.py)
  tests           path inside the sdist whose presence means "the sdist ships a suite"
  tests_from      optional: dist/version of another sdist to take the tests from, with `rename`
                  (import-name pairs, old -> new) for a fork; or git_tag/paths/repository for
                  files taken from a clone of the repository (`sdist=False`: no sdist to lay
                  them over, the release is a wheel)
  install         what goes into each venv, as lists of `uv pip install` arguments; the
                  placeholders {src} (the unpacked sdist) and {reqs} (a requirements file that
                  prepare() wrote) are filled in
  prepare         optional name of a function below that writes {reqs} from the sdist's own files
  args            pytest arguments (paths and options), run from {src}
  env             extra environment for the test runs (same in all three modes)
  before          shell run inside the namespace before pytest (e.g. a loopback echo server)
  why             notes: pins, deviations from upstream CI, what is left out
"""

from __future__ import annotations

import os
import re
import subprocess

# httpx 0.28.1's sdist ships no requirements file; these are the test tools pinned in the
# repository's requirements.txt at the 0.28.1 tag (the library's own dependencies stay unpinned,
# as upstream wants: its tests are meant to pass with the newest of them).
HTTPX_TEST_PINS = ["chardet==5.2.0", "cryptography==44.0.0", "pytest==8.3.4", "trio==0.27.0", "trustme==1.2.0", "uvicorn==0.32.1"]

SUITES = {
    "requests": dict(
        tests="tests",
        install=[["{src}[socks]", "--group", "{src}/pyproject.toml:test"]],
        args=["tests"],
        why="test deps: the sdist's `test` dependency group (pytest-httpbin, httpbin, trustme, ...)",
    ),
    "httpx": dict(
        tests="tests",
        install=[["{src}[brotli,cli,http2,socks,zstd]", *HTTPX_TEST_PINS]],
        args=["tests"],
        why="the sdist ships no requirements file: test tools pinned as in upstream requirements.txt at 0.28.1",
    ),
    "httpx2": dict(
        tests="tests",
        # httpx2 is a fork of httpx with the same API under another import name, and ships no tests:
        # httpx's own suite, pointed at httpx2, drives httpx2's clients, transports and proxy code.
        tests_from=dict(dist="httpx", version="0.28.1", rename=[("httpx", "httpx2"), ("httpcore", "httpcore2")]),
        # certifi and zstandard: httpx's tests use them; httpx2 itself moved to truststore and backports-zstd.
        install=[["httpx2[brotli,cli,http2,socks,zstd]==2.16.2", "certifi", "zstandard", *HTTPX_TEST_PINS]],
        args=["tests"],
        why="httpx2's sdist ships only the package: httpx 0.28.1's suite with `import httpx2 as httpx` and `import httpcore2 as "
        "httpcore` (tests where the fork changed behaviour fail on both sides); test tools pinned as for httpx, plus certifi and zstandard",
    ),
    "urllib3": dict(
        tests="test",
        prepare="urllib3_reqs",
        install=[["-r", "{reqs}"], ["--no-deps", "{src}"]],
        # pytest-timeout (in its test group): a hung test becomes a failure instead of stalling the run.
        # test_http2_probe_blocked_per_thread expects a connect to a tarpit address to time out; in the
        # loopback-only namespace it is refused at once, and the test then deadlocks at random, without
        # the plugin as often as with it (a non-daemon worker left waiting on the HTTP/2 probe lock, so
        # the interpreter never exits): left out.
        args=["--timeout=120", "-k", "not test_http2_probe_blocked_per_thread", "test"],
        why="test deps: the sdist's uv.lock, group `dev` (= `test` + trustme, cryptography, pyopenssl, ...; exported pinned) less the pytest-memray profiler; its hypercorn comes from "
        "urllib3's git fork, which a PyPI-only machine cannot fetch: PyPI hypercorn==0.15.0 (the fork's base) instead; test_http2_probe_blocked_per_thread left out (deadlocks at random in the namespace, either side)",
    ),
    "aiohttp": dict(
        tests="tests",
        install=[["-r", "{src}/requirements/test.txt"], ["--no-deps", "-e", "{src}"]],
        # pytest.ini adds coverage (--cov) and xdist (--numprocesses=auto); coverage only slows us down.
        args=["--no-cov", "tests"],
        why="test deps: the sdist's pinned requirements/test.txt; built from the sdist in place (editable, C "
        "extensions compiled) as upstream CI does; coverage switched off (--no-cov)",
    ),
    "websocket-client": dict(
        tests="websocket/tests",
        install=[["{src}[test]", "python-socks"]],
        args=["websocket/tests"],
        env={"LOCAL_WS_SERVER_PORT": "8765"},
        # As upstream CI does: the websockets echo server the suite expects, on loopback.
        before="python websocket/tests/echo-server.py & for i in $(seq 50); do python -c 'import socket; socket.create_connection((\"127.0.0.1\", 8765)).close()' 2>/dev/null && break; sleep 0.1; done",
        why="test deps: the `test` extra, plus python-socks (the `optional` extra's proxy tests; wsaccel left out: "
        "a C build for a speed-up); the echo server started on loopback as upstream CI does",
    ),
    "websockets": dict(
        tests="tests",
        # No websockets sdist since 17.0 ships tests, and 13.x-16.x ship a partial tree that
        # cannot be imported (no tests/__init__.py, utils.py or the client/server packages): the
        # suite comes from the repository's release tag, laid over the sdist of that release.
        tests_from=dict(git_tag="17.0.1", paths=["tests"], repository="python-websockets/websockets"),
        install=[["{src}", "pytest", "mitmproxy", "python-socks[asyncio]", "trio", "werkzeug"]],
        args=["tests"],
        env={"WEBSOCKETS_TESTS_TIMEOUT_FACTOR": "4"},
        why="tests from the repository at tag 17.0.1 (needs --git websockets=DIR); test deps as in its tox.ini "
        "(mitmproxy, python-socks[asyncio], trio, werkzeug); run with pytest instead of unittest, for the junit report; "
        "its timeouts x4 (WEBSOCKETS_TESTS_TIMEOUT_FACTOR, its own knob for slow machines; this one has 2 cores)",
    ),
    "openai": dict(
        tests="tests",
        prepare="openai_reqs",
        install=[["-r", "{reqs}"], ["--no-deps", "{src}"]],
        args=["tests", "--ignore=tests/api_resources"],
        why="test deps: the sdist's uv.lock, its default groups (`dev`, `pydantic-v2`) and every extra, exported "
        "pinned; tests/api_resources left out (generated per-endpoint tests that need the Prism mock server)",
    ),
    "dashscope": dict(
        tests="tests/unit",
        # 1.26.2 is published as a wheel only; the repository's unit tests drive the SDK against a mock server
        # of their own on loopback.
        tests_from=dict(sdist=False, git_tag="v1.26.2", paths=["tests", "pytest.ini"], repository="dashscope/dashscope-sdk-python"),
        install=[["dashscope==1.26.2", "pytest>=7", "pytest-aiohttp", "pytest-asyncio", "pydantic>=2.0,<3.0", "tenacity", "typing_extensions", "pyyaml", "tiktoken"]],
        args=["tests/unit"],
        why="no sdist: the wheel from the index, the tests from the repository at tag v1.26.2, the newest tag there (needs --git dashscope=DIR); tests/unit as its CI "
        "runs (tests/legacy and tests/integration call the live service); test deps from its requirements-test.txt less the linters, plus pyyaml and tiktoken (tests/unit imports them; its test requirements do not list them)",
    ),
}

def _peers_from_registry() -> None:
    """Each suite's dist and version: its integration's ``peer`` in the registry (``config`` is
    builtins only: this runner imports it from the checkout, outside any venv of the package)."""
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    try:
        from dashscope_private.registry import INTEGRATIONS_BY_NAME
    finally:
        del sys.path[0]
    for name, suite in SUITES.items():
        peer = INTEGRATIONS_BY_NAME[name].peer
        if not peer:
            raise SystemExit(f"tests/peers/suites.py: suite {name!r} has no peer in the registry")
        suite["dist"], suite["version"] = peer.split("==")


_peers_from_registry()

# Fastest suites with tests, for CI (`--quick`); see README.md for the measured timings.
QUICK = ["requests", "websocket-client", "httpx", "httpx2"]


def _uv_export(uv: str, src: str, *args: str) -> list:
    out = subprocess.run(
        [uv, "export", "--frozen", "--no-hashes", "--no-emit-project", "--no-header", "--no-annotate", *args],
        cwd=src, check=True, capture_output=True, text=True,
    ).stdout
    return [line for line in out.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def urllib3_reqs(uv: str, src: str, reqs: str) -> None:
    lines = _uv_export(uv, src, "--only-group", "dev")
    kept = []
    for line in lines:
        if re.match(r"^hypercorn\s*@\s*git\+", line):
            line = "hypercorn==0.15.0"  # the git fork is not on PyPI; its base release is
        if line.startswith("pytest-memray"):
            continue  # a profiler (upstream keeps it out of `test` too); it breaks without pytest's cache plugin
        kept.append(line)
    _write(reqs, kept)


def openai_reqs(uv: str, src: str, reqs: str) -> None:
    # The lock pins inline-snapshot 0.36.2, which the package index here does not serve; the
    # nearest release (a test-only snapshot helper) stands in for it.
    lines = _uv_export(uv, src, "--all-extras")
    _write(reqs, [re.sub(r"^inline-snapshot==0\.36\.2\b", "inline-snapshot>=0.36,<0.37", line) for line in lines])


def _write(path: str, lines: list) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
