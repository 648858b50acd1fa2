"""Strict mode's process-level net: no code can resolve, connect or tunnel to a public Model Studio host.

The integrations redirect (or refuse) URLs in the libraries they know. Code
they do not know (a vendored HTTP client, raw sockets, a library added next
year) still has to hand a host name to the socket layer, name it in TLS, or
ask a proxy to reach it. So in strict mode, and while the configuration is
invalid (fail closed), these choke points refuse a public Model Studio host
that is not redirected, before any packet leaves:

- every name-taking entry point of ``socket``: ``getaddrinfo``, ``gethostbyname(_ex)``,
  ``gethostbyaddr``, ``getnameinfo`` (and ``_socket``'s but ``getaddrinfo``), and the socket
  methods whose address is resolved in C (``connect``, ``connect_ex``,
  ``bind``, ``sendto``, ``sendmsg``); a re-imported copy of ``socket``
  (eventlet's ``patcher.original``) is guarded as it loads;
- the name a TLS ClientHello carries (``SSLContext._wrap_socket``/``_wrap_bio``,
  under ``wrap_socket``, ``wrap_bio`` and asyncio), even towards an IP address;
- the asyncio loop's ``getaddrinfo``, refused before the executor;
- proxies, which resolve nothing locally: ``http.client``'s ``set_tunnel`` and
  absolute-form ``putrequest``, and httpcore/httpcore2 pools with a proxy;
- gevent's and eventlet's replacements of all this (:mod:`._egress_green`, installed with it by activation).

A redirected host itself (``dashscope.aliyuncs.com``) is refused too: if it is
being resolved, it was not redirected. The endpoint, the allow list, other
hosts, IP literals and anything that is not a str or bytes host pass untouched,
to the original with the very same arguments. Not covered: C code that
resolves names itself (pycurl, grpc, uvloop), ``_socket.socket`` used directly.

Installed only in strict or fail-closed mode (costs nothing otherwise); a
harmless host costs one dictionary lookup in the router's decision cache.
"""

from __future__ import annotations

import _socket
import socket
import sys

from . import _state
from ._state import on_import
from ._patching import Patcher
from .errors import PublicEgressBlocked
from .routing import PASS, normalize_host, split_url

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Callable, Dict, List, Tuple

    Factory = Callable[[Any], Callable[..., Any]]

__all__ = [
    "install", "uninstall", "installed", "check_host", "patch", "watch",
    "guard_socket_module", "guard_socket_class", "guard_lookups", "guard_nameinfo", "guard_ssl",
]

_HINT = (
    "it is a public Model Studio host and strict mode is on; this code reaches it by a path "
    "dashscope-private does not redirect (a name lookup, a socket address, a TLS server name or a proxy). "
    "Send the request through a supported client, add the host to DASHSCOPE_PRIVATE_ALLOW to permit it, "
    "or unset DASHSCOPE_PRIVATE_STRICT"
)

#: Everything the net patched, undone like every integration's patches (``_patching.Patcher``).
_net = Patcher("strict-net")
#: True while installed. Copies of our guards that others keep (gevent's ``monkey.saved``, a
#: ``from socket import getaddrinfo``) pass straight through once the net is taken away.
_on = False
_MARK = "_dashscope_private_net"
_INET = tuple(getattr(socket, f, -1) for f in ("AF_INET", "AF_INET6"))
LOOKUPS = ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr")
#: socket method -> positions of its arguments (after ``self``) that may be an address
_ADDRESS_ARGS: Dict[str, Tuple[int, ...]] = {"connect": (0,), "connect_ex": (0,), "bind": (0,), "sendto": (1, 2), "sendmsg": (3,)}
_HOST_KEYWORDS = ("host", "hostname", "name", "ip_address")


def check_host(host: object) -> None:
    """Raise :class:`PublicEgressBlocked` (or the configuration error) when ``host`` must not be reached."""
    router = _state._router
    if router is None or not _on or not host:
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
    try:
        if router.decide(name) == PASS:  # raises for blocked hosts itself
            return
    except Exception:
        _record_block(name)
        raise
    _record_block(name)
    raise PublicEgressBlocked(name, "", _HINT)


def _record_block(name: str) -> None:
    """The audit trail (``_audit``) hears of a refusal by the net, labelled ``strict-net``."""
    recorder = _state._recorder
    if recorder is not None:
        recorder.blocked(name, "strict-net")


