"""Hooks that used to be lost, and the watcher's edges, as a user meets them.

The wheel in a fresh venv (``user_venv``), an unchanged program in a fresh
interpreter, only environment variables set. The proxy-trap variables are
inherited, so a request that went public would land in the loopback trap,
never on the internet. Every case here failed before the post-import finder
learnt to wait for imports under way:

- a program whose first import is ``urllib.request`` (its hook was registered
  from inside ``http.client``'s, while ``urllib.request`` was still executing);
- the endpoint written while another thread is importing a library;
- the endpoint written while another thread is importing our own runtime;
- writes through ``os.environb``, ``python -bb``, and a removal followed by a write.
"""

from __future__ import annotations

import textwrap

import pytest

from venvs import run  # the session fixtures (wheel, user_venv, plain_venv) are in conftest.py

pytestmark = pytest.mark.slow

PUBLIC_API = "https://dashscope.aliyuncs.com/api/v1/services/aigc/text-generation/generation"
API_PATH = "/api/v1/services/aigc/text-generation/generation"

#: Makes the import of ``target`` pause inside its body until the main thread has done
#: something: a finder that blocks when the first submodule of the package is looked up.
PAUSE_IMPORT = """
import sys, threading
class _Pause:
    def __init__(self, package):
        self.package, self.inside, self.go = package, threading.Event(), threading.Event()
    def find_spec(self, name, path=None, target=None):
        if name.startswith(self.package + ".") and not self.inside.is_set():
            self.inside.set()          # the package is executing now (sys.modules has it, half done)
            self.go.wait(30)
        return None
def import_while(package, action):
    pause = _Pause(package)
    sys.meta_path.insert(0, pause)
    importer = threading.Thread(target=__import__, args=(package,))
    importer.start()
    assert pause.inside.wait(30), "the import never started"
    action()
    pause.go.set()
    importer.join(60)
    sys.meta_path.remove(pause)
"""


def program(code: str) -> str:
    return textwrap.dedent(code).lstrip()


def test_urllib_request_as_the_first_import_goes_private(user_venv, standin, trap):
    """The simplest standard-library program; behind HTTPS_PROXY (the trap), nothing reaches the proxy."""
    code = program(f"""
        from urllib.request import Request, urlopen
        reply = urlopen(Request({PUBLIC_API!r}, data=b'{{}}', headers={{'Content-Type': 'application/json'}}), timeout=10)
        print(reply.status)
    """)
    result = run(user_venv, "-c", code, env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["200"]
    assert [(r.path, r.host) for r in standin.records] == [(API_PATH, standin.netloc)]
    assert trap.take() == []


@pytest.mark.parametrize("library, call", [
    ("requests", f"requests.post({PUBLIC_API!r}, json={{}}, timeout=10).status_code"),
    ("httpx", f"httpx.post({PUBLIC_API!r}, json={{}}, timeout=10).status_code"),
    ("urllib3", f"urllib3.request('POST', {PUBLIC_API!r}, body=b'{{}}', timeout=10).status"),
])
def test_endpoint_written_while_another_thread_imports_the_library(user_venv, standin, trap, library, call):
    """`load_dotenv()` in the main thread while a worker thread is half-way through `import requests`."""
    pytest.importorskip(library)
    code = PAUSE_IMPORT + program(f"""
        import os
        import_while({library!r}, lambda: os.environ.__setitem__('DASHSCOPE_PRIVATE_ENDPOINT', {standin.url!r}))
        import {library}, dashscope_private
        print(dashscope_private.is_active(), {call})
    """)
    result = run(user_venv, "-c", code)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.split() == ["True", "200"]
    assert [r.host for r in standin.records] == [standin.netloc]
    assert trap.take() == []


def test_endpoint_written_while_another_thread_imports_the_runtime(user_venv, standin):
    """Used to print `activation failed (AttributeError: partially initialized module ... _runtime ...)`."""
    pytest.importorskip("requests")
    code = PAUSE_IMPORT + program(f"""
        import os
        # `import requests` in a thread starts activation, which imports our runtime; pause that
        # import half-way (at the runtime's import of routing) and write a setting meanwhile
        class _PauseAt(_Pause):
            def find_spec(self, name, path=None, target=None):
                if name == self.package and not self.inside.is_set():
                    self.inside.set()
                    self.go.wait(30)
                return None
        pause = _PauseAt('dashscope_private.routing')
        sys.meta_path.insert(0, pause)
        importer = threading.Thread(target=__import__, args=('requests',))
        importer.start()
        assert pause.inside.wait(30), "activation never imported the runtime"
        assert 'dashscope_private._runtime' in sys.modules  # half-imported, right now
        os.environ['DASHSCOPE_PRIVATE_LOG'] = 'warning'
        pause.go.set()
        importer.join(60)
        import requests, dashscope_private
        print(dashscope_private.is_active(), requests.post({PUBLIC_API!r}, json={{}}, timeout=10).status_code)
    """)
    result = run(user_venv, "-c", code, env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url})
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.split() == ["True", "200"]
    assert [r.host for r in standin.records] == [standin.netloc]


