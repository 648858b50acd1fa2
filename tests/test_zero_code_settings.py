"""Settings where users keep them, as a user meets it: the wheel in a fresh venv, unchanged programs.

A `.env` read by python-dotenv, `%load_ext` / `%env` in an IPython shell (IPython
driven in a subprocess), and the guide's own base URLs pasted into
DASHSCOPE_PRIVATE_ENDPOINT. This module's venv adds python-dotenv and IPython
to the SDKs, next to the session's wheel.
"""

from __future__ import annotations

import os
import textwrap

import pytest

from dashscope_private.standin import REPLY_TEXT
from venvs import EXAMPLES, installed, needs, run, sdk_pins, site_packages, venv

pytestmark = pytest.mark.slow

OPENAI_PATH = "/compatible-mode/v1/chat/completions"
DASHSCOPE_PATH = "/api/v1/services/aigc/text-generation/generation"


@pytest.fixture(scope="module")
def settings_venv(wheel, tmp_path_factory) -> str:
    """A fresh venv: the session's wheel, the SDKs at this run's versions, python-dotenv and IPython."""
    extras = [f"{dist}=={installed(dist)}" if installed(dist) else dist for dist in ("python-dotenv", "ipython")]
    return venv(str(tmp_path_factory.mktemp("venv") / "settings"), [wheel, *sdk_pins(), *extras])


def _guide_with_load_dotenv(example: str, before_sdk: bool) -> str:
    """The guide's example with `load_dotenv()` added the way apps do: first thing, or after the imports."""
    source = open(os.path.join(EXAMPLES, example), encoding="utf-8").read()
    if before_sdk:
        return "from dotenv import load_dotenv\nload_dotenv()\n" + source
    lines = source.splitlines()
    last_import = max(i for i, line in enumerate(lines) if line.startswith(("import ", "from ")))
    return "\n".join(lines[: last_import + 1] + ["from dotenv import load_dotenv", "load_dotenv()"] + lines[last_import + 1 :]) + "\n"


# ------------------------------------------------------------------ .env


