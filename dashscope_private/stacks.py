"""What this package does for each HTTP stack a program may use: the table ``doctor`` shows.

Pure data plus a scan of installed distributions' metadata: nothing here
imports the libraries it describes (importing them would activate us and cost
seconds). Three levels of coverage:

``redirected``   an integration rewrites the stack's URLs to the endpoint
                 (and strict mode refuses unredirected public hosts there);
``strict-only``  nothing redirects it, but it resolves names through Python's
                 ``socket`` module, so strict mode's net refuses public hosts;
``not covered``  it resolves names (or tunnels) in C: neither applies.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, Iterable, List, Optional

__all__ = ["REDIRECTED", "STRICT_ONLY", "NOT_COVERED", "STACKS", "STDLIB_STACKS", "installed_stacks", "stdlib_integrations", "stdlib_version"]

REDIRECTED = "redirected"
STRICT_ONLY = "strict-only"
NOT_COVERED = "not covered"

#: Words for each level, as doctor prints them.
MEANING = {
    REDIRECTED: "redirected",
    STRICT_ONLY: "not redirected; blocked in strict mode only (its name lookups meet the net)",
    NOT_COVERED: "not covered",
}

#: distribution name -> (coverage, integration name or None, note)
STACKS: Dict[str, tuple] = {
    "openai": (REDIRECTED, "openai", "clients, per-request URLs and WebSocket connection managers"),
    "dashscope": (REDIRECTED, "dashscope", "URL globals and the 2.x Client; the rest through its transports"),
    "requests": (REDIRECTED, "requests", ""),
    "httpx": (REDIRECTED, "httpx", ""),
    "httpx2": (REDIRECTED, "httpx2", ""),
    "aiohttp": (REDIRECTED, "aiohttp", "HTTP and ws_connect"),
    "websocket-client": (REDIRECTED, "websocket-client", ""),
    "websockets": (REDIRECTED, "websockets", "asyncio, sync and legacy clients"),
    "urllib3": (REDIRECTED, "urllib3", "PoolManager, ProxyManager, urllib3.request"),
    "dspy": (REDIRECTED, "dspy", "its bundled lm15 client"),
    "httplib2": (REDIRECTED, "urllib", "through http.client: same scheme only (a connection cannot switch TLS)"),
    "tornado": (STRICT_ONLY, None, "its own HTTP client; resolves through socket.getaddrinfo"),
    "twisted": (STRICT_ONLY, None, "its own HTTP client; resolves through socket.getaddrinfo in a thread"),
    "treq": (STRICT_ONLY, None, "built on Twisted"),
    "niquests": (STRICT_ONLY, None, "its own HTTP stack (urllib3-future); resolves through socket"),
    "pycurl": (NOT_COVERED, None, "libcurl resolves names and connects in C"),
    "curl-cffi": (NOT_COVERED, None, "libcurl resolves names and connects in C"),
    "grpcio": (NOT_COVERED, None, "gRPC's C core resolves names itself"),
    "uvloop": (NOT_COVERED, None, "its event loop resolves in C: asyncio lookups bypass the net (the stacks above still redirect)"),
    # Not HTTP stacks, but ways around strict mode's net (README, "What is not covered").
    "pysocks": (NOT_COVERED, None, "a SOCKS proxy resolves the name itself: the net sees only the proxy's address"),
    "dnspython": (NOT_COVERED, None, "speaks DNS itself: a plain-HTTP connection to the IP it returns is not seen (TLS is, by server name)"),
    "aiodns": (NOT_COVERED, None, "c-ares resolves in C: a plain-HTTP connection to the IP it returns is not seen (TLS is, by server name)"),
    "pycares": (NOT_COVERED, None, "c-ares resolves in C: a plain-HTTP connection to the IP it returns is not seen (TLS is, by server name)"),
}

#: Always present: the standard library.
STDLIB_STACKS: Dict[str, tuple] = {
    "urllib.request": (REDIRECTED, "urllib", "the scheme may change (https -> http endpoint)"),
    "http.client": (REDIRECTED, "urllib", "same scheme only: a connection object cannot switch TLS; refused in strict mode otherwise"),
    "socket / asyncio": (STRICT_ONLY, None, "raw connections: strict mode's net refuses public hosts at name lookup"),
}


def stdlib_integrations() -> frozenset:
    """Integrations that patch the standard library (``urllib``: ``urllib.request`` and ``http.client``).

    They have no distribution to look up: they are always present, at the
    interpreter's version. Read from ``STDLIB_STACKS``, so a new stdlib row names
    its integration in one place.
    """
    return frozenset(integration for _coverage, integration, _note in STDLIB_STACKS.values() if integration)


def stdlib_version() -> str:
    """How doctor shows the version of a standard-library stack: ``stdlib 3.11``."""
    import sys

    return "stdlib " + ".".join(map(str, sys.version_info[:2]))


def _normalize(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def installed_stacks(distributions: Optional[Iterable[tuple]] = None) -> List[dict]:
    """The known HTTP stacks installed here, from package metadata: name, version, coverage, integration, note.

    ``distributions`` (``(name, version)`` pairs) is for tests; by default the
    environment's own distributions are read, without importing any of them.
    """
    if distributions is None:
        from importlib import metadata

        distributions = ((d.metadata["Name"] or "", d.version) for d in metadata.distributions())
    found: Dict[str, str] = {}
    for name, version in distributions:
        key = _normalize(name or "")
        if key in STACKS and key not in found:
            found[key] = version
    rows = [
        {"name": name, "version": stdlib_version(), "coverage": coverage, "integration": integration, "note": note}
        for name, (coverage, integration, note) in STDLIB_STACKS.items()
    ]
    for name in sorted(found):
        coverage, integration, note = STACKS[name]
        rows.append({"name": name, "version": found[name], "coverage": coverage, "integration": integration, "note": note})
    return rows
