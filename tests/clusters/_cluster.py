"""What the cluster tests share: loopback-only checks, cluster processes, the driver, the worker's code.

Clusters are started the way a platform team does, separately and without any
``DASHSCOPE_PRIVATE_*`` variable, from this test venv (where dashscope-private is
installed, so its ``.pth`` runs in every worker). A driver is a fresh interpreter
given only its environment (the endpoint is the stand-in's URL). Every cluster
process inherits the session's proxy trap, so a request that is not redirected
lands there, never on the internet; and the whole run must be in a loopback-only
network namespace (``.ci/run clusters`` does this):

    unshare --net bash -c 'ip link set lo up; python -m pytest tests/clusters'
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import textwrap
import time

import pytest

#: Set by the CI leg: a missing engine or network namespace fails instead of skipping.
REQUIRED = os.environ.get("CLUSTER_TESTS_REQUIRED") == "1"
BIN = os.path.dirname(sys.executable)
PUBLIC = "https://dashscope.aliyuncs.com/compatible-mode/v1"
CHAT_PATH = "/compatible-mode/v1/chat/completions"
#: A public Model Studio host the stand-in's endpoint (no region) does not redirect: strict mode refuses it.
UNREDIRECTED = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1/models"


def _skip(reason: str) -> None:
    if REQUIRED:
        pytest.fail(reason + " (CLUSTER_TESTS_REQUIRED=1)")
    pytest.skip(reason)


def engine(module: str):  # type: ignore[no-untyped-def]
    """``pytest.importorskip`` for an engine, after the checks every cluster test needs."""
    interfaces = {name for _index, name in socket.if_nameindex()}
    if interfaces - {"lo"}:
        _skip(
            "the cluster tests start real clusters: run them in a loopback-only network namespace, "
            "unshare --net bash -c 'ip link set lo up; python -m pytest tests/clusters'"
        )
    if not os.path.exists(os.path.join(sysconfig.get_paths()["purelib"], "dashscope_private.pth")):
        _skip("dashscope_private.pth is not installed in this venv: the cluster's workers would not activate")
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        _skip(f"{module} is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cluster_env(**extra: str) -> dict:
    """The environment a cluster (or a driver) starts from: this session's, without our variables.

    It keeps the proxy trap, so anything not redirected lands there. Ray's dashboard
    probes cloud metadata addresses at start-up: not DashScope traffic, so they go
    direct, which in the loopback-only namespace fails at once.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_PRIVATE_") and k != "PYTHONPATH"}
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    for name in ("NO_PROXY", "no_proxy"):
        env[name] = env.get(name, "") + ",169.254.169.254,metadata.google.internal"
    env.update(extra)
    return env


class Processes:
    """Processes started in a session of their own; :meth:`stop` ends that session's processes only."""

    def __init__(self, log_dir: str) -> None:
        self.log_dir = log_dir
        self.leaders: list = []
        self.by_name: dict = {}

    def start(self, name: str, args: list, env: dict, cwd: str | None = None) -> subprocess.Popen:
        log = open(os.path.join(self.log_dir, name + ".log"), "wb")
        process = subprocess.Popen(args, env=env, cwd=cwd or self.log_dir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.leaders.append(process)
        self.by_name[name] = process
        return process

    def log(self, name: str) -> str:
        try:
            with open(os.path.join(self.log_dir, name + ".log"), encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_for(self, name: str, text: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log(name):
            process = self.by_name.get(name)
            if process is not None and process.poll() is not None:
                raise AssertionError(f"{name} exited ({process.returncode}) before printing {text!r}:\n{self.log(name)[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} did not print {text!r} in {timeout:.0f}s:\n{self.log(name)[-3000:]}")
            time.sleep(0.2)

    def stop(self, process: subprocess.Popen | None = None) -> None:
        """End every process of the sessions these leaders started (by their ids), the leaders last."""
        for leader in [process] if process is not None else list(self.leaders):
            sid = leader.pid
            for sig in (signal.SIGTERM, signal.SIGKILL):
                members = _session_members(sid)
                for pid in members:
                    try:
                        os.kill(pid, sig)
                    except ProcessLookupError:
                        pass
                deadline = time.monotonic() + 10
                while _session_members(sid) and time.monotonic() < deadline:
                    if leader.poll() is None:
                        time.sleep(0.1)
                    else:
                        time.sleep(0.1)
                if not _session_members(sid):
                    break
            try:
                leader.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            if leader in self.leaders:
                self.leaders.remove(leader)


def _session_members(sid: int) -> list:
    """The live (not zombie) processes whose session id is ``sid``."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            members.append(int(entry))
    return members


#: The worker's code, defined in each driver script (engines ship ``__main__`` functions by value).
#: What a user's task does: the public URL through requests (and the OpenAI SDK when asked).
WORKER_CODE = textwrap.dedent(
    f'''
    PUBLIC = {PUBLIC!r}
    UNREDIRECTED = {UNREDIRECTED!r}


    def ask(use_openai=False, probe_unredirected=False):
        import os, sys
        import requests

        out = {{"pid": os.getpid(), "endpoint": os.environ.get("DASHSCOPE_PRIVATE_ENDPOINT")}}
        body = {{"model": "qwen-plus", "messages": [{{"role": "user", "content": "Who are you?"}}]}}
        try:
            reply = requests.post(PUBLIC + "/chat/completions", json=body, headers={{"Authorization": "Bearer sk-test"}}, timeout=30)
            out["requests"] = reply.json()["choices"][0]["message"]["content"] if reply.ok else "HTTP %d" % reply.status_code
        except Exception as exc:
            out["requests"] = type(exc).__name__
        if use_openai:
            import openai

            client = openai.OpenAI(base_url=PUBLIC, api_key="sk-test", max_retries=0)
            try:
                out["openai"] = client.chat.completions.create(**body).choices[0].message.content
            except Exception as exc:
                out["openai"] = type(exc).__name__
        if probe_unredirected:
            try:
                out["unredirected"] = "HTTP %d" % requests.get(UNREDIRECTED, timeout=30).status_code
            except Exception as exc:
                out["unredirected"] = type(exc).__name__
        out["activated"] = "dashscope_private._runtime" in sys.modules
        return out


    def report(**result):
        import json, sys

        result["driver_active"] = sys.modules.get("dashscope_private._runtime") is not None and sys.modules["dashscope_private._runtime"].current() is not None
        print("RESULT " + json.dumps(result), flush=True)
    '''
)


def run_driver(tmp_path, body: str, env: dict, timeout: float = 300, cwd: str | None = None, argv: tuple = ()) -> tuple:
    """Run ``WORKER_CODE`` + ``body`` as a fresh interpreter with only ``env``; ``(result dict, stderr)``."""
    script = tmp_path / "driver.py"
    script.write_text(WORKER_CODE + textwrap.dedent(body))
    done = subprocess.run([sys.executable, str(script), *argv], env=env, cwd=cwd or str(tmp_path), capture_output=True, text=True, timeout=timeout)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, f"driver failed (rc {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    return json.loads(lines[-1][len("RESULT "):]), done.stderr


def landed(standin, count: int) -> None:
    """Exactly ``count`` chat requests reached ``standin``, each addressed to it."""
    records = [(r.path, r.host) for r in standin.records]
    assert records == [(CHAT_PATH, standin.netloc)] * count, records


def trapped(trap) -> list:
    """What reached the proxy trap (taken, so the session's check passes): ``(method, target)`` pairs."""
    return [(method, target) for method, target, _host in trap.take()]
