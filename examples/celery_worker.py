# Celery: start the worker with the variable set; every task in it goes private.
#
#   export DASHSCOPE_PRIVATE_ENDPOINT=ep-xxxx.dashscope.cn-beijing.privatelink.aliyuncs.com
#   celery -A celery_worker worker --loglevel=info
#
# (or, where the package is not installed into the worker's interpreter:
#   dashscope-private run -- celery -A celery_worker worker)
import os

import dashscope
from celery import Celery
from dashscope import Generation

app = Celery("qwen", broker=os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0"))


@app.task
def summarize(text: str) -> str:
    dashscope.api_key = os.getenv("DASHSCOPE_API_KEY")
    response = Generation.call(model="qwen-plus", messages=[{"role": "user", "content": f"Summarize: {text}"}], result_format="message")
    return response.output.choices[0].message.content
