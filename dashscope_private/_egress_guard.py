"""Strict mode's process-level net: no code can resolve or tunnel to a public Model Studio host.

The integrations redirect (or refuse) URLs in the libraries they know. Code
they do not know (a vendored HTTP client, raw sockets, a library added next
year) still has to turn a host name into an address, or ask a proxy to
tunnel to it. So in strict mode, and while the configuration is invalid
(fail closed), these choke points refuse a public Model Studio host that is
not redirected, before any packet leaves:

- ``socket.getaddrinfo``, ``gethostbyname``, ``gethostbyname_ex`` (and so
  ``socket.create_connection`` and everything built on it);
- the asyncio loop's ``getaddrinfo`` (``BaseEventLoop``), refused before the
  lookup is handed to the executor;
- ``http.client.HTTPConnection.set_tunnel``: a ``CONNECT`` through an
  ``HTTPS_PROXY`` resolves nothing locally, so the lookup net cannot see it.

A redirected host itself (``dashscope.aliyuncs.com``) is refused too: if it is
being resolved, the request was not redirected. The endpoint, the allow list,
other hosts, IP literals and anything that is not a str or bytes host pass
untouched. Not covered: C code that resolves names itself (pycurl, grpc,
uvloop's resolver).

Installed only in strict or fail-closed mode (cost nothing otherwise); the
check is a dictionary lookup in the router's decision cache.
"""

from __future__ import annotations

import socket

from . import _runtime
from ._runtime import on_import
from .errors import PublicEgressBlocked
from .routing import PASS, normalize_host, split_url

__all__ = ["install", "uninstall", "check_host", "installed"]

_HINT = (
    "it is a public Model Studio host and strict mode is on; this code reaches it by a path "
    "dashscope-private does not redirect (a name lookup or a proxy tunnel). Send the request through "
    "a supported client, add the host to DASHSCOPE_PRIVATE_ALLOW to permit it, or unset DASHSCOPE_PRIVATE_STRICT"
)

#: (owner, name, original, ours) for everything patched
_applied: list = []


def check_host(host: object) -> None:
    """Raise :class:`PublicEgressBlocked` (or the configuration error) when ``host`` must not be reached."""
    router = _runtime._router
    if router is None or not host:
        return
    if type(host) is str and router._cache.get(host) == PASS:
        return  # the common case: a host already judged harmless, as spelled (no normalizing)
    if isinstance(host, (bytes, bytearray)):
        try:
            host = bytes(host).decode("ascii")
        except UnicodeDecodeError:
            return
    elif not isinstance(host, str):
        return
    if not host.isascii():
        try:  # what getaddrinfo itself would look up (IDNA, with NFKC mapping)
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return
    name = normalize_host(host)
    if router.decide(name) != PASS:  # raises for blocked hosts itself
        raise PublicEgressBlocked(name, "", _HINT)


def _guard_lookup(original):  # type: ignore[no-untyped-def]
    def lookup(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        check_host(host)
        return original(host, *args, **kwargs)

    return lookup


def _guard_loop_getaddrinfo(original):  # type: ignore[no-untyped-def]
    async def getaddrinfo(self, host, *args, **kwargs):  # type: ignore[no-untyped-def]
        check_host(host)
        return await original(self, host, *args, **kwargs)

    return getaddrinfo


def _guard_set_tunnel(original):  # type: ignore[no-untyped-def]
    def set_tunnel(self, host, *args, **kwargs):  # type: ignore[no-untyped-def]
        parts = split_url("http://" + host) if isinstance(host, str) else None  # host may carry ":port"
        check_host(parts[2] if parts is not None else host)
        return original(self, host, *args, **kwargs)

    return set_tunnel


def _patch(owner: object, name: str, factory) -> None:  # type: ignore[no-untyped-def]
    original = getattr(owner, name, None)
    if original is None or any(o is owner and n == name for o, n, _orig, _ours in _applied):
        return
    ours = factory(original)
    ours.__wrapped__ = original
    ours.__name__ = getattr(original, "__name__", name)
    ours.__doc__ = getattr(original, "__doc__", None)
    setattr(owner, name, ours)
    _applied.append((owner, name, original, ours))


def _patch_asyncio(module: object) -> None:
    _patch(module.BaseEventLoop, "getaddrinfo", _guard_loop_getaddrinfo)  # type: ignore[attr-defined]


def _patch_http_client(module: object) -> None:
    _patch(module.HTTPConnection, "set_tunnel", _guard_set_tunnel)  # type: ignore[attr-defined]


def installed() -> bool:
    return bool(_applied)


def install() -> None:
    """Put the net in place (idempotent); asyncio and http.client are patched when they load."""
    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
        _patch(socket, name, _guard_lookup)
    on_import("strict-net", "asyncio.base_events", _patch_asyncio)
    on_import("strict-net", "http.client", _patch_http_client)


def uninstall() -> None:
    """Take the net away; a function someone else wrapped on top of ours is left in place."""
    while _applied:
        owner, name, original, ours = _applied.pop()
        if getattr(owner, name, None) is ours:
            setattr(owner, name, original)
