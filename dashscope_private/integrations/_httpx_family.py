"""Shared implementation for httpx and httpx2 (same API, different import names).

The URL is rewritten when a ``Request`` is constructed, before its ``Host``
header is derived, so the header, the connection, TLS SNI and the proxy
decision all follow the new host. (Changing ``request.url`` later, in an event
hook, would leave a stale ``Host`` header.) Every client path builds a
``Request``: ``Client.request``/``stream``/``send``, ``AsyncClient``, redirects
and user-built requests alike. That hook is a plain function: it runs for
every request of the program, DashScope or not.

A client's own ``base_url`` is rewritten once, where the client stores it, so
requests merged onto it are already private and pass the hook untouched
(rewriting an ``httpx.URL`` object re-parses it, ~25 µs, on every request).

Requests for the endpoint take the client's direct transport, never a proxy
mount: the client read the proxy variables when it was built, and activation
does not edit ``NO_PROXY``.
"""

from __future__ import annotations

import importlib

from .._patching import Patcher
from ._urls import is_endpoint_address, is_endpoint_host, names_redirected_host, rewrite_httpx_url, rewrite_setting, rewrite_str

__all__ = ["HttpxFamily"]


class HttpxFamily:
    """``install``/``uninstall`` for one httpx-compatible module."""

    def __init__(self, module_name: str) -> None:
        self.module_name = module_name
        self._patcher = Patcher(module_name)

    def install(self) -> None:
        module = importlib.import_module(self.module_name)
        url_type = module.URL

        def make_request_init(original):  # type: ignore[no-untyped-def]
            def __init__(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
                if isinstance(url, str):
                    new = rewrite_str(url)
                elif isinstance(url, url_type):
                    new = rewrite_httpx_url(url)
                else:
                    new = url
                original(self, method, new, *args, **kwargs)
                # Bound for the endpoint with headers given: a Host header naming a public
                # host we redirect (copied from the public request, a redirect, user headers)
                # must follow, as SNI does. Any other Host header is left byte for byte.
                # Without headers httpx derives Host from the URL, so skip the check.
                url_now = self.url
                if kwargs.get("headers") is not None and is_endpoint_address(url_now.scheme, url_now.host, url_now.port):
                    host_header = self.headers.get("host")
                    if host_header is not None and names_redirected_host(host_header):
                        self.headers["Host"] = self.url.netloc.decode("ascii")

            return __init__

        def store_base_url(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
            return rewrite_setting(wrapped(*args, **kwargs))

        def make_transport_for_url(original):  # type: ignore[no-untyped-def]
            def _transport_for_url(self, url):  # type: ignore[no-untyped-def]
                if is_endpoint_host(getattr(url, "host", None)):
                    return self._transport  # the endpoint is inside the VPC: never a proxy mount
                return original(self, url)

            return _transport_for_url

        self._patcher.replace(module.Request, "__init__", make_request_init)
        for client in (module.Client, module.AsyncClient):
            if "_transport_for_url" in vars(client):
                self._patcher.replace(client, "_transport_for_url", make_transport_for_url)
        client_base = getattr(getattr(module, "_client", None), "BaseClient", None)
        if client_base is not None and hasattr(client_base, "_enforce_trailing_slash"):
            self._patcher.wrap(client_base, "_enforce_trailing_slash", store_base_url)

    def uninstall(self) -> list:
        return self._patcher.undo()
