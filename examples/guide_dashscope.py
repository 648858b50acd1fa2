# The DashScope SDK example of Alibaba's PrivateLink guide, as it was BEFORE migration:
# dashscope.base_http_api_url still names the public host. With dashscope-private
# installed and DASHSCOPE_PRIVATE_ENDPOINT set, it goes through the private endpoint.
import os
from http import HTTPStatus
# 建议dashscope SDK 的版本 >= 1.14.0
import dashscope
from dashscope import Generation


dashscope.base_http_api_url = "https://dashscope.aliyuncs.com/api/v1"
dashscope.api_key = os.getenv("DASHSCOPE_API_KEY")
messages = [{
        'role': 'user', 'content': '你是谁?'
    }]
response = Generation.call(model="qwen-max",
                            messages=messages,
                            result_format='message')
if response.status_code == HTTPStatus.OK:
    print(response)
else:
    print('Request id: %s, Status code: %s, error code: %s, error message: %s' % (
        response.request_id, response.status_code,
        response.code, response.message
    ))
