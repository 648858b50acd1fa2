"""What the stand-in answers: the response bodies of each API, built around one reply text.

Kept apart from the HTTP and WebSocket handlers so both speak the same words.
"""

from __future__ import annotations

import json
import time
import uuid

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, List

__all__ = ["REPLY_TEXT", "chat_completion", "chat_chunks", "generation", "anthropic_events"]

#: What every answer says unless ``StandIn.reply_text`` is changed.
REPLY_TEXT = "Hello from the private endpoint stand-in."


def chat_completion(model: str, text: str) -> dict:
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 8, "total_tokens": 13},
    }


def chat_chunks(model: str, text: str) -> List[dict]:
    base = {"id": "chatcmpl-standin", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
    words = text.split(" ")
    chunks = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": w + " "}, "finish_reason": None}]}
        for w in words
    ]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return chunks


def generation(text: str) -> dict:
    return {
        "request_id": "standin-" + uuid.uuid4().hex[:8],
        "output": {"choices": [{"finish_reason": "stop", "message": {"role": "assistant", "content": text}}]},
        "usage": {"input_tokens": 5, "output_tokens": 8, "total_tokens": 13},
    }


def anthropic_events(model: str, text: str) -> List[str]:
    """The Anthropic Messages streaming events for ``text``, as ``event:``/``data:`` SSE records."""
    words = text.split(" ")
    pieces = [w + " " for w in words[:-1]] + words[-1:]
    message: Dict[str, Any] = {"id": "msg_standin", "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 0}}
    events: List[tuple] = [
        ("message_start", {"type": "message_start", "message": message}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ]
    events += [("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}) for p in pieces]
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 8}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return [f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events]

