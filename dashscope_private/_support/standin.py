"""A loopback stand-in for a DashScope private endpoint, stdlib only.

``dashscope-private demo`` and the test suite start it to show and prove where
requests land, on a machine with no VPC. It speaks enough of each API for the
real SDKs to complete a call (``standin_http``: HTTP and SSE; ``standin_ws``:
``/api-ws/v1/inference`` and ``/api-ws/v1/realtime``). Every request is
recorded (method, path, Host header, whether it carried an Authorization
header) so callers can check the route it took.

It binds to 127.0.0.1 (or ::1) only and serves nothing else.
"""

from __future__ import annotations

import socket
import threading
from http.server import ThreadingHTTPServer

from .standin_http import FAMILIES, Handler, Record
from .standin_payloads import REPLY_TEXT

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Iterable, List, Optional

__all__ = ["StandIn", "Record", "REPLY_TEXT", "FAMILIES"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: StandIn


class _Server6(_Server):
    address_family = socket.AF_INET6


class StandIn:
    """A running stand-in endpoint. Use as a context manager or call :meth:`close`.

    ``status`` (default 200) makes every HTTP request fail with that status, for
    fault tests. ``reply_text`` (default ``REPLY_TEXT``) is what every answer says,
    so a test can answer in the format a framework parses. ``upload_host`` overrides the OSS ``upload_host`` returned in the
    upload policy (the default is this server's ``/oss-upload``). ``not_served`` names API families
    (of :data:`FAMILIES`) answered with 404, as an endpoint that does not offer them would.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, status: int = 200, upload_host: Optional[str] = None, reply_text: str = REPLY_TEXT, not_served: Iterable[str] = ()) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the stand-in only binds to loopback")
        self.not_served = frozenset(not_served)
        unknown = self.not_served - set(FAMILIES)
        if unknown:
            raise ValueError(f"unknown API famil{'ies' if len(unknown) > 1 else 'y'} {', '.join(sorted(unknown))}; choose from {', '.join(FAMILIES)}")
        server_type = _Server6 if ":" in host else _Server
        self._server = server_type((host, port), Handler)
        self._server.owner = self
        self.status = status
        self.upload_host = upload_host
        self.reply_text = reply_text
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
        from ..routing import format_netloc

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
