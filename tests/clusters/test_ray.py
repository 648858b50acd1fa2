"""Ray: a cluster started with ``ray start --head``, without the variable; the driver calls ``ray.init(address="auto")``.

The driver alone has the settings (its environment, or a ``.env`` it loads): the
tasks, actors and nested tasks of its job go private through the job's
``runtime_env`` ``env_vars``, and so does a job submitted with ``JobSubmissionClient``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _cluster import BIN, Processes, cluster_env, engine, landed, run_driver, trapped  # noqa: E402

from dashscope_private.standin import REPLY_TEXT, StandIn  # noqa: E402


@pytest.fixture(scope="module")
def ray_cluster():
    """A head node on 127.0.0.1 (dashboard included, for job submission); yields the driver's base environment."""
    engine("ray")
    # Session files out of the shared /tmp/ray; a short path, as AF_UNIX socket paths are limited to 107 bytes.
    temp = tempfile.mkdtemp(prefix="dsp-ray-")
    # Ray 2.5x turns token authentication on for a head that finds ~/.ray/auth_token (any earlier local
    # ray.init() writes one), and a client without RAY_AUTH_MODE=token then gets 401 from the dashboard:
    # the mode is set explicitly, and HOME is the cluster's own, so the machine's files play no part.
    env = cluster_env(RAY_TMPDIR=temp, RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled", HOME=temp)
    processes = Processes(temp)
    # Ray's default ports (GCS 6379, dashboard 8265, agent 52365, client 10001): the namespace is ours alone,
    # and ports picked at random here could meet those Ray picks at random for its other components.
    processes.start("head", [
        os.path.join(BIN, "ray"), "start", "--head", "--block", "--node-ip-address=127.0.0.1", "--num-cpus=2",
        "--disable-usage-stats", "--include-dashboard=true", "--dashboard-host=127.0.0.1",
    ], env)
    try:
        processes.wait_for("head", "Ray runtime started", timeout=240)
        yield {"env": env, "dashboard": "http://127.0.0.1:8265"}
    finally:
        processes.stop()
        shutil.rmtree(temp, ignore_errors=True)


DRIVER = """
import ray

ray.init(address="auto"{init_args})


@ray.remote
def task(**kwargs):
    return ask(**kwargs)


@ray.remote
def outer():
    return ray.get(task.remote())


@ray.remote
class Asker:
    def ask(self):
        return ask()

{body}
ray.shutdown()
"""


def driver(body: str, init_args: str = "") -> str:
    return DRIVER.format(body=body, init_args=init_args)


def test_ray_tasks_actors_and_nested_tasks_go_private_with_settings_from_a_dotenv(ray_cluster, standin, tmp_path):
    """The driver loads the endpoint from .env (after start-up), then ray.init(address="auto")."""
    (tmp_path / ".env").write_text(f"DASHSCOPE_PRIVATE_ENDPOINT={standin.url}\n")
    body = driver(
        "report(task=ray.get(task.remote(use_openai=True), timeout=180), actor=ray.get(Asker.remote().ask.remote(), timeout=180),"
        " nested=ray.get(outer.remote(), timeout=180))"
    )
    result, _ = run_driver(tmp_path, "from dotenv import load_dotenv\nload_dotenv()\n" + body, ray_cluster["env"])
    assert result["driver_active"]
    for name in ("task", "actor", "nested"):
        assert result[name]["requests"] == REPLY_TEXT and result[name]["activated"], result
        assert result[name]["endpoint"] == standin.url, result
    assert result["task"]["openai"] == REPLY_TEXT
    landed(standin, 4)  # task: requests + openai; actor; nested task


def test_ray_strict_mode_refuses_an_unredirected_host_on_the_worker(ray_cluster, standin, tmp_path):
    env = {**ray_cluster["env"], "DASHSCOPE_PRIVATE_ENDPOINT": standin.url, "DASHSCOPE_PRIVATE_STRICT": "1"}
    result, _ = run_driver(tmp_path, driver("report(task=ray.get(task.remote(probe_unredirected=True), timeout=180))"), env)
    assert result["task"]["requests"] == REPLY_TEXT
    assert result["task"]["unredirected"] == "PublicEgressBlocked", result
    landed(standin, 1)


def test_ray_runtime_env_env_vars_set_by_the_user_win(ray_cluster, standin, tmp_path):
    """The documented way still works, and a variable the user put in runtime_env env_vars beats the driver's."""
    with StandIn() as theirs:
        env = {**ray_cluster["env"], "DASHSCOPE_PRIVATE_ENDPOINT": standin.url}
        init_args = f', runtime_env={{"env_vars": {{"DASHSCOPE_PRIVATE_ENDPOINT": {theirs.url!r}}}}}'
        result, _ = run_driver(tmp_path, driver("report(task=ray.get(task.remote(), timeout=180))", init_args), env)
        assert result["task"]["requests"] == REPLY_TEXT and result["task"]["endpoint"] == theirs.url, result
        landed(theirs, 1)
    assert standin.records == []


def test_ray_propagate_0_leaves_the_workers_public(ray_cluster, standin, trap, tmp_path):
    """DASHSCOPE_PRIVATE_PROPAGATE=0: the driver is private, its workers are not (their request meets the proxy trap)."""
    env = {**ray_cluster["env"], "DASHSCOPE_PRIVATE_ENDPOINT": standin.url, "DASHSCOPE_PRIVATE_PROPAGATE": "0"}
    result, _ = run_driver(tmp_path, driver("report(task=ray.get(task.remote(), timeout=180))"), env)
    assert result["driver_active"]
    assert result["task"]["endpoint"] is None and not result["task"]["activated"], result
    assert result["task"]["requests"] == "ProxyError", result
    assert trapped(trap) == [("CONNECT", "dashscope.aliyuncs.com:443")]
    assert standin.records == []


JOB = """
import ray

ray.init()


@ray.remote
def task():
    return ask()


report(task=ray.get(task.remote(), timeout=180))
"""


def test_ray_job_submission_carries_the_settings_to_the_jobs_driver_and_workers(ray_cluster, standin, tmp_path):
    """JobSubmissionClient.submit_job from a private shell: the submitted driver and its tasks go private."""
    from _cluster import WORKER_CODE

    job = tmp_path / "job.py"
    job.write_text(WORKER_CODE + JOB)
    env = {**ray_cluster["env"], "DASHSCOPE_PRIVATE_ENDPOINT": standin.url}
    submit = f"""
import time
from ray.job_submission import JobSubmissionClient, JobStatus

client = JobSubmissionClient({ray_cluster["dashboard"]!r})
job = client.submit_job(entrypoint="python {job}", runtime_env={{"env_vars": {{"SOME_SETTING": "kept"}}}})
deadline = time.time() + 240
while client.get_job_status(job) not in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED) and time.time() < deadline:
    time.sleep(0.5)
logs = client.get_job_logs(job)
lines = [line for line in logs.splitlines() if line.startswith("RESULT ")]
import json
report(status=str(client.get_job_status(job)), job=json.loads(lines[-1][len("RESULT "):]) if lines else logs[-3000:],
       runtime_env=client.get_job_info(job).runtime_env)
"""
    result, _ = run_driver(tmp_path, submit, env)
    assert result["status"].endswith("SUCCEEDED"), result
    assert result["runtime_env"]["env_vars"] == {"SOME_SETTING": "kept", "DASHSCOPE_PRIVATE_ENDPOINT": standin.url}
    assert result["job"]["driver_active"], result  # the submitted driver got the settings
    assert result["job"]["task"]["requests"] == REPLY_TEXT and result["job"]["task"]["activated"], result
    landed(standin, 1)


# --------------------------------------------------------------------------- what ray.init is given (no cluster)


def test_ray_init_merge_keeps_a_job_configs_runtime_env_and_the_users_objects(private, monkeypatch):
    """ray.init(job_config=JobConfig(runtime_env=...)): ray.init's runtime_env would replace the job_config's, so
    the merged copy carries it; the user's JobConfig and dicts are not modified."""
    pytest.importorskip("ray")
    from ray.job_config import JobConfig
    from ray.runtime_env import RuntimeEnv

    from dashscope_private.integrations.ray import _init_kwargs

    monkeypatch.setenv("DASHSCOPE_PRIVATE_STRICT", "1")
    job_config = JobConfig(runtime_env={"env_vars": {"DASHSCOPE_PRIVATE_STRICT": "0", "A": "1"}, "working_dir": "."})
    kwargs = _init_kwargs({"job_config": job_config})
    assert kwargs["runtime_env"] == {"env_vars": {"DASHSCOPE_PRIVATE_ENDPOINT": private.url, "DASHSCOPE_PRIVATE_STRICT": "0", "A": "1"}, "working_dir": "."}
    assert kwargs["job_config"] is not job_config and job_config.runtime_env == {"env_vars": {"DASHSCOPE_PRIVATE_STRICT": "0", "A": "1"}, "working_dir": "."}
    runtime_env = RuntimeEnv(env_vars={"B": "2"})
    merged = _init_kwargs({"runtime_env": runtime_env})["runtime_env"]
    assert merged["env_vars"] == {"DASHSCOPE_PRIVATE_ENDPOINT": private.url, "DASHSCOPE_PRIVATE_STRICT": "1", "B": "2"}
    assert runtime_env["env_vars"] == {"B": "2"}


def test_ray_init_inside_a_submitted_job_adds_no_variable_the_job_has(private, monkeypatch):
    """Ray refuses a driver's env_vars key that repeats its submitted job's: those are left to the job."""
    pytest.importorskip("ray")
    import json

    from dashscope_private.integrations.ray import _init_kwargs

    job = {"runtime_env": {"env_vars": {"DASHSCOPE_PRIVATE_ENDPOINT": private.url}}}
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR", json.dumps(job))
    assert _init_kwargs({"address": "auto"}) == {"address": "auto"}
    monkeypatch.setenv("DASHSCOPE_PRIVATE_STRICT", "1")
    assert _init_kwargs({})["runtime_env"] == {"env_vars": {"DASHSCOPE_PRIVATE_STRICT": "1"}}


def test_ray_init_is_untouched_while_inactive_or_opted_out(monkeypatch, standin):
    ray = pytest.importorskip("ray")
    import dashscope_private
    from dashscope_private.integrations.ray import _init_kwargs

    assert _init_kwargs({"runtime_env": None}) == {"runtime_env": None}
    dashscope_private.activate(standin.url, propagate=False)
    assert "ray" in dashscope_private._runtime.installed_integrations() and ray.init.__name__ == "init"
    assert _init_kwargs({}) == {}
