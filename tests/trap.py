"""A loopback proxy that records and refuses everything: the tests' safety net.

The test session points ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` at it (with
loopback in ``NO_PROXY``). A request that dashscope-private failed to redirect
then reaches this trap on 127.0.0.1 instead of the internet, and the autouse
check in ``conftest.py`` fails the test. Requests the plugin redirects bypass
it, because activation adds the endpoint host to ``NO_PROXY``.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, format, *args):  # noqa: A002
        pass

    def _refuse(self):
        self.server.trap.add((self.command, self.path, self.headers.get("Host", "")))
        self.send_response(403, "dashscope-private test trap")
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_CONNECT = _refuse


class Trap:
    def __init__(self):
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.trap = self
        self._records = []
        self._lock = threading.Lock()
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, record):
        with self._lock:
            self._records.append(record)

    def take(self):
        """Return and forget what reached the trap."""
        with self._lock:
            records, self._records = self._records, []
        return records

    def close(self):
        self._server.shutdown()
        self._server.server_close()
