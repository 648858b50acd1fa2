"""doctor's network checks on an endpoint: name lookup, TCP connect, one request per API family.

Each returns plain values (never raises for a network failure): the report
records what happened, the renderer decides how to say it. Standard library only
(``socket``, ``ssl``, ``http.client``), never through a proxy.

The family probes (:data:`FAMILIES`) are minimal, harmless requests whose answer
classifies the family without an API key: a list (models, files, batches), an
upload policy, a generation or Anthropic message with an invalid body (answered
400, or 401 without a key: nothing runs), and a WebSocket handshake closed at
once. Every family of one endpoint is asked at the same time, each request with
its own timeout, and :func:`probe_families` returns by a deadline whatever happens.
"""

from __future__ import annotations

import base64
import hashlib
import http.client  # at module level: threads importing it together can see it half-initialised
import os
import socket
import threading
import time

from .. import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, List, Optional, Tuple

__all__ = ["is_private_address", "resolve", "tcp_connect", "scheme_for", "FAMILIES", "REACHED", "REFUSED", "NOT_SERVED",
           "probe_family", "probe_families", "refused_families", "FAMILY_TIMEOUT", "FAMILIES_DEADLINE"]

#: What a family probe found: the service answered as that family would; the path is not served there
#: (404, or a WebSocket path answered without an upgrade); no answer (refused, reset, timeout, TLS, 5xx).
REACHED, NOT_SERVED, REFUSED = "reached", "not served", "refused"

#: ``name: (method, path, JSON body or None, WebSocket handshake?)``, in report order.
FAMILIES = {
    "chat": ("GET", "/compatible-mode/v1/models", None, False),  # OpenAI-compatible
    "generation": ("POST", "/api/v1/services/aigc/text-generation/generation", b'{"model": "qwen-plus", "input": {}}', False),
    "ws-inference": ("GET", "/api-ws/v1/inference", None, True),
    "realtime": ("GET", "/api-ws/v1/realtime?model=qwen-omni-turbo-realtime", None, True),
    "files": ("GET", "/compatible-mode/v1/files", None, False),
    "batches": ("GET", "/compatible-mode/v1/batches", None, False),
    "uploads": ("GET", "/api/v1/uploads?action=getPolicy&model=qwen-vl-plus", None, False),
    "anthropic": ("POST", "/apps/anthropic/v1/messages", b'{"model": "qwen-plus", "max_tokens": 1, "messages": []}', False),
}
#: Seconds each family request may take (connect, and each read); all of an endpoint's run at once.
FAMILY_TIMEOUT = 4.0
#: Seconds after which :func:`probe_families` stops waiting (a server that drips bytes): with the TCP
#: check's 3 s, one route stays under 10 s.
FAMILIES_DEADLINE = 6.0
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

_PRIVATE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "::1/128", "fc00::/7")


def is_private_address(address: str) -> bool:
    """RFC 1918, carrier-grade NAT (100.64.0.0/10), loopback and IPv6 ULA: traffic that stays inside."""
    import ipaddress

    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in ipaddress.ip_network(n) for n in _PRIVATE_NETWORKS)


def resolve(host: str, port: int) -> Tuple[List[str], Optional[str]]:
    """The addresses ``host`` resolves to (sorted, unique), or ``[]`` and the error."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return [], str(exc)
    return sorted({str(info[4][0]) for info in infos}), None


def tcp_connect(host: str, port: int, timeout: float = 3.0) -> Tuple[Optional[float], Optional[str]]:
    """Milliseconds to connect, or ``None`` and the error."""
    start = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return (time.perf_counter() - start) * 1000, None
    except OSError as exc:
        return None, str(exc)


def scheme_for(endpoint: object) -> str:
    """The scheme doctor speaks to an endpoint: its own, else http for an ``ep-*.privatelink`` domain, else https."""
    scheme = getattr(endpoint, "scheme", None)
    if scheme:
        return scheme
    return "http" if getattr(endpoint, "is_privatelink_domain", False) else "https"


def _headers(json_body: bool, websocket: bool) -> Tuple[Dict[str, str], Optional[str]]:
    headers = {"User-Agent": f"dashscope-private-doctor/{__version__}"}
    key = os.environ.get("DASHSCOPE_API_KEY")
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if json_body:
        headers["Content-Type"] = "application/json"
        headers["anthropic-version"] = "2023-06-01"
    nonce = None
    if websocket:
        nonce = base64.b64encode(os.urandom(16)).decode()
        headers.update({"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": nonce, "Sec-WebSocket-Version": "13"})
    return headers, nonce


def probe_family(family: str, scheme: str, host: str, port: int, timeout: float = FAMILY_TIMEOUT) -> dict:
    """One family's request: ``{"result", "status", "error", "ms"}`` (``status`` ``None`` without an answer)."""
    method, path, body, websocket = FAMILIES[family]
    headers, nonce = _headers(body is not None, websocket)
    connection_type = http.client.HTTPSConnection if scheme in ("https", "wss") else http.client.HTTPConnection
    start = time.perf_counter()
    connection = connection_type(host, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        accept = response.getheader("Sec-WebSocket-Accept")
        if response.status != 101:
            response.read(65536)
    except (OSError, http.client.HTTPException) as exc:
        return {"result": REFUSED, "status": None, "error": str(exc) or type(exc).__name__, "ms": _ms(start)}
    finally:
        connection.close()
    status, error = response.status, None
    if status == 404:
        result, error = NOT_SERVED, f"HTTP 404: {path.split('?', 1)[0]} is not served"
    elif status >= 500:
        result, error = REFUSED, f"HTTP {status}"
    elif websocket and status == 101:
        expected = base64.b64encode(hashlib.sha1((str(nonce) + _WS_GUID).encode()).digest()).decode()
        result, error = (REACHED, None) if accept == expected else (NOT_SERVED, "HTTP 101 without a valid Sec-WebSocket-Accept")
    elif websocket and status < 400:
        result, error = NOT_SERVED, f"HTTP {status}: no WebSocket upgrade"
    else:  # 2xx, 3xx, 4xx: the API answered (401/403: the key is missing or wrong; 400: the probe's body is invalid)
        result = REACHED
    return {"result": result, "status": status, "error": error, "ms": _ms(start)}


def probe_families(scheme: str, host: str, port: int, timeout: float = FAMILY_TIMEOUT, deadline: float = FAMILIES_DEADLINE) -> Dict[str, dict]:
    """Every family at once, each in its own thread; whatever has not answered by ``deadline`` s is refused."""
    results: Dict[str, dict] = {}
    start = time.perf_counter()

    def run(family: str) -> None:
        try:
            results[family] = probe_family(family, scheme, host, port, timeout)
        except Exception as exc:  # a bug or an odd server must not take doctor down
            results[family] = {"result": REFUSED, "status": None, "error": f"{type(exc).__name__}: {exc}", "ms": _ms(start)}

    threads = [threading.Thread(target=run, args=(f,), name=f"doctor-probe-{f}", daemon=True) for f in FAMILIES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - (time.perf_counter() - start)))
    late = {"result": REFUSED, "status": None, "error": f"no answer within {deadline:g} s", "ms": round(deadline * 1000, 1)}
    return {family: dict(results.get(family, late)) for family in FAMILIES}


def refused_families(error: str, ms: float = 0.0) -> Dict[str, dict]:
    """Every family refused for one reason found before any request (no address, no TCP connection)."""
    return {family: {"result": REFUSED, "status": None, "error": error, "ms": round(ms, 1)} for family in FAMILIES}


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
