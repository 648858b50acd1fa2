"""Spark: a standalone master and worker (``spark-class ...Master`` / ``...Worker``) on 127.0.0.1, without the variable.

The driver alone has the settings; the ``SparkSession`` it builds gets
``spark.executorEnv.DASHSCOPE_PRIVATE_*``, so the executors' Python workers go private.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _cluster import Processes, cluster_env, engine, landed, run_driver, trapped  # noqa: E402

from dashscope_private.standin import REPLY_TEXT, StandIn  # noqa: E402


@pytest.fixture(scope="module")
def spark_cluster():
    """A standalone master and one worker (2 cores) bound to 127.0.0.1; yields the driver's base environment and the master URL."""
    pyspark = engine("pyspark")
    if not shutil.which("java"):
        pytest.skip("Spark needs a Java runtime (java on PATH)")
    home = os.path.dirname(pyspark.__file__)
    temp = tempfile.mkdtemp(prefix="dsp-spark-")
    env = cluster_env(
        SPARK_HOME=home, SPARK_LOCAL_IP="127.0.0.1", SPARK_LOCAL_HOSTNAME="127.0.0.1", PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable, SPARK_WORKER_DIR=os.path.join(temp, "work"), SPARK_LOG_DIR=temp,
        # Every JVM here (master, worker, driver, executors) lives seconds: compiling less starts them ~1.5x faster.
        JAVA_TOOL_OPTIONS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:CICompilerCount=1",
    )
    # Spark's default ports (master 7077, web UIs 8080 and 8081): the namespace is ours alone.
    port = 7077
    master = f"spark://127.0.0.1:{port}"
    spark_class = os.path.join(home, "bin", "spark-class")
    processes = Processes(temp)
    processes.start("master", [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port), "--webui-port", "8080"], env)
    try:
        processes.wait_for("master", "I have been elected leader", timeout=240)
        processes.start("worker", [
            spark_class, "org.apache.spark.deploy.worker.Worker", master, "--host", "127.0.0.1",
            "--webui-port", "8081", "--cores", "2", "--memory", "1g",
        ], env)
        processes.wait_for("worker", "Successfully registered with master", timeout=240)
        yield {"env": env, "master": master}
    finally:
        processes.stop()
        shutil.rmtree(temp, ignore_errors=True)


#: One driver, one application per scenario: the JVM gateway is launched once (each costs seconds). The
#: first scenario runs on the driver's environment as started; each later one writes its settings into
#: os.environ first (as load_dotenv() would), so settings set after start-up are carried too.
DRIVER = """
import json, os, sys
from pyspark.sql import SparkSession

results = {}
for name, writes, config, kwargs in json.loads(sys.argv[1]):
    os.environ.update(writes)
    builder = (
        SparkSession.builder.master(MASTER).appName("dashscope-private-" + name)
        .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
    )
    for key, value in config.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    tasks = spark.sparkContext.parallelize(range(2), 2).map(lambda _: ask(**kwargs)).collect()
    conf = dict(spark.sparkContext.getConf().getAll())
    spark.stop()
    prefix = "spark.executorEnv."
    results[name] = {"tasks": tasks, "executor_env": {k[len(prefix):]: v for k, v in conf.items() if k.startswith(prefix + "DASHSCOPE_PRIVATE_")}}
report(**results)
"""


@pytest.fixture(scope="module")
def scenarios(spark_cluster, trap, tmp_path_factory):
    """Runs the driver once: ``{scenario: (result, stand-in records)}``, plus what reached the proxy trap."""
    import json

    standins = {name: StandIn() for name in ("private", "strict", "ours", "theirs", "opted_out")}
    try:
        url = {name: s.url for name, s in standins.items()}
        plan = [
            ("private", {}, {}, {"use_openai": True}),
            ("strict", {"DASHSCOPE_PRIVATE_ENDPOINT": url["strict"], "DASHSCOPE_PRIVATE_STRICT": "1"}, {}, {"probe_unredirected": True}),
            ("user_wins", {"DASHSCOPE_PRIVATE_ENDPOINT": url["ours"], "DASHSCOPE_PRIVATE_STRICT": "0"},
             {"spark.executorEnv.DASHSCOPE_PRIVATE_ENDPOINT": url["theirs"]}, {}),
            ("opted_out", {"DASHSCOPE_PRIVATE_ENDPOINT": url["opted_out"], "DASHSCOPE_PRIVATE_PROPAGATE": "0"}, {}, {}),
        ]
        env = {**spark_cluster["env"], "DASHSCOPE_PRIVATE_ENDPOINT": url["private"]}
        tmp_path = tmp_path_factory.mktemp("spark-driver")
        # The plan is an argument: the driver's environment holds only the first scenario's settings.
        script = f"MASTER = {spark_cluster['master']!r}\n" + DRIVER
        result, _ = run_driver(tmp_path, script, env, timeout=600, argv=[json.dumps(plan)])
        yield {"result": result, "standins": standins, "url": url, "trapped": trapped(trap)}
    finally:
        for standin in standins.values():
            standin.close()


def test_spark_executors_go_private(scenarios):
    """Only the driver has the endpoint; the executors' Python workers get it, requests and the OpenAI SDK go private."""
    result, url = scenarios["result"]["private"], scenarios["url"]["private"]
    assert result["executor_env"] == {"DASHSCOPE_PRIVATE_ENDPOINT": url}
    for task in result["tasks"]:
        assert task["requests"] == REPLY_TEXT and task["openai"] == REPLY_TEXT and task["activated"], result
        assert task["endpoint"] == url
    landed(scenarios["standins"]["private"], 4)  # two partitions, requests + openai in each


def test_spark_strict_mode_set_after_start_up_refuses_an_unredirected_host_on_the_executors(scenarios):
    result = scenarios["result"]["strict"]
    assert result["executor_env"] == {"DASHSCOPE_PRIVATE_ENDPOINT": scenarios["url"]["strict"], "DASHSCOPE_PRIVATE_STRICT": "1"}
    assert [t["requests"] for t in result["tasks"]] == [REPLY_TEXT] * 2, result
    assert [t["unredirected"] for t in result["tasks"]] == ["PublicEgressBlocked"] * 2, result
    landed(scenarios["standins"]["strict"], 2)


def test_spark_executor_env_set_by_the_user_wins(scenarios):
    """spark.executorEnv.* in the user's configuration still works and beats the driver's settings."""
    result, url = scenarios["result"]["user_wins"], scenarios["url"]
    assert result["executor_env"]["DASHSCOPE_PRIVATE_ENDPOINT"] == url["theirs"]
    assert [(t["endpoint"], t["requests"]) for t in result["tasks"]] == [(url["theirs"], REPLY_TEXT)] * 2, result
    landed(scenarios["standins"]["theirs"], 2)
    assert scenarios["standins"]["ours"].records == []


def test_spark_propagate_0_leaves_the_executors_public(scenarios):
    """DASHSCOPE_PRIVATE_PROPAGATE=0: nothing is added; the executors' requests meet the proxy trap."""
    result = scenarios["result"]["opted_out"]
    assert result["executor_env"] == {}
    assert [(t["endpoint"], t["activated"], t["requests"]) for t in result["tasks"]] == [(None, False, "ProxyError")] * 2, result
    assert scenarios["trapped"] == [("CONNECT", "dashscope.aliyuncs.com:443")] * 2
    assert scenarios["standins"]["opted_out"].records == []
    assert scenarios["result"]["driver_active"]
