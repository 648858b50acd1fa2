"""doctor's network checks on the endpoint: name lookup, TCP connect, one HTTP request.

Each returns plain values (never raises for a network failure): the report
records what happened, the renderer decides how to say it.
"""

from __future__ import annotations

import os
import socket
import time

from .. import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List, Optional, Tuple

__all__ = ["is_private_address", "resolve", "tcp_connect", "probe"]

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


def probe(scheme: str, host: str, port: int, timeout: float = 10.0) -> dict:
    """One GET /compatible-mode/v1/models, directly (never through a proxy)."""
    import http.client

    connection_type = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    headers = {"User-Agent": f"dashscope-private-doctor/{__version__}"}
    key = os.environ.get("DASHSCOPE_API_KEY")
    if key:
        headers["Authorization"] = f"Bearer {key}"
    start = time.perf_counter()
    try:
        connection = connection_type(host, port, timeout=timeout)
        connection.request("GET", "/compatible-mode/v1/models", headers=headers)
        response = connection.getresponse()
        response.read()
        connection.close()
    except (OSError, http.client.HTTPException) as exc:
        return {"ok": False, "error": str(exc)}
    latency = (time.perf_counter() - start) * 1000
    # Any HTTP answer proves the path; 401/403 only says the key is missing or wrong.
    return {"ok": response.status < 500, "status": response.status, "latency_ms": round(latency, 1), "api_key_sent": bool(key)}
