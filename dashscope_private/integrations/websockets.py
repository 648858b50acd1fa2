"""websockets: the legacy, asyncio, sync (and trio) clients connect to the endpoint.

Every client module of websockets (``websockets.asyncio.client``,
``websockets.sync.client``, ``websockets.legacy.client``,
``websockets.trio.client``; ``websockets.client`` before 11) parses the URI
it is given with its own module-global ``parse_uri`` and, from 15 on, picks a
proxy with its own module-global ``get_proxy``. Both are replaced in each
client module's namespace, so the Host header, TLS and SNI (``wss`` becomes
``ws`` for the plain-HTTP ``ep-*`` endpoint), the proxy decision and
redirects all follow the rewritten URI; the module ``websockets.uri`` itself
is left alone. The package imports those modules lazily, so each is patched
when (if ever) it is imported.

The entry points (the ``connect``/``reconnect``/``Connect`` classes'
``__init__``, or ``connect`` where it is a function) also rewrite the URI they
are given, for one reason: a ``wss://`` URI redirected to a plain ``ws://``
endpoint makes websockets refuse an ``ssl=``/``server_hostname=`` argument
("ssl argument is incompatible with a ws:// URI"), and DashScope samples pass
an ``ssl`` context routinely. Those TLS arguments were meant for the public
host; they are dropped when, and only when, the connection was downgraded.

Proxies (websockets 15+): the endpoint is inside the VPC, so no proxy is
used for it. The environment's (``proxy=True``, the default) is skipped in
``get_proxy``; one given in code (``proxy="http://..."``) is dropped at the
entry point when the (rewritten) URI names the endpoint host, together with
the arguments meant for the proxy connection (``proxy_ssl``,
``proxy_server_hostname``, and the asyncio client's other ``proxy_*``), which
a direct connection would refuse or misuse. A URI for any other host keeps
all of them. (A redirect that reaches the endpoint from another host keeps
the connection's explicit proxy: websockets decides that after the entry
point, in code that differs from version to version.)

Checked against websockets 13.1, 14.2, 15.0.1, 16.0 and 17.4.
"""

from __future__ import annotations

from types import FunctionType, ModuleType

from .. import _log
from .._patching import Patcher
from .._state import on_import
from ._urls import is_endpoint, note_proxy_dropped, rewrite_first_argument, route_url, url_is_for_endpoint

__all__ = ["install", "uninstall"]

#: Modules with a WebSocket client, across websockets versions (absent ones are never imported).
_CLIENT_MODULES = (
    "websockets.asyncio.client",
    "websockets.sync.client",
    "websockets.legacy.client",
    "websockets.trio.client",
    "websockets.client",
)
#: Names of the public client entry points in those modules.
_ENTRY_POINTS = ("connect", "reconnect", "Connect")
#: Arguments that only make sense for TLS to the original host.
_TLS_ARGUMENTS = ("ssl", "ssl_context", "server_hostname")

_patcher = Patcher("websockets")


def _downgraded(old: object, new: object) -> bool:
    """True when the rewrite turned a ``wss://`` URI into a plain ``ws://`` one."""
    return isinstance(old, str) and isinstance(new, str) and new[:3] == "ws:" and old[:4].lower() == "wss:"


def _drop_tls_arguments(kwargs: dict) -> None:
    dropped = [name for name in _TLS_ARGUMENTS if kwargs.pop(name, None) is not None]
    if dropped:
        _log.once(
            "info",
            ("websockets-tls", tuple(dropped)),
            "websockets: the endpoint is plain ws://, so the TLS argument(s) %s meant for the public wss:// host are not used",
            ", ".join(dropped),
        )


def _drop_proxy_arguments(kwargs: dict) -> None:
    """No explicit proxy for the endpoint, nor the arguments meant for the connection to it."""
    if isinstance(kwargs.get("proxy"), str):
        kwargs["proxy"] = None
        note_proxy_dropped("websockets")
    for name in [name for name in kwargs if name.startswith("proxy_")]:
        del kwargs[name]


def _redirect(args: tuple, kwargs: dict) -> tuple:
    """``args`` with the URI (first positional or ``uri=``) rewritten; ``kwargs`` is adjusted in place."""
    uri = args[0] if args else kwargs.get("uri")
    if not isinstance(uri, str):
        return args  # not a URI we understand: websockets decides what to do with it
    new = route_url(uri)
    if kwargs and any(name[:5] == "proxy" for name in kwargs) and url_is_for_endpoint(new, any_port=True):
        _drop_proxy_arguments(kwargs)
    if new is uri:
        return args
    if args:
        args = (new, *args[1:])
    else:
        kwargs["uri"] = new
    if _downgraded(uri, new):
        _drop_tls_arguments(kwargs)
    return args


def _make_init(original):  # type: ignore[no-untyped-def]
    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return original(self, *_redirect(args, kwargs), **kwargs)

    return __init__


def _make_connect_function(original):  # type: ignore[no-untyped-def]
    def connect(*args, **kwargs):  # type: ignore[no-untyped-def]
        return original(*_redirect(args, kwargs), **kwargs)

    return connect


def _make_get_proxy(original):  # type: ignore[no-untyped-def]
    def get_proxy(uri, *args, **kwargs):  # type: ignore[no-untyped-def]
        if is_endpoint(getattr(uri, "host", None)):
            return None
        return original(uri, *args, **kwargs)

    return get_proxy


def _patch_client_module(module: ModuleType) -> None:
    """Patch one client module; a version without some of these names simply lacks that patch."""
    namespace = vars(module)  # not getattr: websockets' lazy aliases would import other modules
    if not isinstance(namespace.get("parse_uri"), FunctionType):
        return  # not a URI-parsing client module in this version (e.g. websockets.client in 11+)
    _patcher.replace(module, "parse_uri", rewrite_first_argument)
    if isinstance(namespace.get("get_proxy"), FunctionType):
        _patcher.replace(module, "get_proxy", _make_get_proxy)
    for name in _ENTRY_POINTS:
        value = namespace.get(name)
        if getattr(value, "__module__", None) != module.__name__:
            continue
        if isinstance(value, type) and isinstance(vars(value).get("__init__"), FunctionType):
            _patcher.replace(value, "__init__", _make_init)
        elif isinstance(value, FunctionType):
            _patcher.replace(module, name, _make_connect_function)


def install() -> None:
    for module_name in _CLIENT_MODULES:
        on_import("websockets", module_name, _patch_client_module)


def uninstall() -> list:
    return _patcher.undo()
