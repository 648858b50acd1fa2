"""Zero-code activation as a user meets it.

Install the session's wheel into a fresh venv next to the same SDK versions
this test run uses (``user_venv`` in ``conftest.py``), and run unchanged programs (the guide's examples with
their pre-migration public URLs) in subprocesses with only the environment
set. The proxy trap variables are inherited, so a program that failed to go
private would hit the trap on loopback, never the internet.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap

import pytest

from dashscope_private.standin import REPLY_TEXT
from venvs import EXAMPLES, installed, needs, run, site_packages, tool, venv

MASKED = "ep-2zei6917b47eed******.dashscope.cn-beijing.privatelink.aliyuncs.com"
HEAVY_MODULES = ("wrapt", "openai", "dashscope", "requests", "httpx", "httpx2", "aiohttp", "websocket", "logging", "asyncio")

pytestmark = pytest.mark.slow


# ---------------------------------------------------------------------------------------------


def test_wheel_ships_the_startup_files(user_venv):
    purelib = site_packages(user_venv)
    pth = open(os.path.join(purelib, "dashscope_private.pth")).read()
    assert pth.count("\n") == 1 and pth.startswith("import os;")
    assert open(os.path.join(purelib, "dashscope_private.start")).read().strip() == "_dashscope_private_start:boot"
    assert os.path.isfile(os.path.join(purelib, "dashscope_private", "py.typed"))


def test_pep_829_entry_point(user_venv, standin):
    """Python 3.15 calls the .start entry point; call it the same way (pkgutil.resolve_name) here."""
    code = "import pkgutil, sys; pkgutil.resolve_name(open(sys.argv[1]).read().strip())(); import dashscope_private; print(dashscope_private.is_active())"
    start_file = os.path.join(site_packages(user_venv), "dashscope_private.start")
    unset = run(user_venv, "-S", "-c", code.replace("import dashscope_private; print(dashscope_private.is_active())", "print('dashscope_private' in sys.modules)"), start_file, env={"PYTHONPATH": site_packages(user_venv)})
    assert unset.stdout.strip() == "False", unset.stderr
    active = run(user_venv, "-S", "-c", code, start_file, env={"PYTHONPATH": site_packages(user_venv), "DASHSCOPE_PRIVATE_ENDPOINT": standin.url})
    assert active.stdout.strip() == "True", active.stderr


def test_unset_variable_does_nothing(user_venv):
    result = run(user_venv, "-c", f"import sys; print(sorted(m for m in {HEAVY_MODULES + ('dashscope_private',)!r} if m in sys.modules))")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.strip() == "[]"


def test_set_variable_imports_nothing_heavy_at_startup(user_venv, standin):
    """Start-up only validates and registers hooks: not even our runtime loads before an SDK import."""
    code = (
        f"import sys; print(sorted(m for m in {HEAVY_MODULES + ('__future__', 'typing', 're', 'dashscope_private._runtime')!r} if m in sys.modules))\n"
        "import dashscope_private; print(dashscope_private.is_active())"
    )
    result = run(user_venv, "-c", code, env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url})
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.split() == ["[]", "True"]


@pytest.mark.parametrize(
    "example, sdk, path",
    [("guide_openai.py", "openai", "/compatible-mode/v1/chat/completions"), ("guide_dashscope.py", "dashscope", "/api/v1/services/aigc/text-generation/generation")],
)
def test_guide_sdk_examples_go_private(user_venv, standin, example, sdk, path):
    if not installed(sdk):
        pytest.skip(f"{sdk} not installed in this run")
    result = run(user_venv, os.path.join(EXAMPLES, example), env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url})
    assert result.returncode == 0, result.stderr
    assert REPLY_TEXT in result.stdout
    assert [(r.path, r.host) for r in standin.records] == [(path, standin.netloc)]


def test_guide_curl_call_with_requests_goes_private(user_venv, standin):
    needs("requests")
    result = run(user_venv, os.path.join(EXAMPLES, "guide_http.py"), env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("200 " + REPLY_TEXT)
    assert [r.host for r in standin.records] == [standin.netloc]


def test_invalid_value_one_line_and_fails_closed(user_venv, standin, trap):
    needs("requests")
    env = {"DASHSCOPE_PRIVATE_ENDPOINT": MASKED}
    started = run(user_venv, "-c", "pass", env=env)
    assert started.returncode == 0
    lines = started.stderr.splitlines()
    assert len(lines) == 1, started.stderr
    assert lines[0].startswith("dashscope-private: DASHSCOPE_PRIVATE_ENDPOINT: ") and "masked placeholder" in lines[0]
    assert "Traceback" not in started.stderr

    refused = run(user_venv, os.path.join(EXAMPLES, "guide_http.py"), env=env)
    assert refused.returncode != 0
    assert "ConfigError" in refused.stderr and "DASHSCOPE_PRIVATE_ENDPOINT: the value contains '*'" in refused.stderr
    assert refused.stderr.count("dashscope-private: DASHSCOPE_PRIVATE_ENDPOINT") == 1
    # Other traffic in the same program is untouched.
    other = run(user_venv, "-c", f"import requests; print(requests.get('{standin.url}/x', timeout=10).status_code)", env=env)
    assert other.stdout.strip() == "200"
    assert trap.take() == []  # nothing went out unredirected


def test_multiprocessing_spawn_children_go_private(user_venv, standin, tmp_path):
    needs("requests")
    program = tmp_path / "spawn_app.py"
    program.write_text(textwrap.dedent("""
        import multiprocessing as mp

        def call(_):
            import requests
            return requests.post("https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions", json={}, timeout=10).status_code

        if __name__ == "__main__":
            with mp.get_context("spawn").Pool(2) as pool:
                print(pool.map(call, range(4)))
    """))
    result = run(user_venv, str(program), env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[200, 200, 200, 200]"
    assert len(standin.records) == 4


def test_pth_running_twice_activates_once(user_venv, tmp_path):
    needs("requests")
    purelib = site_packages(user_venv)
    duplicate = os.path.join(purelib, "zz_duplicate_dashscope_private.pth")
    shutil.copyfile(os.path.join(purelib, "dashscope_private.pth"), duplicate)
    try:
        result = run(user_venv, "-c", "pass", env={"DASHSCOPE_PRIVATE_ENDPOINT": MASKED})
        assert result.stderr.count("DASHSCOPE_PRIVATE_ENDPOINT") == 1
        code = (
            "import requests.models as m; from dashscope_private._patching import is_patched\n"
            "f = m.PreparedRequest.__dict__['prepare_url']\n"
            "print(is_patched(m.PreparedRequest, 'prepare_url'), f.__wrapped__.__module__, hasattr(f.__wrapped__, '__wrapped__'))"
        )
        result = run(user_venv, "-c", code, env={"DASHSCOPE_PRIVATE_ENDPOINT": "http://127.0.0.1:9"})
        assert result.stdout.strip() == "True requests.models False", result.stderr  # patched once, around the original
    finally:
        os.remove(duplicate)


def test_stale_pth_prints_nothing(wheel, tmp_path):
    stale = venv(str(tmp_path / "stale"), [wheel])
    purelib = site_packages(stale)
    shutil.rmtree(os.path.join(purelib, "dashscope_private"))
    result = run(stale, "-c", "print('ok')", env={"DASHSCOPE_PRIVATE_ENDPOINT": "http://127.0.0.1:9"})
    assert result.returncode == 0 and result.stdout == "ok\n" and result.stderr == ""


def test_run_command_activates_an_interpreter_without_the_package(user_venv, plain_venv, standin, tmp_path):
    needs("requests")
    sitecustomize_dir = tmp_path / "user_site"
    sitecustomize_dir.mkdir()
    (sitecustomize_dir / "sitecustomize.py").write_text("import sys; print('user sitecustomize ran in', sys.prefix)\n")
    cli = os.path.join(os.path.dirname(user_venv), "dashscope-private")
    result = subprocess.run(
        [cli, "run", "--endpoint", standin.url, "--", plain_venv, os.path.join(EXAMPLES, "guide_http.py")],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_PRIVATE_")}, "PYTHONPATH": str(sitecustomize_dir)},
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    plain_prefix = os.path.dirname(os.path.dirname(plain_venv))
    assert result.stdout.splitlines()[-2:] == [f"user sitecustomize ran in {plain_prefix}", "200 " + REPLY_TEXT]  # chained, then private
    assert [r.host for r in standin.records] == [standin.netloc]


def test_run_warns_about_python_dash_s(user_venv, plain_venv, standin):
    cli = os.path.join(os.path.dirname(user_venv), "dashscope-private")
    result = subprocess.run([cli, "run", "--endpoint", standin.url, "--", plain_venv, "-S", "-c", "pass"], capture_output=True, text=True, timeout=60)
    assert "python -S skips sitecustomize" in result.stderr and "import dashscope_private.auto" in result.stderr


def test_pip_target_folder_with_auto_under_python_dash_s(wheel, plain_venv, standin, tmp_path):
    """No .pth runs here (python -S, a --target folder): `import dashscope_private.auto` activates."""
    needs("requests")
    target = tmp_path / "target"
    tool("pip", "install", "-q", "--target", str(target), wheel, timeout=300)
    code = (
        f"import sys; sys.path[:0] = [{str(target)!r}, {site_packages(plain_venv)!r}]\n"
        "import dashscope_private.auto, requests\n"
        "print(requests.post('https://dashscope.aliyuncs.com/api/v1/x', json={}, timeout=10).status_code)\n"
    )
    result = run(plain_venv, "-S", "-c", code, env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "200"
    assert [r.host for r in standin.records] == [standin.netloc]


def test_demo_command(user_venv):
    needs("openai", "dashscope", "requests")
    cli = os.path.join(os.path.dirname(user_venv), "dashscope-private")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_PRIVATE_")}
    result = subprocess.run([cli, "demo"], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "asked for https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions" in result.stdout
    assert "none of them was changed" in result.stdout


@pytest.mark.parametrize("example, module, expected", [("async_streaming.py", "openai", REPLY_TEXT), ("websocket_realtime.py", "dashscope.audio.qwen_omni", "session: sess_standin")])
def test_other_examples_run_unchanged(user_venv, standin, example, module, expected):
    if subprocess.run([user_venv, "-c", f"import {module}"], capture_output=True).returncode != 0:
        pytest.skip(f"{module} is not available in this run's SDK versions")
    result = run(user_venv, os.path.join(EXAMPLES, example), env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url, "DASHSCOPE_API_KEY": "sk-demo"})
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
    assert standin.records and all(r.host == standin.netloc for r in standin.records)


def test_run_alongside_the_pth_activates_once(user_venv, standin):
    """Both the .pth and `run`'s sitecustomize fire in a venv that has the package: patched once, and private."""
    needs("requests")
    cli = os.path.join(os.path.dirname(user_venv), "dashscope-private")
    code = (
        "import requests, requests.models as m\n"
        "f = m.PreparedRequest.__dict__['prepare_url']\n"
        "print(hasattr(f.__wrapped__, '__wrapped__'), requests.post('https://dashscope.aliyuncs.com/api/v1/x', json={}, timeout=10).status_code)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_PRIVATE_")}
    result = subprocess.run([cli, "run", "--endpoint", standin.url, "--", user_venv, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.split() == ["False", "200"]  # patched once, around the original; and private
    assert [r.host for r in standin.records] == [standin.netloc]
