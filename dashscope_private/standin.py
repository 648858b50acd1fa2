"""A loopback stand-in for a DashScope private endpoint, stdlib only.

``dashscope-private demo`` and the test suite start it to show and prove where
requests land, on a machine with no VPC. It speaks enough of each API for the
real SDKs to complete a call: the OpenAI-compatible chat (plain and SSE),
models and embeddings; DashScope's native generation (plain and SSE),
multimodal, embeddings, async tasks, applications and the OSS upload policy;
the Anthropic-compatible messages API (plain and SSE); and WebSockets on
``/api-ws/v1/inference`` (duplex task protocol) and ``/api-ws/v1/realtime``.
Every request is recorded (method, path, Host header, whether it carried an
Authorization header) so callers can check the route it took.

It binds to 127.0.0.1 (or ::1) only and serves nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Callable, Dict, List, Optional

__all__ = ["StandIn", "Record"]

_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
REPLY_TEXT = "Hello from the private endpoint stand-in."


class Record(dict):
    """One request as the stand-in saw it: ``method, path, host, authorization, kind, body``."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _chat_completion(model: str) -> dict:
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": REPLY_TEXT}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 8, "total_tokens": 13},
    }


def _chat_chunks(model: str) -> List[dict]:
    base = {"id": "chatcmpl-standin", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
    words = REPLY_TEXT.split(" ")
    chunks = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": w + " "}, "finish_reason": None}]}
        for w in words
    ]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return chunks


def _generation(text: str = REPLY_TEXT) -> dict:
    return {
        "request_id": "standin-" + uuid.uuid4().hex[:8],
        "output": {"choices": [{"finish_reason": "stop", "message": {"role": "assistant", "content": text}}]},
        "usage": {"input_tokens": 5, "output_tokens": 8, "total_tokens": 13},
    }


