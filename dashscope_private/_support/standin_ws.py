"""The stand-in's WebSocket side: RFC 6455 framing and DashScope's two socket protocols.

``/api-ws/v1/inference`` (the duplex task protocol of tts_v2, Recognition, ...)
and ``/api-ws/v1/realtime`` (OpenAI-realtime-style events) answer just enough
for the real SDKs to finish a session.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

__all__ = ["accept_key", "serve"]

_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_key(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` answer to a client's ``Sec-WebSocket-Key``."""
    return base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()


def serve(path: str, rfile: Any, wfile: Any, text: str) -> None:
    """Speak the protocol ``path`` names on an upgraded connection until the client leaves."""
    ws = _WebSocket(rfile, wfile)
    try:
        if "/realtime" in path:
            _serve_realtime(ws, text)
        else:
            _serve_inference(ws, text)
    except (ConnectionError, OSError, EOFError):
        pass


class _WebSocket:
    """Just enough RFC 6455 for a server: masked client frames in, unmasked frames out."""

    def __init__(self, rfile: Any, wfile: Any) -> None:
        self.rfile = rfile
        self.wfile = wfile
        self.lock = threading.Lock()

    def _read_exact(self, n: int) -> bytes:
        data = self.rfile.read(n)
        if len(data) < n:
            raise EOFError
        return data

    def receive(self) -> tuple:
        """``(opcode, payload)`` of the next complete data message; answers pings and closes."""
        message = b""
        opcode = None
        while True:
            b0, b1 = self._read_exact(2)
            fin, op = b0 & 0x80, b0 & 0x0F
            length = b1 & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._read_exact(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._read_exact(8))[0]
            mask = self._read_exact(4) if b1 & 0x80 else b"\0\0\0\0"
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(self._read_exact(length)))
            if op == 0x8:
                self.send(payload[:2], 0x8)
                raise EOFError
            if op == 0x9:
                self.send(payload, 0xA)
                continue
            if op == 0xA:
                continue
            if op != 0:
                opcode = op
            message += payload
            if fin:
                return opcode, message

    def send(self, payload: Any, opcode: int = 0x1) -> None:
        if isinstance(payload, str):
            payload = payload.encode()
        elif isinstance(payload, dict):
            payload = json.dumps(payload).encode()
        n = len(payload)
        header = bytes([0x80 | opcode])
        if n < 126:
            header += bytes([n])
        elif n < 65536:
            header += bytes([126]) + struct.pack("!H", n)
        else:
            header += bytes([127]) + struct.pack("!Q", n)
        with self.lock:
            self.wfile.write(header + payload)
            self.wfile.flush()


def _serve_inference(ws: _WebSocket, text: str) -> None:
    """The duplex task protocol of ``/api-ws/v1/inference`` (tts_v2, Recognition, ...)."""
    task_id = None
    task = ""
    while True:
        opcode, data = ws.receive()
        if opcode != 0x1:
            continue  # audio frames from the client
        message = json.loads(data)
        header = message.get("header", {})
        action = header.get("action")
        task_id = header.get("task_id", task_id)
        if action == "run-task":
            task = message.get("payload", {}).get("task", "")
            ws.send({"header": {"task_id": task_id, "event": "task-started", "attributes": {}}, "payload": {}})
        elif action == "continue-task" and task == "tts":
            ws.send(b"\x00\x01" * 64, 0x2)
            ws.send({"header": {"task_id": task_id, "event": "result-generated", "attributes": {}}, "payload": {"output": {}, "usage": {"characters": 4}}})
        elif action == "finish-task":
            if task == "tts":
                ws.send(b"\x00\x01" * 64, 0x2)
            else:
                ws.send({"header": {"task_id": task_id, "event": "result-generated", "attributes": {}}, "payload": {"output": {"sentence": {"begin_time": 0, "end_time": 1000, "text": text, "words": []}}, "usage": {"duration": 1}}})
            ws.send({"header": {"task_id": task_id, "event": "task-finished", "attributes": {}}, "payload": {"output": {}, "usage": {}}})


def _serve_realtime(ws: _WebSocket, text: str) -> None:
    """OpenAI-realtime-style events of ``/api-ws/v1/realtime`` (qwen_omni, qwen_tts_realtime)."""
    ws.send({"type": "session.created", "event_id": "e0", "session": {"id": "sess_standin"}})
    while True:
        opcode, data = ws.receive()
        if opcode != 0x1:
            continue
        event = json.loads(data)
        kind = event.get("type")
        if kind == "session.update":
            ws.send({"type": "session.updated", "event_id": "e1", "session": {"id": "sess_standin", **event.get("session", {})}})
        elif kind == "response.create":
            ws.send({"type": "response.created", "event_id": "e2", "response": {"id": "resp_standin"}})
            ws.send({"type": "response.audio_transcript.delta", "event_id": "e3", "response_id": "resp_standin", "delta": text})
            ws.send({"type": "response.done", "event_id": "e4", "response": {"id": "resp_standin", "status": "completed", "usage": {}}})
        elif kind == "session.finish":
            ws.send({"type": "session.finished", "event_id": "e5"})