def _check_address(sock: object, address: object) -> None:
    """Judge the host of an AF_INET/AF_INET6 ``(host, port, ...)`` address; anything else passes."""
    if not isinstance(address, tuple) or not address or not isinstance(address[0], (str, bytes, bytearray)):
        return
    router = _state._router
    if router is None or (type(address[0]) is str and router._cache.get(address[0]) == PASS):
        return
    try:
        family = sock.family  # type: ignore[attr-defined]
    except Exception:  # a closed or odd socket: the original raises what it raises
        return
    if family in _INET:
        check_host(address[0])


# ------------------------------------------------------------------ guards (factories of replacements)


def guard_lookups(offset: int = 0) -> Factory:
    """A lookup taking the host first (``offset=1``: a method, after ``self``)."""

    def factory(original: Any) -> Callable[..., Any]:
        def lookup(*args: Any, **kwargs: Any) -> Any:
            if len(args) > offset:
                host = args[offset]
                router = _state._router
                if router is not None and not (host.__class__ is str and router._cache.get(host) == PASS):
                    check_host(host)
            elif _on:
                check_host(next((kwargs[k] for k in _HOST_KEYWORDS if k in kwargs), None))
            if kwargs:
                return original(*args, **kwargs)
            return original(*args)

        return lookup

    return factory


def guard_nameinfo(offset: int = 0) -> Factory:
    """``getnameinfo(sockaddr, flags)``: the host inside the address."""

    def factory(original: Any) -> Callable[..., Any]:
        def getnameinfo(*args: Any, **kwargs: Any) -> Any:
            sockaddr = args[offset] if len(args) > offset else kwargs.get("sockaddr")
            if _on and isinstance(sockaddr, tuple) and sockaddr:
                check_host(sockaddr[0])
            return original(*args, **kwargs)

        return getnameinfo

    return factory


def _guard_address(*positions: int) -> Factory:
    """A socket method with an address at one of ``positions`` (after ``self``), or ``address=``."""

    def factory(original: Any) -> Callable[..., Any]:
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            router = _state._router
            if _on and router is not None:
                for i in positions:
                    if len(args) > i:
                        address = args[i]  # the fast path: ("127.0.0.1", port), a name judged harmless
                        if not (address.__class__ is tuple and address and address[0].__class__ is str and router._cache.get(address[0]) == PASS):
                            _check_address(self, address)
                if kwargs:
                    _check_address(self, kwargs.get("address", kwargs.get("addr")))
            if kwargs:
                return original(self, *args, **kwargs)
            return original(self, *args)

        return method

    return factory


def _guard_server_name(position: int) -> Factory:
    """``SSLContext._wrap_socket(sock, server_side, server_hostname)`` / ``_wrap_bio(in, out, side, name)``."""

    def factory(original: Any) -> Callable[..., Any]:
        def wrap(self: Any, *args: Any, **kwargs: Any) -> Any:
            check_host(args[position] if len(args) > position else kwargs.get("server_hostname"))
            return original(self, *args, **kwargs)

        return wrap

    return factory


def _guard_loop_getaddrinfo(original: Any) -> Callable[..., Any]:
    async def getaddrinfo(self, host, *args, **kwargs):  # type: ignore[no-untyped-def]
        check_host(host)
        return await original(self, host, *args, **kwargs)

    return getaddrinfo


def _guard_set_tunnel(original: Any) -> Callable[..., Any]:
    def set_tunnel(self, host, *args, **kwargs):  # type: ignore[no-untyped-def]
        parts = split_url("http://" + host) if isinstance(host, str) else None  # host may carry ":port"
        check_host(parts[2] if parts is not None else host)
        return original(self, host, *args, **kwargs)

    return set_tunnel


