"""Shared implementation for httpx and httpx2 (same API, different import names).

The URL is rewritten when a ``Request`` is constructed, before its ``Host``
header is derived, so the header, the connection, TLS SNI and the proxy
decision all follow the new host. (Changing ``request.url`` later, in an event
hook, would leave a stale ``Host`` header.) Every client path builds a
``Request``: ``Client.request``/``stream``/``send``, ``AsyncClient``, redirects
and user-built requests alike.
"""

from __future__ import annotations

import importlib

from .._patching import Patcher
from ._urls import rewrite_httpx_url, rewrite_str

__all__ = ["HttpxFamily"]


class HttpxFamily:
    """``install``/``uninstall`` for one httpx-compatible module."""

    def __init__(self, module_name: str) -> None:
        self.module_name = module_name
        self._patcher = Patcher(module_name)

    def install(self) -> None:
        module = importlib.import_module(self.module_name)
        url_type = module.URL

        def convert(url):  # type: ignore[no-untyped-def]
            if isinstance(url, str):
                return rewrite_str(url)
            if isinstance(url, url_type):
                return rewrite_httpx_url(url)
            return url

        def request_init(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
            # Request(method, url, ...): url is the second positional or a keyword.
            positional = len(args) >= 2
            url = args[1] if positional else kwargs.get("url")
            new = convert(url)
            if new is url:
                return wrapped(*args, **kwargs)
            if positional:
                args = (args[0], new, *args[2:])
            else:
                kwargs["url"] = new
            wrapped(*args, **kwargs)
            if "host" in instance.headers:
                # A Host header copied from the public request (redirects, user
                # headers) must follow the new host, as SNI does.
                instance.headers["Host"] = instance.url.netloc.decode("ascii")

        self._patcher.wrap(module.Request, "__init__", request_init)

    def uninstall(self) -> list:
        return self._patcher.undo()
