"""DSPy: the bundled lm15 client's stdlib transports connect to the endpoint.

DSPy 3.4's default engine sends requests through its vendored client
``dspy._vendor.lm15``, whose transports open sockets themselves
(``socket.create_connection``/``asyncio.open_connection`` and their own TLS),
so none of the HTTP libraries we patch sees the URL. Both the sync
(``transports._sync.StdlibTransport``) and the async
(``transports._async.StdlibAsyncTransport``) transport turn a request's URL
into ``(scheme, host, port, target)`` with their module-global ``parse_url``,
and everything after follows that result: the connection-pool key, the
address connected to, TLS and its SNI (``https`` becomes ``http`` for the
plain-HTTP ``ep-*`` endpoint), the Host header and the proxy decision. That
global is replaced in both modules (``_url.parse_url`` itself, which also
parses proxy URLs, is left alone).

Proxies: each transport asks its module-global ``proxy_route_for`` per
request, with the transport's explicit ``proxy=`` if it has one, else from
the environment. Neither applies to the endpoint (it is inside the VPC): for
the endpoint host the answer is always a direct connection. Every other host
gets the transport's proxy as configured.

DSPy before 3.4 (and ``engine="litellm"``) go through litellm, i.e. httpx or
aiohttp, which their own integrations cover; then there is nothing to patch here.
"""

from __future__ import annotations

from types import ModuleType

from .._patching import Patcher
from .._state import on_import
from ._urls import is_endpoint, note_proxy_dropped, rewrite_first_argument

__all__ = ["install", "uninstall"]

#: The vendored lm15 transport modules that parse request URLs.
_TRANSPORT_MODULES = ("dspy._vendor.lm15.transports._sync", "dspy._vendor.lm15.transports._async")

_patcher = Patcher("dspy")


def _make_proxy_route_for(original):  # type: ignore[no-untyped-def]
    def proxy_route_for(parsed, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not args and is_endpoint(getattr(parsed, "host", None)):
            if kwargs.get("proxy") is not None:
                note_proxy_dropped("dspy")
            return None
        return original(parsed, *args, **kwargs)

    return proxy_route_for


def _patch_transport(module: ModuleType) -> None:
    # Both are required: a transport whose URL parsing we cannot see must not be
    # reported as covered (strict mode then refuses to run with it).
    _patcher.replace(module, "parse_url", rewrite_first_argument)
    _patcher.replace(module, "proxy_route_for", _make_proxy_route_for)


def install() -> None:
    for module_name in _TRANSPORT_MODULES:
        # dspy 3.4 imports them while it loads; a later version might import them lazily.
        on_import("dspy", module_name, _patch_transport)


def uninstall() -> list:
    return _patcher.undo()
