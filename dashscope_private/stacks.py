"""What this package does for each HTTP stack a program may use: the table ``doctor`` shows.

The stacks our integrations patch come from the registry in ``config`` (their ``covers``); the
rest, stacks we do not patch and ways around strict mode's net, are listed here.

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

from .registry import INTEGRATIONS, STDLIB

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, Iterable, List, Optional

__all__ = ["REDIRECTED", "STRICT_ONLY", "NOT_COVERED", "STACKS", "OTHER_STACKS", "STDLIB_STACKS", "installed_stacks", "stdlib_version"]

REDIRECTED = "redirected"
STRICT_ONLY = "strict-only"
NOT_COVERED = "not covered"

#: Words for each level, as doctor prints them.
MEANING = {
    REDIRECTED: "redirected",
    STRICT_ONLY: "not redirected; blocked in strict mode only (its name lookups meet the net)",
    NOT_COVERED: "not covered",
}

#: Stacks no integration of ours patches: distribution name -> (coverage, integration or None, note).
OTHER_STACKS: Dict[str, tuple] = {
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

#: distribution name -> (coverage, integration name or None, note): the registry's rows, then the others.
STACKS: Dict[str, tuple] = {
    **{
        stack: (REDIRECTED, integration.name, note)
        for integration in INTEGRATIONS
        if integration.distribution != STDLIB
        for stack, note in integration.covers
    },
    **OTHER_STACKS,
}

#: Always present: the standard library (its integrations' rows, then raw sockets).
STDLIB_STACKS: Dict[str, tuple] = {
    **{
        stack: (REDIRECTED, integration.name, note)
        for integration in INTEGRATIONS
        if integration.distribution == STDLIB
        for stack, note in integration.covers
    },
    "socket / asyncio": (STRICT_ONLY, None, "raw connections: strict mode's net refuses public hosts at name lookup"),
}


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
