# Ray, Spark and Dask: only the driver is configured, and the workers go private too (README "Clusters").
#
#   pip install dashscope-private     # in the driver's environment AND the workers' (the cluster's image or venv)
#   export DASHSCOPE_PRIVATE_ENDPOINT=ep-xxxx.dashscope.cn-beijing.privatelink.aliyuncs.com   # the driver only, or its .env
#   python examples/clusters.py ray                            # a cluster from `ray start --head`, found by address="auto"
#   python examples/clusters.py spark spark://master:7077      # a Spark standalone master
#   python examples/clusters.py dask tcp://scheduler:8786      # `dask scheduler` + `dask worker`
#
# The driver carries its DASHSCOPE_PRIVATE_* settings in the engine's own way (runtime_env env_vars,
# spark.executorEnv.*, a Dask worker plugin); a value you set there yourself wins.
# DASHSCOPE_PRIVATE_PROPAGATE=0 keeps them in the driver. The API key is the task's business: passed here.
import os
import sys


def ask(question: str, api_key: str) -> str:
    """Runs on a worker: unchanged code with the public URL."""
    from openai import OpenAI

    client = OpenAI(api_key=api_key, base_url="https://dashscope.aliyuncs.com/compatible-mode/v1")
    reply = client.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": question}])
    return reply.choices[0].message.content


def main(engine: str, address: str = "") -> str:
    try:
        from dotenv import load_dotenv  # settings in a .env work too, loaded before the engine starts its job

        load_dotenv()
    except ImportError:
        pass
    question, api_key = "你是谁?", os.environ.get("DASHSCOPE_API_KEY", "")
    if engine == "ray":
        import ray

        ray.init(address=address or "auto")
        try:
            return ray.get(ray.remote(ask).remote(question, api_key))
        finally:
            ray.shutdown()
    if engine == "spark":
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.master(address).appName("dashscope-private-example").getOrCreate()
        try:
            return spark.sparkContext.parallelize([question], 1).map(lambda q: ask(q, api_key)).collect()[0]
        finally:
            spark.stop()
    if engine == "dask":
        from distributed import Client

        with Client(address) as client:
            return client.submit(ask, question, api_key).result()
    raise SystemExit(f"usage: {sys.argv[0]} ray|spark|dask [address]")


if __name__ == "__main__":
    print(main(*sys.argv[1:3]))