@pytest.mark.parametrize(
    "example, sdk, base_path, path, before_sdk",
    [
        ("guide_openai.py", "openai", "/compatible-mode/v1", OPENAI_PATH, True),
        ("guide_openai.py", "openai", "", OPENAI_PATH, False),
        ("guide_dashscope.py", "dashscope", "/api/v1", DASHSCOPE_PATH, False),
    ],
)
def test_dotenv_configured_program_goes_private(settings_venv, standin, tmp_path, example, sdk, base_path, path, before_sdk):
    """DASHSCOPE_API_KEY and DASHSCOPE_PRIVATE_ENDPOINT in the app's .env; nothing in the process environment."""
    if not installed(sdk):
        pytest.skip(f"{sdk} not installed in this run")
    (tmp_path / ".env").write_text(
        f"DASHSCOPE_API_KEY=sk-from-dotenv\nDASHSCOPE_PRIVATE_ENDPOINT={standin.url}{base_path}\n"
    )
    (tmp_path / "app.py").write_text(_guide_with_load_dotenv(example, before_sdk), encoding="utf-8")
    result = run(settings_venv, "app.py", cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert REPLY_TEXT in result.stdout
    assert [(r.path, r.host) for r in standin.records] == [(path, standin.netloc)]


def test_dotenv_values_into_environ_with_strict_later_in_the_file(settings_venv, standin, tmp_path, trap):
    """A later line of the same .env (strict mode) re-configures: the unredirected host is blocked, not sent."""
    needs("requests")
    (tmp_path / ".env").write_text(f"DASHSCOPE_PRIVATE_ENDPOINT={standin.url}\nDASHSCOPE_PRIVATE_STRICT=1\n")
    (tmp_path / "app.py").write_text(textwrap.dedent("""
        import os, requests
        from dotenv import dotenv_values
        os.environ.update(dotenv_values())
        print(requests.post("https://dashscope.aliyuncs.com/api/v1/x", json={}, timeout=10).status_code)
        try:
            requests.get("https://dashscope-intl.aliyuncs.com/api/v1/x", timeout=10)
        except Exception as exc:
            print(type(exc).__name__)
    """))
    result = run(settings_venv, "app.py", cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["200", "PublicEgressBlocked"]
    assert [r.host for r in standin.records] == [standin.netloc]
    assert trap.take() == []


def test_dotenv_with_the_pep_829_start_entry_point(settings_venv, standin, tmp_path):
    """Python 3.15 runs the .start entry point instead of the .pth line: the same watcher."""
    needs("requests")
    (tmp_path / ".env").write_text(f"DASHSCOPE_PRIVATE_ENDPOINT={standin.url}\n")
    start_file = os.path.join(site_packages(settings_venv), "dashscope_private.start")
    code = (
        "import pkgutil, sys; pkgutil.resolve_name(open(sys.argv[1]).read().strip())()\n"
        "import requests; from dotenv import load_dotenv; load_dotenv()\n"
        "print(requests.post('https://dashscope.aliyuncs.com/api/v1/x', json={}, timeout=10).status_code)\n"
    )
    result = run(settings_venv, "-S", "-c", code, start_file, env={"PYTHONPATH": site_packages(settings_venv)}, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "200"
    assert [r.host for r in standin.records] == [standin.netloc]


# ------------------------------------------------------------------ the guide's base URLs


@pytest.mark.parametrize(
    "example, sdk, base_path, path",
    [("guide_openai.py", "openai", "/compatible-mode/v1", OPENAI_PATH), ("guide_dashscope.py", "dashscope", "/api/v1", DASHSCOPE_PATH)],
)
def test_guide_base_urls_work_as_endpoint_values(settings_venv, standin, example, sdk, base_path, path):
    """`base_url="http://ep-…/compatible-mode/v1"` and `base_http_api_url = "http://ep-…/api/v1"`, pasted as they are."""
    if not installed(sdk):
        pytest.skip(f"{sdk} not installed in this run")
    result = run(settings_venv, os.path.join(EXAMPLES, example), env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url + base_path})
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert REPLY_TEXT in result.stdout
    assert [(r.path, r.host) for r in standin.records] == [(path, standin.netloc)]  # the base path is not doubled


def test_a_path_that_is_not_a_base_path_is_refused(settings_venv, standin, trap):
    result = run(settings_venv, os.path.join(EXAMPLES, "guide_http.py"), env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url + "/v1"})
    assert result.returncode != 0
    assert result.stderr.count("dashscope-private: DASHSCOPE_PRIVATE_ENDPOINT: the path '/v1' is not allowed") == 1
    assert standin.records == [] and trap.take() == []


# ------------------------------------------------------------------ IPython


def _ipython(python: str, script: str, tmp_path, env: dict | None = None, dash_s: bool = False):
    path = tmp_path / "session.ipy"
    path.write_text(textwrap.dedent(script))
    flags = ["-S"] if dash_s else []
    return run(python, *flags, "-m", "IPython", "--no-banner", "--colors=NoColor", "--HistoryManager.enabled=False", str(path), env=env, cwd=str(tmp_path))


def test_load_ext_activates_a_running_shell(settings_venv, standin, tmp_path):
    needs("requests")
    script = f"""
        %load_ext dashscope_private
        import requests
        %dashscope_private {standin.url}/api/v1
        print("status", requests.post("https://dashscope.aliyuncs.com/api/v1/x", json={{}}, timeout=10).status_code)
        %dashscope_private off
        print("after off", requests.Request("GET", "https://dashscope.aliyuncs.com/x").prepare().url)
        %dashscope_private ftp://nope
        %env DASHSCOPE_PRIVATE_ENDPOINT={standin.url}
        %dashscope_private status
    """
    result = _ipython(settings_venv, script, tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "dashscope-private: inactive; set %env DASHSCOPE_PRIVATE_ENDPOINT=<endpoint>" in out  # %load_ext, nothing set
    assert f"dashscope-private: active; requests for dashscope.aliyuncs.com go to {standin.url}" in out
    assert "status 200" in out and "after off https://dashscope.aliyuncs.com/x" in out
    assert "DASHSCOPE_PRIVATE_ENDPOINT: the scheme 'ftp' is not supported" in result.stderr and "Traceback" not in result.stderr
    assert out.rstrip().splitlines()[-1] == f"dashscope-private: active; requests for dashscope.aliyuncs.com go to {standin.url}"  # %env did it
    assert [r.host for r in standin.records] == [standin.netloc]


def test_load_ext_where_no_pth_ran_activates_from_the_environment(settings_venv, standin, tmp_path):
    """A kernel whose packages are only on PYTHONPATH (no .pth processed): %load_ext reads the kernel's environment."""
    needs("requests")
    script = """
        import sys, requests
        print("before", "dashscope_private" in sys.modules)
        %load_ext dashscope_private
        print("status", requests.post("https://dashscope.aliyuncs.com/api/v1/x", json={}, timeout=10).status_code)
    """
    env = {"PYTHONPATH": site_packages(settings_venv), "DASHSCOPE_PRIVATE_ENDPOINT": standin.url}
    result = _ipython(settings_venv, script, tmp_path, env=env, dash_s=True)
    assert result.returncode == 0, result.stderr
    assert "before False" in result.stdout and "status 200" in result.stdout
    assert f"active; requests for dashscope.aliyuncs.com go to {standin.url}" in result.stdout
    assert [r.host for r in standin.records] == [standin.netloc]


def test_shell_started_with_the_variable_set_works_as_before(settings_venv, standin, tmp_path):
    needs("requests")
    script = """
        import requests
        print("status", requests.post("https://dashscope.aliyuncs.com/api/v1/x", json={}, timeout=10).status_code)
        %load_ext dashscope_private
    """
    result = _ipython(settings_venv, script, tmp_path, env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url})
    assert result.returncode == 0, result.stderr
    assert "status 200" in result.stdout and f"active; requests for dashscope.aliyuncs.com go to {standin.url}" in result.stdout
    assert [r.host for r in standin.records] == [standin.netloc]