def _anthropic_events(model: str) -> List[str]:
    """The Anthropic Messages streaming events for REPLY_TEXT, as ``event:``/``data:`` SSE records."""
    words = REPLY_TEXT.split(" ")
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


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, every keep-alive
    # request after the first would wait ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # silence the default stderr logging
        pass

    # ------------------------------------------------------------------ plumbing

    def _record(self, kind: str, body: Any = None) -> None:
        self.server.owner._add(
            Record(
                method=self.command,
                path=self.path,
                host=self.headers.get("Host", ""),
                authorization=bool(self.headers.get("Authorization")),
                kind=kind,
                body=body,
            )
        )

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            return self.rfile.read(length)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return b""

    def _send_json(self, payload: Any, status: int = 200) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_sse(self, events: List[str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for event in events:
            self.wfile.write(event.encode())
            self.wfile.flush()
        self.close_connection = True

    # ------------------------------------------------------------------ HTTP

    def do_GET(self) -> None:
        if self.headers.get("Upgrade", "").lower() == "websocket":
            return self._websocket()
        self._dispatch(b"")

    def do_POST(self) -> None:
        self._dispatch(self._read_body())

    do_PUT = do_DELETE = do_PATCH = do_POST

    def _dispatch(self, raw: bytes) -> None:
        path = self.path.split("?", 1)[0]
        content_type = self.headers.get("Content-Type", "")
        body: Any = None
        if raw and "json" in content_type:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        self._record("http", body if body is not None else (len(raw) if raw else None))
        if self.server.owner.status != 200:
            return self._send_json({"code": "StandInError", "message": "stand-in configured to fail"}, self.server.owner.status)
        handler = self._route(path)
        handler(path, body or {})

    def _route(self, path: str) -> Callable[[str, dict], None]:
        if path.endswith("/chat/completions"):
            return self._openai_chat
        if path.endswith("/models"):
            return lambda p, b: self._send_json({"object": "list", "data": [{"id": "qwen-plus", "object": "model", "created": 0, "owned_by": "standin"}]})
        if path.endswith("/embeddings") and "compatible-mode" in path:
            return self._openai_embeddings
        if path.endswith("/messages"):
            return self._anthropic_messages
        if "/services/aigc/text-generation/" in path or "/services/aigc/multimodal-generation/" in path:
            return self._generation
        if "/services/embeddings/" in path:
            return lambda p, b: self._send_json({"request_id": "standin", "output": {"embeddings": [{"text_index": 0, "embedding": [0.1, 0.2, 0.3]}]}, "usage": {"total_tokens": 3}})
        if "/services/aigc/text2image/" in path or "/services/aigc/image2image/" in path:
            return lambda p, b: self._send_json({"request_id": "standin", "output": {"task_id": "standin-task", "task_status": "PENDING"}})
        if "/tasks/" in path:
            return lambda p, b: self._send_json({"request_id": "standin", "output": {"task_id": path.rsplit("/", 1)[-1], "task_status": "SUCCEEDED", "results": [{"url": "http://127.0.0.1/standin.png"}]}, "usage": {"image_count": 1}})
        if path.endswith("/completion") and "/apps/" in path:
            return lambda p, b: self._send_json({"request_id": "standin", "output": {"text": REPLY_TEXT, "finish_reason": "stop", "session_id": "standin"}, "usage": {"models": [{"model_id": "qwen-plus", "input_tokens": 1, "output_tokens": 2}]}})
        if path.endswith("/uploads"):
            return self._upload_policy
        return lambda p, b: self._send_json({"ok": True, "path": p})

    def _openai_chat(self, path: str, body: dict) -> None:
        model = body.get("model", "qwen-plus")
        if body.get("stream"):
            events = [f"data: {json.dumps(c)}\n\n" for c in _chat_chunks(model)] + ["data: [DONE]\n\n"]
            return self._send_sse(events)
        self._send_json(_chat_completion(model))

    def _openai_embeddings(self, path: str, body: dict) -> None:
        self._send_json({"object": "list", "model": body.get("model", "text-embedding-v3"), "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}], "usage": {"prompt_tokens": 1, "total_tokens": 1}})

    def _anthropic_messages(self, path: str, body: dict) -> None:
        if body.get("stream"):
            return self._send_sse(_anthropic_events(body.get("model", "qwen-plus")))
        self._send_json({"id": "msg_standin", "type": "message", "role": "assistant", "model": body.get("model", "qwen-plus"), "content": [{"type": "text", "text": REPLY_TEXT}], "stop_reason": "end_turn", "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 8}})

    def _generation(self, path: str, body: dict) -> None:
        streaming = self.headers.get("X-DashScope-SSE", "").lower() == "enable" or "text/event-stream" in self.headers.get("Accept", "")
        if not streaming:
            return self._send_json(_generation())
        events = []
        for i, word in enumerate(REPLY_TEXT.split(" ")):
            payload = _generation(word + " ")
            payload["output"]["choices"][0]["finish_reason"] = "null"
            events.append(f"id:{i + 1}\nevent:result\n:HTTP_STATUS/200\ndata:{json.dumps(payload)}\n\n")
        final = _generation("")
        events.append(f"id:{len(events) + 1}\nevent:result\n:HTTP_STATUS/200\ndata:{json.dumps(final)}\n\n")
        self._send_sse(events)

    def _upload_policy(self, path: str, body: dict) -> None:
        owner = self.server.owner
        self._send_json({"request_id": "standin", "data": {
            "policy": "p", "signature": "s", "upload_dir": "standin-dir", "upload_host": owner.upload_host or owner.url + "/oss-upload",
            "expire_in_seconds": 300, "max_file_size_mb": 100, "capacity_limit_mb": 999, "oss_access_key_id": "ak",
            "x_oss_object_acl": "private", "x_oss_forbid_overwrite": "true"}})

    # ------------------------------------------------------------------ WebSocket

    def _websocket(self) -> None:
        key = self.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()
        self._record("websocket")
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        ws = _WebSocket(self.rfile, self.wfile)
        try:
            if "/realtime" in self.path:
                _serve_realtime(ws)
            else:
                _serve_inference(ws)
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


def _serve_inference(ws: _WebSocket) -> None:
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
                ws.send({"header": {"task_id": task_id, "event": "result-generated", "attributes": {}}, "payload": {"output": {"sentence": {"begin_time": 0, "end_time": 1000, "text": REPLY_TEXT, "words": []}}, "usage": {"duration": 1}}})
            ws.send({"header": {"task_id": task_id, "event": "task-finished", "attributes": {}}, "payload": {"output": {}, "usage": {}}})


def _serve_realtime(ws: _WebSocket) -> None:
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
            ws.send({"type": "response.audio_transcript.delta", "event_id": "e3", "response_id": "resp_standin", "delta": REPLY_TEXT})
            ws.send({"type": "response.done", "event_id": "e4", "response": {"id": "resp_standin", "status": "completed", "usage": {}}})
        elif kind == "session.finish":
            ws.send({"type": "session.finished", "event_id": "e5"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: StandIn


class _Server6(_Server):
    address_family = socket.AF_INET6


class StandIn:
    """A running stand-in endpoint. Use as a context manager or call :meth:`close`.

    ``status`` (default 200) makes every HTTP request fail with that status, for
    fault tests. ``upload_host`` overrides the OSS ``upload_host`` returned in the
    upload policy (the default is this server's ``/oss-upload``).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, status: int = 200, upload_host: Optional[str] = None) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the stand-in only binds to loopback")
        server_type = _Server6 if ":" in host else _Server
        self._server = server_type((host, port), _Handler)
        self._server.owner = self
        self.status = status
        self.upload_host = upload_host
        self._records: List[Record] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="dashscope-private-standin", daemon=True)
        self._thread.start()

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def netloc(self) -> str:
        from .routing import format_netloc

        return format_netloc(self.host, self.port)

    @property
    def url(self) -> str:
        return f"http://{self.netloc}"

    def _add(self, record: Record) -> None:
        with self._lock:
            self._records.append(record)

    @property
    def records(self) -> List[Record]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
