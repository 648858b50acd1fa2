"""Dask: ``dask scheduler`` and ``dask worker`` on 127.0.0.1, started without the variable.

The driver alone has the settings; a ``distributed.Client`` it connects registers a
worker plugin, so current workers and workers that join later go private. Dask's
documented way (the nanny's environment) wins, and a worker without dashscope-private
makes the driver print one warning line, nothing worse.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _cluster import BIN, REQUIRED, Processes, cluster_env, engine, free_port, landed, run_driver, trapped  # noqa: E402

from dashscope_private.standin import REPLY_TEXT, StandIn  # noqa: E402


class DaskCluster:
    """A scheduler and named workers, each its own ``dask`` command in its own session."""

    def __init__(self, temp: str) -> None:
        self.temp = temp
        self.env = cluster_env()
        self.processes = Processes(temp)
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.workers: dict = {}
        port = self.address.rsplit(":", 1)[1]
        self.processes.start("scheduler", [os.path.join(BIN, "dask"), "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"], self.env)
        self.processes.wait_for("scheduler", "Scheduler at:", timeout=120)

    def add_worker(self, name: str, python_bin: str = BIN, **env: str) -> None:
        self.workers[name] = self.processes.start(f"worker-{name}", [
            os.path.join(python_bin, "dask"), "worker", self.address, "--host", "127.0.0.1", "--name", name,
            "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
        ], {**self.env, **env})
        self.processes.wait_for(f"worker-{name}", "Registered to:", timeout=120)

    def remove_worker(self, name: str) -> None:
        self.processes.stop(self.workers.pop(name))

    def close(self) -> None:
        self.processes.stop()


@pytest.fixture(scope="module")
def dask_cluster():
    engine("distributed")
    temp = tempfile.mkdtemp(prefix="dsp-dask-")
    cluster = None
    try:
        cluster = DaskCluster(temp)
        cluster.add_worker("first")
        yield cluster
    finally:
        if cluster is not None:
            cluster.close()
        shutil.rmtree(temp, ignore_errors=True)


DRIVER = """
from distributed import Client

with Client({address!r}) as client:
    results = {{name: client.submit(ask, workers=[name], pure=False, **kwargs).result(timeout=120) for name, kwargs in {tasks!r}.items()}}
report(**results)
"""


def driver(cluster: DaskCluster, **tasks: dict) -> str:
    """A driver that runs ``ask(**kwargs)`` on each named worker."""
    return DRIVER.format(address=cluster.address, tasks=tasks)


def test_dask_current_and_later_workers_go_private(dask_cluster, standin, tmp_path):
    env = {**dask_cluster.env, "DASHSCOPE_PRIVATE_ENDPOINT": standin.url}
    result, _ = run_driver(tmp_path, driver(dask_cluster, first={"use_openai": True}), env)
    assert result["driver_active"]
    assert result["first"]["requests"] == REPLY_TEXT and result["first"]["openai"] == REPLY_TEXT, result
    assert result["first"]["activated"] and result["first"]["endpoint"] == standin.url
    # A worker that joins afterwards takes the settings too; this driver has none of its own.
    dask_cluster.add_worker("later")
    try:
        result, _ = run_driver(tmp_path, driver(dask_cluster, later={}), dask_cluster.env)
    finally:
        dask_cluster.remove_worker("later")
    assert not result["driver_active"]
    assert result["later"]["requests"] == REPLY_TEXT and result["later"]["endpoint"] == standin.url, result
    landed(standin, 3)


def test_dask_strict_mode_refuses_an_unredirected_host_on_the_worker(dask_cluster, standin, trap, tmp_path):
    env = {**dask_cluster.env, "DASHSCOPE_PRIVATE_ENDPOINT": standin.url, "DASHSCOPE_PRIVATE_STRICT": "1"}
    result, _ = run_driver(tmp_path, driver(dask_cluster, first={"probe_unredirected": True}), env)
    assert result["first"]["requests"] == REPLY_TEXT and result["first"]["unredirected"] == "PublicEgressBlocked", result
    # The next driver is not strict: what the last one wrote is reset, not left behind.
    env.pop("DASHSCOPE_PRIVATE_STRICT")
    result, _ = run_driver(tmp_path, driver(dask_cluster, first={"probe_unredirected": True}), env)
    assert result["first"]["unredirected"] == "ProxyError", result  # not refused: public, so the proxy trap
    assert trapped(trap) == [("CONNECT", "dashscope-intl.aliyuncs.com:443")]
    landed(standin, 2)


def test_dask_nanny_environment_set_by_the_user_wins(dask_cluster, standin, tmp_path):
    """Dask's documented way (distributed.nanny.environ) still works and beats the driver's settings."""
    config = tmp_path / "dask-config"
    config.mkdir()
    with StandIn() as theirs:
        (config / "nanny.yaml").write_text(f"distributed:\n  nanny:\n    environ:\n      DASHSCOPE_PRIVATE_ENDPOINT: {theirs.url}\n")
        dask_cluster.add_worker("configured", DASK_CONFIG=str(config))
        try:
            env = {**dask_cluster.env, "DASHSCOPE_PRIVATE_ENDPOINT": standin.url}
            result, _ = run_driver(tmp_path, driver(dask_cluster, configured={}, first={}), env)
        finally:
            dask_cluster.remove_worker("configured")
        assert result["configured"]["endpoint"] == theirs.url and result["configured"]["requests"] == REPLY_TEXT, result
        landed(theirs, 1)
    assert result["first"]["endpoint"] == standin.url
    landed(standin, 1)


def test_dask_propagate_0_leaves_the_workers_public(standin, trap, tmp_path):
    """DASHSCOPE_PRIVATE_PROPAGATE=0, on a cluster no driver has configured: the worker's request meets the proxy trap."""
    engine("distributed")
    cluster = DaskCluster(str(tmp_path))
    try:
        cluster.add_worker("first")
        env = {**cluster.env, "DASHSCOPE_PRIVATE_ENDPOINT": standin.url, "DASHSCOPE_PRIVATE_PROPAGATE": "0"}
        result, _ = run_driver(tmp_path, driver(cluster, first={}), env)
    finally:
        cluster.close()
    assert result["driver_active"]
    assert (result["first"]["endpoint"], result["first"]["activated"], result["first"]["requests"]) == (None, False, "ProxyError"), result
    assert trapped(trap) == [("CONNECT", "dashscope.aliyuncs.com:443")]
    assert standin.records == []


