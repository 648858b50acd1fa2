# The OpenAI SDK example of Alibaba's PrivateLink guide, as it was BEFORE migration:
# the public URL is left in the code. With dashscope-private installed and
# DASHSCOPE_PRIVATE_ENDPOINT set, it goes through the private endpoint unchanged.
import os
from openai import OpenAI

client = OpenAI(
    # 若没有配置环境变量,请用百炼API Key将下行替换为:api_key="sk-xxx",
    api_key=os.getenv("DASHSCOPE_API_KEY"),
    base_url="https://dashscope.aliyuncs.com/compatible-mode/v1",
)
completion = client.chat.completions.create(
    model="qwen-plus",  # 模型列表:https://help.aliyun.com/zh/model-studio/getting-started/models
    messages=[
        {'role': 'system', 'content': 'You are a helpful assistant.'},
        {'role': 'user', 'content': '你是谁?'}],
    )
print(completion.model_dump_json())
