"""The peer-suite runner's own logic: where a suite's tests come from, and how outcomes are read.

`tests/peers/run` proves the plugin harmless on other libraries' suites; a fault in how it
builds a suite (a fork's tests still importing the original, a tag's tests not laid over the
release) would make that proof vacuous, so these parts are tested on real files and a real git
repository. The full runs themselves need root, the package index and half an hour: see README.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import sys
import types

import pytest

RUNNER = os.path.join(os.path.dirname(__file__), "peers", "run")


def _load_runner() -> types.ModuleType:
    loader = importlib.machinery.SourceFileLoader("peers_run", RUNNER)
    spec = importlib.util.spec_from_loader("peers_run", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


run = _load_runner()


def test_rename_imports_points_a_suite_at_the_fork(tmp_path):
    tests = tmp_path / "tests"
    (tests / "client").mkdir(parents=True)
    (tests / "client" / "test_a.py").write_text(
        "import httpx\n"
        "import httpcore\n"
        "\n\n"
        "from httpx._utils import URLPattern\n"
        "from httpx import Client\n"
        "import httpx_extra\n"
        "def test():\n"
        "    import httpx\n"
        "    mocker.patch('httpx._config.load_ssl')\n"
        '    assert "python-httpx/" in ua and httpx.URL\n'
    )
    (tests / "test_untouched.py").write_text("import json\n")

    assert run.rename_imports(str(tests), "httpx", "httpx2") == 1
    assert run.rename_imports(str(tests), "httpcore", "httpcore2") == 1

    assert (tests / "client" / "test_a.py").read_text() == (
        "import httpx2 as httpx\n"
        "import httpcore2 as httpcore\n"
        "\n\n"
        "from httpx2._utils import URLPattern\n"
        "from httpx2 import Client\n"
        "import httpx_extra\n"
        "def test():\n"
        "    import httpx2 as httpx\n"
        "    mocker.patch('httpx2._config.load_ssl')\n"
        '    assert "python-httpx/" in ua and httpx.URL\n'
    )
    assert (tests / "test_untouched.py").read_text() == "import json\n"


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@pytest.mark.parametrize("bare", [False, True], ids=["work-tree", "bare-clone"])
def test_overlay_takes_the_tagged_tests_not_the_newest(tmp_path, bare):
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str, cwd=repo) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True, capture_output=True)

    git("init", "-q")
    (repo / "tests").mkdir()
    (repo / "tests" / "test_x.py").write_text("RELEASED = True\n")
    (repo / "src.py").write_text("library code\n")
    git("add", ".")
    git("commit", "-q", "-m", "release")
    git("tag", "1.0")
    (repo / "tests" / "test_x.py").write_text("RELEASED = False\n")
    git("commit", "-q", "-am", "after the release")
    source = repo
    if bare:
        source = tmp_path / "mirror.git"
        git("clone", "-q", "--bare", str(repo), str(source), cwd=tmp_path)

    src = tmp_path / "sdist"
    (src / "tests").mkdir(parents=True)
    (src / "PKG-INFO").write_text("from the sdist\n")
    run.overlay_from_git(str(source), "1.0", ["tests"], str(src))

    assert (src / "tests" / "test_x.py").read_text() == "RELEASED = True\n"
    assert (src / "PKG-INFO").read_text() == "from the sdist\n"
    assert not (src / "src.py").exists()


def test_a_repository_suite_without_its_clone_is_reported_not_run():
    src, why = run.prepare_source("dashscope", run.S.SUITES["dashscope"], git_dirs={})
    assert src is None
    assert "--git dashscope=DIR" in why


def test_outcomes_name_tests_by_pytest_node_id(tmp_path):
    (tmp_path / "tests" / "client").mkdir(parents=True)
    (tmp_path / "tests" / "client" / "test_proxies.py").write_text("")
    xml = tmp_path / "r.xml"
    xml.write_text(
        '<testsuites><testsuite>'
        '<testcase classname="tests.client.test_proxies" name="test_env[a-b]"/>'
        '<testcase classname="tests.client.test_proxies.TestX" name="test_y"><failure/></testcase>'
        '<testcase classname="tests.client.test_proxies.TestX" name="test_y"/>'
        '<testcase classname="tests.client.test_proxies" name="test_skip"><skipped/></testcase>'
        '<testcase classname="tests.client.test_proxies" name="test_err"><error/></testcase>'
        "</testsuite></testsuites>"
    )
    assert run.outcomes(str(xml), str(tmp_path)) == {
        "tests/client/test_proxies.py::test_env[a-b]": "passed",
        "tests/client/test_proxies.py::TestX::test_y": "failed",  # the teardown's report does not hide the failure
        "tests/client/test_proxies.py::test_skip": "skipped",
        "tests/client/test_proxies.py::test_err": "error",
    }


def test_probe_tells_a_side_without_the_plugin_from_one_with_it(tmp_path):
    """The check that keeps a run from comparing a side with itself, in this very interpreter.

    Here the plugin is installed (the test venv), so the `without` probe must fail; the `with`
    probe passes once the integration for an importable library is in place.
    """
    pytest.importorskip("requests")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_PRIVATE_")}
    without = subprocess.run([sys.executable, "-c", run.PROBE, "requests", "without"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert without.returncode != 0 and "still installed" in without.stderr

    env.update(run.MODES["with"])
    with_ = subprocess.run([sys.executable, "-c", run.PROBE, "requests", "with"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert with_.returncode == 0, with_.stderr

    env["DASHSCOPE_PRIVATE_DISABLED_INTEGRATIONS"] = "requests"
    disabled = subprocess.run([sys.executable, "-c", run.PROBE, "requests", "with"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert disabled.returncode != 0 and "not installed" in disabled.stderr
