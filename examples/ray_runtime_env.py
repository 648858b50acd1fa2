# Ray: workers inherit the variable through runtime_env; with dashscope-private
# installed in the cluster's environment they go private, task code unchanged.
import os

import ray

ray.init(runtime_env={"env_vars": {
    "DASHSCOPE_PRIVATE_ENDPOINT": os.environ.get("DASHSCOPE_PRIVATE_ENDPOINT", "ep-xxxx.dashscope.cn-beijing.privatelink.aliyuncs.com"),
    "DASHSCOPE_API_KEY": os.environ.get("DASHSCOPE_API_KEY", ""),
}})


@ray.remote
def ask(question: str) -> str:
    from openai import OpenAI

    client = OpenAI(api_key=os.getenv("DASHSCOPE_API_KEY"), base_url="https://dashscope.aliyuncs.com/compatible-mode/v1")
    reply = client.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": question}])
    return reply.choices[0].message.content


print(ray.get(ask.remote("你是谁?")))
ray.shutdown()
