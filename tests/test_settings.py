"""Settings that arrive after start-up: the ``os.environ`` watcher, ``.env`` files, IPython.

Each program runs in a fresh interpreter started with ``-S`` (so no installed
``.pth`` runs) that executes exactly what start-up would: the line of
``activation/dashscope_private.pth`` from this checkout, ``_dashscope_private_start.boot``
(Python 3.15's ``.start``) or ``_boot.boot()`` (``import dashscope_private.auto``).
The wheel-in-a-fresh-venv versions of these cases are in ``test_zero_code_settings.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from dashscope_private.standin import REPLY_TEXT

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PTH = os.path.join(ROOT, "activation", "dashscope_private.pth")
PUBLIC_API = "https://dashscope.aliyuncs.com/api/v1/services/aigc/text-generation/generation"

#: How each start-up path installs the watcher, run first in the child.
STARTUPS = {
    "pth": f"exec(open({PTH!r}).read())",
    "start": "import pkgutil; pkgutil.resolve_name('_dashscope_private_start:boot')()",
    "auto": "import dashscope_private.auto",
}


def run(code: str, startup: str = "pth", env: dict | None = None, cwd: str | None = None, before: str = "") -> subprocess.CompletedProcess:
    """``code`` in a fresh ``python -S`` after the given start-up path; the SDKs come from this venv."""
    import sysconfig

    clean = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_PRIVATE_")}
    clean["PYTHONPATH"] = os.pathsep.join([ROOT, os.path.join(ROOT, "activation"), sysconfig.get_paths()["purelib"]])
    clean.update(env or {})
    program = before + "\n" + STARTUPS[startup] + "\n" + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-S", "-c", program], env=clean, cwd=cwd or ROOT, capture_output=True, text=True, timeout=120)


# ------------------------------------------------------------------ the watcher itself


@pytest.mark.parametrize("startup", ["pth", "start"])
def test_unset_start_up_installs_the_watcher_and_imports_nothing(startup):
    code = """
        import os, sys
        print('_dashscope_private_setitem' in vars(os._Environ), 'dashscope_private' in sys.modules)
        os.environ['SOMETHING_ELSE'] = '1'
        os.environ.update(OTHER='2')
        print('dashscope_private' in sys.modules)
        os.environ['DASHSCOPE_PRIVATE_LOG'] = 'debug'  # ours, but no endpoint: loads the package, activates nothing
        import dashscope_private
        print(dashscope_private.is_active())
    """
    result = run(code, startup)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.split() == ["True", "False", "False", "False"]


@pytest.mark.parametrize("startup", sorted(STARTUPS))
def test_the_watcher_is_invisible(startup):
    """Same return values, exceptions, signature and mapping semantics as the original; installed once."""
    code = """
        import inspect, os
        watcher = os._Environ.__setitem__
        assert watcher is not original and os._Environ._dashscope_private_setitem is original
        assert str(inspect.signature(watcher)) == str(inspect.signature(original)) == '(self, key, value)'
        assert str(inspect.signature(os.environ.__setitem__)) == '(key, value)'
        for key, value, error in ((1, 'x', TypeError), ('A', 1, TypeError), ('A=B', 'x', ValueError), ('A\\0', 'x', ValueError),
                                  ('DASHSCOPE_PRIVATE_ENDPOINT', None, TypeError)):
            messages = []
            for setter in (watcher, original):
                try:
                    setter(os.environ, key, value)
                except Exception as exc:
                    messages.append((type(exc), str(exc)))
            assert messages[0] == messages[1] and issubclass(messages[0][0], error), messages
        assert (os.environ.__setitem__('K', 'v'), os.environ.setdefault('K', 'w'), os.environ.setdefault('K2', 'w')) == (None, 'v', 'w')
        os.environ |= {'K3': 'x'}
        os.environ.update([('K4', 'y')], K5='z')
        assert [os.environ[k] for k in ('K', 'K2', 'K3', 'K4', 'K5')] == ['v', 'w', 'x', 'y', 'z']
        assert os.getenv('K4') == 'y' and 'K5' in os.environ.copy()
        exec(open(PTH).read()); import _dashscope_private_start; _dashscope_private_start.boot()
        import dashscope_private._boot as b; b.watch_environ()
        assert os._Environ._dashscope_private_setitem is original  # every start-up path again: still one layer
        calls = []
        import dashscope_private._environ as e; e.environ_changed = lambda key: calls.append(key)
        os.environ['DASHSCOPE_PRIVATE_LOG'] = 'info'
        assert calls == ['DASHSCOPE_PRIVATE_LOG'], calls
        print('ok')
    """
    result = run(f"PTH = {PTH!r}\n" + textwrap.dedent(code), startup, before="import os; original = os._Environ.__setitem__")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.strip() == "ok"


def test_the_watcher_only_reacts_to_os_environ_itself():
    code = """
        import os, sys
        env = os._Environ(dict(), os.environ.encodekey, os.environ.decodekey, os.environ.encodevalue, os.environ.decodevalue)
        env['DASHSCOPE_PRIVATE_ENDPOINT'] = 'http://127.0.0.1:9'
        print('dashscope_private' in sys.modules)
    """
    result = run(code)
    assert result.stdout.strip() == "False", result.stderr


# ------------------------------------------------------------------ settings after start-up


@pytest.mark.parametrize("startup", sorted(STARTUPS))
def test_load_dotenv_after_start_up_goes_private(standin, tmp_path, startup):
    """The `.env` user: the endpoint and a later variable (strict) in a .env; requests imported before load_dotenv()."""
    pytest.importorskip("dotenv")
    (tmp_path / ".env").write_text(f"DASHSCOPE_API_KEY=sk-dotenv\nDASHSCOPE_PRIVATE_ENDPOINT={standin.url}/api/v1\nDASHSCOPE_PRIVATE_STRICT=1\n")
    code = f"""
        import requests
        from dotenv import load_dotenv
        load_dotenv()
        import dashscope_private
        from dashscope_private import _runtime
        print(requests.post({PUBLIC_API!r}, json={{}}, timeout=10).status_code, _runtime.current().config.strict)
        try:
            requests.get('https://dashscope-us.aliyuncs.com/api/v1/x', timeout=10)
        except dashscope_private.PublicEgressBlocked:
            print('blocked')
    """
    result = run(code, startup, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["200", "True", "blocked"]
    assert [(r.path, r.host) for r in standin.records] == [("/api/v1/services/aigc/text-generation/generation", standin.netloc)]


def test_dotenv_values_into_os_environ_and_sdk_imported_first(standin, tmp_path):
    pytest.importorskip("dotenv")
    pytest.importorskip("openai")
    (tmp_path / "settings.env").write_text(f"DASHSCOPE_PRIVATE_ENDPOINT={standin.url}/compatible-mode/v1\n")
    code = """
        import os
        from openai import OpenAI
        from dotenv import dotenv_values
        client = OpenAI(api_key='sk-x', base_url='https://dashscope.aliyuncs.com/compatible-mode/v1')  # built before
        os.environ.update(dotenv_values('settings.env'))
        print(client.chat.completions.create(model='qwen-plus', messages=[{'role': 'user', 'content': 'hi'}]).choices[0].message.content)
    """
    result = run(code, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert REPLY_TEXT in result.stdout
    assert [r.path for r in standin.records] == ["/compatible-mode/v1/chat/completions"]


def test_variable_set_at_start_up_later_writes_reconfigure(standin):
    pytest.importorskip("requests")
    code = """
        import os, requests, dashscope_private
        from dashscope_private import _runtime
        print(requests.post('https://dashscope.aliyuncs.com/api/v1/x', json={}, timeout=10).status_code, _runtime.current().config.strict)
        os.environ['DASHSCOPE_PRIVATE_STRICT'] = '1'
        print(_runtime.current().config.strict)
        os.environ['DASHSCOPE_PRIVATE_DISABLE'] = '1'  # the kill switch, later: deactivates
        print(dashscope_private.is_active(), requests.Request('GET', 'https://dashscope.aliyuncs.com/x').prepare().url)
    """
    result = run(code, env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url})
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.split() == ["200", "False", "True", "False", "https://dashscope.aliyuncs.com/x"]


def test_invalid_value_set_later_one_line_and_fails_closed(standin, trap):
    pytest.importorskip("requests")
    masked = "ep-2zei6917b47eed******.dashscope.cn-beijing.privatelink.aliyuncs.com"
    code = f"""
        import os, requests
        os.environ['DASHSCOPE_PRIVATE_ENDPOINT'] = {masked!r}
        os.environ['DASHSCOPE_PRIVATE_ENDPOINT'] = {masked!r}  # the same error again: not printed twice
        try:
            requests.post('https://dashscope.aliyuncs.com/api/v1/x', json={{}}, timeout=10)
        except Exception as exc:
            print(type(exc).__name__)
        os.environ['DASHSCOPE_PRIVATE_ENDPOINT'] = {standin.url!r}  # fixed: private again
        print(requests.post('https://dashscope.aliyuncs.com/api/v1/x', json={{}}, timeout=10).status_code)
    """
    result = run(code)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dashscope-private: DASHSCOPE_PRIVATE_ENDPOINT: ") and "masked" in lines[0]
    assert result.stdout.split() == ["ConfigError", "200"]
    assert [r.host for r in standin.records] == [standin.netloc]
    assert trap.take() == []


def test_invalid_value_after_activation_fails_closed(standin):
    pytest.importorskip("requests")
    code = """
        import os, requests
        print(requests.post('https://dashscope.aliyuncs.com/api/v1/x', json={}, timeout=10).status_code)
        os.environ['DASHSCOPE_PRIVATE_HOSTS'] = 'https://not-a-host'
        try:
            requests.post('https://dashscope.aliyuncs.com/api/v1/x', json={}, timeout=10)
        except Exception as exc:
            print(type(exc).__name__)
    """
    result = run(code, env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url})
    assert result.stdout.split() == ["200", "ConfigError"], result.stderr
    assert result.stderr.count("DASHSCOPE_PRIVATE_HOSTS") == 1


def test_activate_exports_do_not_re_enter(standin):
    """activate(endpoint=..., strict=True) writes DASHSCOPE_PRIVATE_* itself: the watcher leaves those writes alone."""
    code = f"""
        import os, dashscope_private
        from dashscope_private import _runtime
        calls = []
        original = _runtime.reconfigure_from_environment
        _runtime.reconfigure_from_environment = lambda: (calls.append(1), original())
        dashscope_private.activate({standin.url!r}, strict=True, log='warning')
        print(os.environ['DASHSCOPE_PRIVATE_STRICT'], dict(_runtime.current().config.sources)['DASHSCOPE_PRIVATE_ENDPOINT'], len(calls))
        dashscope_private.deactivate()
        print('DASHSCOPE_PRIVATE_ENDPOINT' in os.environ, len(calls))
        os.environ['DASHSCOPE_PRIVATE_ENDPOINT'] = {standin.url!r}  # the user's own write: activates
        print(dashscope_private.is_active())
    """
    result = run(code)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.split() == ["1", "activate()", "0", "False", "0", "True"]


def test_ipython_env_magic_in_a_running_shell(standin):
    """`%env` in a shell whose start-up (the .pth) saw no variable: IPython assigns os.environ, the watcher activates."""
    pytest.importorskip("IPython")
    code = f"""
        from IPython.testing.globalipapp import start_ipython
        ip = start_ipython()
        ip.run_line_magic('env', 'DASHSCOPE_PRIVATE_ENDPOINT={standin.url}')
        ip.run_cell("import requests; status = requests.post({PUBLIC_API!r}, json={{}}, timeout=10).status_code")
        print(ip.user_ns['status'])
    """
    result = run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "200"
    assert [r.host for r in standin.records] == [standin.netloc]


def test_the_watcher_knows_every_variable_the_package_reads():
    """The watcher tests ``key in names`` (its cheapest test): its list must be config.VARIABLES."""
    import importlib.util

    from dashscope_private.config import VARIABLES

    spec = importlib.util.spec_from_file_location("start_copy", os.path.join(ROOT, "activation", "_dashscope_private_start.py"))
    start = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(start)
    assert start.VARIABLES == VARIABLES


def test_start_up_turns_on_for_each_activating_variable_alone():
    """ENDPOINT, ROUTES and CONFIG each activate on their own: the start module, _boot and config agree."""
    from dashscope_private import _boot, config

    source = open(os.path.join(ROOT, "activation", "_dashscope_private_start.py"), encoding="utf-8").read()
    boot_body = source[source.index("def boot():") : source.index("def watch_environ():")]
    assert _boot.ACTIVATING == config.ACTIVATING == (config.ENDPOINT, config.ROUTES, config.CONFIG)
    assert all(f'environ.get("{name}")' in boot_body for name in config.ACTIVATING)
