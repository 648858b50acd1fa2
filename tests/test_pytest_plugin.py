"""The pytest plugin as a user meets it: the wheel and pytest in a fresh venv, the user's own
suite in a temporary folder, ``pytest --dashscope-private=strict`` (also with ``-n 2``).

The runs happen in a loopback-only network namespace: the suite's public request is
refused by host name before any lookup, and nothing could leave if it were not.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import textwrap

import pytest

from venvs import installed, run, venv

CAN_ISOLATE = hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("unshare") and shutil.which("ip")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CAN_ISOLATE, reason="needs root, unshare and ip for a loopback-only network namespace")]

SUITE = textwrap.dedent('''
    import sys
    import pytest
    import requests
    import httpx
    import dashscope_private


    def test_public():
        requests.get("https://dashscope.aliyuncs.com/api/v1/services", timeout=2)


    def test_public_error_swallowed():
        try:
            httpx.get("https://dashscope-intl.aliyuncs.com/api/v1/x", timeout=2)
        except Exception:
            pass


    def test_fixture(dashscope_private_endpoint):
        reply = requests.post("https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions",
                              json={"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]},
                              headers={"Authorization": "Bearer sk-test"})
        assert reply.status_code == 200
        assert dashscope_private_endpoint.url.startswith("http://127.0.0.1:")
        (seen,) = dashscope_private_endpoint.requests
        assert (seen.method, seen.path) == ("POST", "/compatible-mode/v1/chat/completions")
        assert seen.headers["Authorization"] == "Bearer sk-test"


    @pytest.mark.dashscope_private_allow_public
    def test_allowed():
        url = "https://dashscope.aliyuncs.com/api/v1/services"
        assert dashscope_private.rewrite_url(url) == url  # not refused, not redirected: let through


    def test_strict_again_after_the_fixture_and_the_marker():
        from dashscope_private import _runtime
        assert _runtime.current().config.strict and not _runtime.current().config.endpoint.host


    def test_inert():
        assert "dashscope_private._runtime" not in sys.modules
''')

OUTCOMES = {
    "test_public": "FAILED",
    "test_public_error_swallowed": "FAILED",
    "test_fixture": "PASSED",
    "test_allowed": "PASSED",
    "test_strict_again_after_the_fixture_and_the_marker": "PASSED",
}


@pytest.fixture(scope="module")
def pytest_venv(wheel, tmp_path_factory) -> str:
    pins = [f"{dist}=={installed(dist)}" for dist in ("pytest", "pytest-xdist", "requests", "httpx") if installed(dist)]
    if not installed("pytest-xdist"):
        pytest.skip("pytest-xdist is needed for the -n 2 run")
    return venv(str(tmp_path_factory.mktemp("venv") / "pytest"), [wheel, *pins])


def _pytest(python: str, folder, *args: str, env: dict | None = None):
    command = f"ip link set lo up && exec {python} -m pytest -p no:cacheprovider -rA -q " + " ".join(map(shlex.quote, args))
    return run("unshare", "--net", "sh", "-c", command, env=env, cwd=str(folder))


def _outcomes(output: str) -> dict:
    return {name: outcome for outcome, name in re.findall(r"^(PASSED|FAILED|ERROR) test_user\.py::(\w+)", output, re.M)}


@pytest.fixture
def suite(tmp_path):
    (tmp_path / "test_user.py").write_text(SUITE)
    return tmp_path


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_strict_fails_public_tests_and_passes_the_fixture(pytest_venv, suite, workers):
    result = _pytest(pytest_venv, suite, "--dashscope-private=strict", "-k", "not inert", *workers)
    outcomes = _outcomes(result.stdout)
    assert outcomes == OUTCOMES, result.stdout + result.stderr
    assert result.returncode == 1
    assert "PublicEgressBlocked" in result.stdout
    assert "caught the error" in result.stdout  # the swallowed one failed all the same
    if workers:
        assert "bringing up nodes" in result.stdout, result.stdout  # pytest-xdist ran it


def test_strict_with_an_endpoint_in_the_environment_redirects_it(pytest_venv, suite):
    """Strict mode over the user's configuration: configured hosts still go private, others are refused."""
    env = {"DASHSCOPE_PRIVATE_ENDPOINT": "http://127.0.0.1:9"}  # nothing listens there in the namespace
    result = _pytest(pytest_venv, suite, "--dashscope-private=strict", "-k", "test_public", env=env)
    outcomes = _outcomes(result.stdout)
    assert outcomes == {"test_public": "FAILED", "test_public_error_swallowed": "FAILED"}, result.stdout
    assert re.search(r"test_public - requests.exceptions.ConnectionError", result.stdout), result.stdout  # went to 127.0.0.1:9
    assert re.search(r"test_public_error_swallowed - dashscope_private.errors.P", result.stdout), result.stdout


def test_without_the_option_the_plugin_is_inert(pytest_venv, suite):
    """Loaded in every pytest run: nothing of ours imported, no warning; the fixture and marker still work."""
    strict_warnings = ("-W", "error::pytest.PytestAssertRewriteWarning", "-W", "error::pytest.PytestUnknownMarkWarning")
    alone = _pytest(pytest_venv, suite, "-k", "inert", *strict_warnings)
    assert _outcomes(alone.stdout) == {"test_inert": "PASSED"}, alone.stdout + alone.stderr
    assert "Module already imported" not in alone.stdout + alone.stderr
    used = _pytest(pytest_venv, suite, "test_user.py::test_fixture", "test_user.py::test_allowed", *strict_warnings)
    assert _outcomes(used.stdout) == {"test_fixture": "PASSED", "test_allowed": "PASSED"}, used.stdout + used.stderr


def test_off_turns_it_off_even_with_the_variables_set(pytest_venv, suite):
    (suite / "test_off.py").write_text(textwrap.dedent('''
        import os, dashscope_private
        def test_off():
            assert not dashscope_private.is_active()
            assert dashscope_private.rewrite_url("https://dashscope.aliyuncs.com/x") == "https://dashscope.aliyuncs.com/x"
            assert os.environ["DASHSCOPE_PRIVATE_DISABLE"] == "1"
    '''))
    env = {"DASHSCOPE_PRIVATE_ENDPOINT": "http://127.0.0.1:9", "DASHSCOPE_PRIVATE_STRICT": "1"}
    result = _pytest(pytest_venv, suite, "--dashscope-private=off", "test_off.py", "test_user.py::test_fixture", env=env)
    assert "2 passed" in result.stdout, result.stdout + result.stderr
