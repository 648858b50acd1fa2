"""The stand-in's HTTP side: one request handler that records every request and answers it.

OpenAI-compatible chat (plain and SSE), models, embeddings, files and batches; DashScope's
native generation (plain and SSE), multimodal, embeddings, async tasks,
applications and the OSS upload policy; the Anthropic-compatible messages API
(plain and SSE). A WebSocket upgrade is handed to ``standin_ws``.

Each path belongs to one API family (:func:`family_of`, the names ``doctor --probe``
reports); a family the stand-in was told not to serve answers 404, as an endpoint
that does not offer it would.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

from . import standin_ws
from .standin_payloads import anthropic_events, chat_chunks, chat_completion, generation

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Callable, List, Optional

    from .standin import _Server

__all__ = ["Handler", "Record", "FAMILIES", "family_of"]

#: The API families, as ``doctor --probe`` names them.
FAMILIES = ("chat", "generation", "ws-inference", "realtime", "files", "batches", "uploads", "anthropic")


def family_of(path: str) -> Optional[str]:
    """The API family a request path (query allowed) belongs to, or ``None`` for paths of no family."""
    parts = path.split("?", 1)[0].split("/")
    if len(parts) < 3:
        return None
    if parts[1] == "compatible-mode":
        return parts[3] if len(parts) > 3 and parts[3] in ("files", "batches") else "chat"
    if parts[1:3] == ["apps", "anthropic"]:
        return "anthropic"
    if parts[1] == "api-ws":
        return "realtime" if len(parts) > 3 and parts[3] == "realtime" else "ws-inference"
    if parts[1] == "api":
        return "uploads" if len(parts) > 3 and parts[3] == "uploads" else "generation"
    return None


class Record(dict):
    """One request as the stand-in saw it: ``method, path, host, authorization, kind, body, headers``."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class Handler(BaseHTTPRequestHandler):
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
                headers=dict(self.headers.items()),
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

    def _not_served(self) -> bool:
        """Answer 404 (and say so) when the path's family is one the stand-in was told not to serve."""
        if family_of(self.path) not in self.server.owner.not_served:
            return False
        self._send_json({"code": "NotFound", "message": f"{self.path.split('?', 1)[0]} is not served here"}, 404)
        return True

    def do_GET(self) -> None:
        if self.headers.get("Upgrade", "").lower() == "websocket":
            if self._not_served():
                return self._record("websocket-refused")
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
        if self._not_served():
            return
        if self.server.owner.status != 200:
            return self._send_json({"code": "StandInError", "message": "stand-in configured to fail"}, self.server.owner.status)
        handler = self._route(path)
        handler(path, body or {})

    def _route(self, path: str) -> Callable[[str, dict], None]:
        if path.endswith("/chat/completions"):
            return self._openai_chat
        if family_of(path) in ("files", "batches"):
            return self._files_or_batches
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
            return lambda p, b: self._send_json({"request_id": "standin", "output": {"text": self.server.owner.reply_text, "finish_reason": "stop", "session_id": "standin"}, "usage": {"models": [{"model_id": "qwen-plus", "input_tokens": 1, "output_tokens": 2}]}})
        if path.endswith("/uploads"):
            return self._upload_policy
        return lambda p, b: self._send_json({"ok": True, "path": p})

    def _openai_chat(self, path: str, body: dict) -> None:
        model = body.get("model", "qwen-plus")
        if body.get("stream"):
            events = [f"data: {json.dumps(c)}\n\n" for c in chat_chunks(model, self.server.owner.reply_text)] + ["data: [DONE]\n\n"]
            return self._send_sse(events)
        self._send_json(chat_completion(model, self.server.owner.reply_text))

    def _files_or_batches(self, path: str, body: dict) -> None:
        """The file and batch lists (empty), and one object for any other files or batches request."""
        kind = family_of(path)
        if path.rstrip("/").endswith(("/files", "/batches")) and self.command == "GET":
            return self._send_json({"object": "list", "data": [], "has_more": False})
        if kind == "files":
            return self._send_json({"id": "file-standin", "object": "file", "bytes": 0, "created_at": 0, "filename": "standin.jsonl", "purpose": "batch", "status": "processed"})
        self._send_json({"id": "batch_standin", "object": "batch", "endpoint": "/v1/chat/completions", "status": "validating", "input_file_id": "file-standin", "completion_window": "24h", "created_at": 0})

    def _openai_embeddings(self, path: str, body: dict) -> None:
        self._send_json({"object": "list", "model": body.get("model", "text-embedding-v3"), "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}], "usage": {"prompt_tokens": 1, "total_tokens": 1}})

    def _anthropic_messages(self, path: str, body: dict) -> None:
        if body.get("stream"):
            return self._send_sse(anthropic_events(body.get("model", "qwen-plus"), self.server.owner.reply_text))
        self._send_json({"id": "msg_standin", "type": "message", "role": "assistant", "model": body.get("model", "qwen-plus"), "content": [{"type": "text", "text": self.server.owner.reply_text}], "stop_reason": "end_turn", "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 8}})

    def _generation(self, path: str, body: dict) -> None:
        streaming = self.headers.get("X-DashScope-SSE", "").lower() == "enable" or "text/event-stream" in self.headers.get("Accept", "")
        text = self.server.owner.reply_text
        if not streaming:
            return self._send_json(generation(text))
        events = []
        for i, word in enumerate(text.split(" ")):
            payload = generation(word + " ")
            payload["output"]["choices"][0]["finish_reason"] = "null"
            events.append(f"id:{i + 1}\nevent:result\n:HTTP_STATUS/200\ndata:{json.dumps(payload)}\n\n")
        final = generation("")
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
        self._record("websocket")
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", standin_ws.accept_key(self.headers.get("Sec-WebSocket-Key", "")))
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        standin_ws.serve(self.path, self.rfile, self.wfile, self.server.owner.reply_text)