def _guard_putrequest(original: Any) -> Callable[..., Any]:
    """An absolute-form target (``GET http://host/...``) is for a proxy, which resolves it itself."""

    def putrequest(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
        if _on and isinstance(url, str) and url[:1] != "/":
            parts = split_url(url)
            if parts is not None:
                check_host(parts[2])
        return original(self, method, url, *args, **kwargs)

    return putrequest


def _proxied_host(pool: object, args: tuple, kwargs: dict) -> object:
    """The request's host when ``pool`` sends through a proxy (``proxy=``, ``HTTPProxy``, ``SOCKSProxy``)."""
    if getattr(pool, "_proxy", None) is None and getattr(pool, "_proxy_url", None) is None:
        return None
    request = args[0] if args else kwargs.get("request")
    return getattr(getattr(request, "url", None), "host", None)


def _guard_pool(original: Any) -> Callable[..., Any]:
    def handle_request(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _on:
            check_host(_proxied_host(self, args, kwargs))
        return original(self, *args, **kwargs)

    return handle_request


def _guard_async_pool(original: Any) -> Callable[..., Any]:
    async def handle_async_request(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _on:
            check_host(_proxied_host(self, args, kwargs))
        return await original(self, *args, **kwargs)

    return handle_async_request


# ------------------------------------------------------------------ patching


def _is_ours(value: object) -> bool:
    return getattr(value, _MARK, False) is True


def _wraps_ours(value: object) -> bool:
    for _ in range(8):  # someone else's wrapper around ours (it sets __wrapped__): already guarded
        value = getattr(value, "__wrapped__", None)
        if value is None:
            return False
        if _is_ours(value):
            return True
    return False


def patch(owner: object, name: str, factory: Factory) -> None:
    """Replace ``owner.name`` with ``factory(original)``; idempotent, recorded for :func:`uninstall`.

    A guard of ours found where we did not put it (gevent copies ``gevent.socket``'s guarded
    functions into ``socket``) is recorded too, so that undo puts back what it wraps.
    """
    if owner is None:
        return
    current = getattr(owner, name, None)
    if current is None:
        return
    if _is_ours(current):
        if not isinstance(owner, type) or name in vars(owner):
            _net.adopt(owner, name, current.__wrapped__, current)
        return
    if _wraps_ours(current):
        return
    ours: Any = factory(current)
    ours.__wrapped__ = current
    ours.__name__ = getattr(current, "__name__", name)
    ours.__qualname__ = getattr(current, "__qualname__", name)
    ours.__doc__ = getattr(current, "__doc__", None)
    setattr(ours, _MARK, True)
    try:
        _net.apply(owner, name, current, ours)
    except (TypeError, AttributeError):  # an immutable C type (_socket.socket): nothing to hook there
        return


def guard_socket_class(cls: object) -> None:
    """The methods of a socket class whose address the C layer would resolve."""
    if isinstance(cls, type):
        for name, positions in _ADDRESS_ARGS.items():
            patch(cls, name, _guard_address(*positions))


def guard_socket_module(module: object) -> None:
    """``socket``, ``_socket``, a re-imported copy of ``socket``, or a green replacement of it."""
    for name in LOOKUPS:
        patch(module, name, guard_lookups())
    patch(module, "getnameinfo", guard_nameinfo())
    guard_socket_class(getattr(module, "socket", None))


def guard_ssl(module: object) -> None:
    context = getattr(module, "SSLContext", None)
    patch(context, "_wrap_socket", _guard_server_name(2))
    patch(context, "_wrap_bio", _guard_server_name(3))


def _guard_asyncio(module: object) -> None:
    patch(getattr(module, "BaseEventLoop", None), "getaddrinfo", _guard_loop_getaddrinfo)


def _guard_http_client(module: object) -> None:
    connection = getattr(module, "HTTPConnection", None)
    patch(connection, "set_tunnel", _guard_set_tunnel)
    patch(connection, "putrequest", _guard_putrequest)


def _guard_httpcore(module: object) -> None:
    patch(getattr(module, "ConnectionPool", None), "handle_request", _guard_pool)
    patch(getattr(module, "AsyncConnectionPool", None), "handle_async_request", _guard_async_pool)


def installed() -> bool:
    return _net.active


def watch(module_name: str, guard: Callable[[Any], None]) -> None:
    """Run ``guard(module)`` now if ``module_name`` is loaded, and each time it is (re-)imported.

    Called now even while the module's import is finishing: activation itself may run in the
    post-import hook of that very import (the first ``import socket`` or ``http.client``), and
    a hook registered from inside another hook does not run for the import under way.
    """
    module = sys.modules.get(module_name)
    if module is not None:
        try:
            guard(module)
        except Exception as exc:
            _state.report_failure("strict-net", module_name, exc)
    on_import("strict-net", module_name, guard)


def install() -> None:
    """Put the net in place (idempotent); the other modules are guarded when (and each time) they load."""
    global _on
    _on = True
    for name in LOOKUPS[1:]:  # gevent's thread resolver calls these; socket.getaddrinfo calls _socket's,
        patch(_socket, name, guard_lookups())  # which is left alone so that no lookup is judged twice
    patch(_socket, "getnameinfo", guard_nameinfo())
    for module_name, guard in (
        ("socket", guard_socket_module),  # also the fresh copy eventlet's patcher.original() imports
        ("__original_module_socket", guard_socket_module),  # that copy, made before the net was installed
        ("ssl", guard_ssl),
        ("asyncio.base_events", _guard_asyncio),
        ("http.client", _guard_http_client),
        ("httpcore", _guard_httpcore),
        ("httpcore2", _guard_httpcore),
    ):
        watch(module_name, guard)


def uninstall() -> None:
    """Take the net away; a function someone else wrapped on top of ours is left in place."""
    global _on
    _on = False
    _net.undo()