def test_a_write_through_os_environb_is_seen(user_venv, standin, trap):
    pytest.importorskip("requests")
    code = program(f"""
        import os, requests, dashscope_private
        os.environb[b'DASHSCOPE_PRIVATE_ENDPOINT'] = {standin.url.encode()!r}
        print(dashscope_private.is_active(), os.environ['DASHSCOPE_PRIVATE_ENDPOINT'] == {standin.url!r})
        print(requests.post({PUBLIC_API!r}, json={{}}, timeout=10).status_code)
    """)
    result = run(user_venv, "-c", code)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.split() == ["True", "True", "200"]
    assert [r.host for r in standin.records] == [standin.netloc]


@pytest.mark.parametrize("endpoint_set", [False, True])
def test_bytes_warnings_as_errors_are_clean(user_venv, plain_venv, standin, endpoint_set):
    """`python -bb`: os.environb writes raise nothing new, with or without the variable (as without the plugin)."""
    code = program("""
        import os
        os.environb[b'SOME_BYTES_KEY'] = b'1'
        os.environb[b'DEBUG_SOMETHING'] = b'1'             # starts with D: the watcher's second test
        os.environb[b'DASHSCOPE_PRIVATE_LOG'] = b'warning'  # ours, through bytes
        os.environ['DASHSCOPE_PRIVATE_LOG'] = 'info'
        del os.environb[b'SOME_BYTES_KEY']
        print('ok')
    """)
    env = {"DASHSCOPE_PRIVATE_ENDPOINT": standin.url} if endpoint_set else {}
    for python in (plain_venv, user_venv):
        result = run(python, "-bb", "-W", "error", "-c", code, env=env)
        assert (result.returncode, result.stdout.strip(), result.stderr) == (0, "ok", ""), (python, result.stderr)


def test_removing_the_endpoint_then_writing_another_setting_does_not_deactivate(user_venv, standin, trap):
    """A removal is not a change (README): the next write of STRICT or LOG keeps the endpoint it had."""
    pytest.importorskip("requests")
    code = program(f"""
        import os, requests, dashscope_private
        from dashscope_private import _runtime
        del os.environ['DASHSCOPE_PRIVATE_ENDPOINT']
        os.environ['DASHSCOPE_PRIVATE_STRICT'] = '1'
        os.environ['DASHSCOPE_PRIVATE_LOG'] = 'warning'
        print(dashscope_private.is_active(), _runtime.current().config.strict)
        print(requests.post({PUBLIC_API!r}, json={{}}, timeout=10).status_code)
        os.environ['DASHSCOPE_PRIVATE_ENDPOINT'] = ''   # an emptied endpoint is a change: off
        print(dashscope_private.is_active())
    """)
    result = run(user_venv, "-c", code, env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url})
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.split() == ["True", "True", "200", "False"]
    assert [r.host for r in standin.records] == [standin.netloc]


def test_asyncio_first_strict_program_gets_the_loop_level_guard(user_venv, standin):
    """`import asyncio` first: the loop's getaddrinfo refuses before handing the lookup to the executor."""
    code = program("""
        import asyncio, concurrent.futures
        submitted = []
        class Recording(concurrent.futures.ThreadPoolExecutor):
            def submit(self, fn, *args, **kwargs):
                submitted.append(args[:1])
                return super().submit(fn, *args, **kwargs)
        async def main():
            asyncio.get_running_loop().set_default_executor(Recording(1))
            try:
                await asyncio.get_running_loop().getaddrinfo('dashscope-intl.aliyuncs.com', 443)
            except Exception as exc:
                return type(exc).__name__
        print(asyncio.run(main()), submitted)
    """)
    result = run(user_venv, "-c", code, env={"DASHSCOPE_PRIVATE_ENDPOINT": standin.url, "DASHSCOPE_PRIVATE_STRICT": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "PublicEgressBlocked []"


def test_toggling_the_endpoint_while_threads_import_sdks(user_venv, standin, trap):
    """Used to print `activation failed (...)` or fail an import with ModuleNotFoundError in some runs."""
    libraries = [name for name in ("openai", "dashscope", "requests", "aiohttp", "httpx") if _importable(name)]
    if not libraries:
        pytest.skip("none of openai, dashscope, requests, aiohttp, httpx is installed in this run")
    code = program(f"""
        import faulthandler, os, threading
        faulthandler.dump_traceback_later(150, exit=True)  # a deadlock shows every thread's stack
        stop = []
        def toggle():
            i = 0
            while not stop:
                os.environ['DASHSCOPE_PRIVATE_ENDPOINT'] = {standin.url!r} if i % 2 == 0 else ''
                i += 1
        toggler = threading.Thread(target=toggle)
        toggler.start()
        importers = [threading.Thread(target=__import__, args=(name,)) for name in {libraries!r}]
        for thread in importers:
            thread.start()
        for thread in importers:
            thread.join(60)
        stop.append(1)
        toggler.join(10)
        os.environ['DASHSCOPE_PRIVATE_ENDPOINT'] = {standin.url!r}
        import urllib.request, dashscope_private
        print(dashscope_private.is_active(), urllib.request.urlopen(urllib.request.Request({PUBLIC_API!r}, data=b'{{}}'), timeout=10).status)
    """)
    warm = run(user_venv, "-c", f"import {', '.join(libraries)}", timeout=300)  # byte-compile the fresh venv once
    assert warm.returncode == 0, warm.stderr
    for attempt in range(4):
        result = run(user_venv, "-c", code, timeout=300)
        assert (result.returncode, result.stderr) == (0, ""), (attempt, result.stderr)
        assert result.stdout.split() == ["True", "200"]
    assert len(standin.records) == 4 and trap.take() == []


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
