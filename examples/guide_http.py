# The guide's curl call, done with requests against the public URL. With
# dashscope-private active it lands on the private endpoint, Host header included.
import os

import requests

response = requests.post(
    "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions",
    headers={"Authorization": f"Bearer {os.getenv('DASHSCOPE_API_KEY')}", "Content-Type": "application/json"},
    json={
        "model": "qwen-plus",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "你是谁?"},
        ],
    },
    timeout=60,
)
print(response.status_code, response.json()["choices"][0]["message"]["content"])