@pytest.fixture(scope="module")
def plain_bin(tmp_path_factory):
    """A venv with dask but without dashscope-private, from uv's cache (the namespace has no network)."""
    import distributed

    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is needed") if REQUIRED else pytest.skip("uv is needed to build a venv without dashscope-private")
    path = str(tmp_path_factory.mktemp("plain") / "venv")
    try:
        subprocess.run([uv, "venv", "-q", "-p", sys.executable, path], check=True, capture_output=True, timeout=120)
        subprocess.run(
            [uv, "pip", "install", "-q", "--offline", "-p", os.path.join(path, "bin", "python"), f"distributed=={distributed.__version__}", "requests"],
            check=True, capture_output=True, timeout=300,
        )
    except subprocess.CalledProcessError as exc:
        message = f"could not build a venv without dashscope-private offline: {exc.stderr.decode(errors='replace')[-500:]}"
        pytest.fail(message) if REQUIRED else pytest.skip(message)
    return os.path.join(path, "bin")


def test_dask_worker_without_the_package_gets_one_warning_line_from_the_driver(dask_cluster, plain_bin, standin, trap, tmp_path):
    """The plugin registered by earlier drivers does not stop it from joining; a driver then warns once, and goes on."""
    dask_cluster.add_worker("plain", python_bin=plain_bin)
    try:
        env = {**dask_cluster.env, "DASHSCOPE_PRIVATE_ENDPOINT": standin.url}
        result, stderr = run_driver(tmp_path, driver(dask_cluster, plain={}, first={}), env)
    finally:
        dask_cluster.remove_worker("plain")
    warnings = [line for line in stderr.splitlines() if "dashscope-private is not installed in the environment of Dask worker" in line]
    assert len(warnings) == 1, stderr
    assert "install dashscope-private where the workers run" in warnings[0]
    assert result["first"]["requests"] == REPLY_TEXT, result  # the other workers took the settings
    assert result["plain"]["requests"] == "ProxyError" and not result["plain"]["activated"], result
    landed(standin, 1)
    assert trapped(trap) == [("CONNECT", "dashscope.aliyuncs.com:443")]


def test_the_clusters_example_runs_unchanged_on_dask(dask_cluster, standin, tmp_path):
    """examples/clusters.py as the README shows it: only the driver has the endpoint (and passes the API key)."""
    example = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "examples", "clusters.py")
    env = {**dask_cluster.env, "DASHSCOPE_PRIVATE_ENDPOINT": standin.url, "DASHSCOPE_API_KEY": "sk-demo"}
    done = subprocess.run([sys.executable, example, "dask", dask_cluster.address], env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert done.stdout.strip() == REPLY_TEXT
    landed(standin, 1)
