# A WebSocket API whose URL the DashScope SDK hard-codes
# (wss://dashscope.aliyuncs.com/api-ws/v1/realtime): dashscope-private's
# websocket-client integration sends it to the private endpoint.
import os
import time

import dashscope
from dashscope.audio.qwen_omni import OmniRealtimeCallback, OmniRealtimeConversation

dashscope.api_key = os.getenv("DASHSCOPE_API_KEY")


class Callback(OmniRealtimeCallback):
    def on_event(self, response: dict) -> None:
        print("event:", response.get("type"))


conversation = OmniRealtimeConversation(model="qwen-omni-turbo-realtime", callback=Callback())
conversation.connect()
time.sleep(0.5)
print("session:", conversation.get_session_id())
conversation.close()
