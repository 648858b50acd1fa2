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
mount: the client read the proxy variables when it was built (or was given
``proxy=``/``mounts=``), and activation does not edit ``NO_PROXY``. When that
transport is itself proxied (``Client(transport=HTTPTransport(proxy=...))``),
it sends endpoint requests through a direct twin instead: the same transport
settings without the proxy, built on its first endpoint request and closed
with it. Every other request keeps the proxy.
"""

from __future__ import annotations

import inspect
import threading

from .._patching import _ORIGINAL, Patcher, loaded_module
from ._urls import DEFAULT_PORTS, is_endpoint, names_redirected_host, note_proxy_dropped, rewrite_method_argument, rewrite_setting, route_httpx_url, route_url

__all__ = ["HttpxFamily"]

#: On a proxied ``HTTPTransport``: how to build it without the proxy (``(args, kwargs)``).
_DIRECT_SPEC = "_dashscope_private_direct_spec"
#: On a proxied ``HTTPTransport``: its direct twin, once built.
_DIRECT_TWIN = "_dashscope_private_direct_twin"
_twin_lock = threading.Lock()


def _make_transport_init(original):  # type: ignore[no-untyped-def]
    """``HTTPTransport.__init__``: a transport built with a proxy remembers how to build it without one."""
    signature = inspect.signature(original)
    names = list(signature.parameters)
    proxy_index = names.index("proxy") - 1 if "proxy" in names else None  # position after self

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        if proxy_index is None or (kwargs.get("proxy") is None and (len(args) <= proxy_index or args[proxy_index] is None)):
            return  # no proxy: nothing to do (the common case, one check)
        try:
            bound = signature.bind(self, *args, **kwargs)
            bound.arguments["proxy"] = None
            self.__dict__[_DIRECT_SPEC] = (bound.args[1:], bound.kwargs)
        except Exception:  # arguments we cannot read back: the transport stays as the program built it
            pass

    return __init__


def _direct_twin(transport, base, init):  # type: ignore[no-untyped-def]
    """The direct twin of the proxied ``transport`` (an instance of ``base``), built once."""
    twin = transport.__dict__.get(_DIRECT_TWIN)
    if twin is None:
        with _twin_lock:
            twin = transport.__dict__.get(_DIRECT_TWIN)
            if twin is None:
                args, kwargs = transport.__dict__[_DIRECT_SPEC]
                twin = base.__new__(base)
                init(twin, *args, **kwargs)
                transport.__dict__[_DIRECT_TWIN] = twin
    return twin


def _make_handle_request(base):  # type: ignore[no-untyped-def]
    """``handle_request``/``handle_async_request``: endpoint requests of a proxied transport go direct.

    A plain function that returns what the original returns (a response, or the
    coroutine the async client awaits): it runs for every request.
    """

    def make(original):  # type: ignore[no-untyped-def]
        def handle_request(self, request):  # type: ignore[no-untyped-def]
            if _DIRECT_SPEC in self.__dict__ and is_endpoint(getattr(getattr(request, "url", None), "host", None)):
                note_proxy_dropped(base.__module__.partition(".")[0])
                init = vars(base)["__init__"]
                return original(_direct_twin(self, base, getattr(init, _ORIGINAL, init)), request)
            return original(self, request)

        return handle_request

    return make


def _make_close(original):  # type: ignore[no-untyped-def]
    """``close``/``__exit__``: the direct twin, if one was built, closes with its transport."""

    def close(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return original(self, *args, **kwargs)
        finally:
            twin = self.__dict__.pop(_DIRECT_TWIN, None)
            if twin is not None:
                twin.close()

    return close


def _make_aclose(original):  # type: ignore[no-untyped-def]
    """``aclose``/``__aexit__``: as ``_make_close``, for ``AsyncHTTPTransport``."""

    async def aclose(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return await original(self, *args, **kwargs)
        finally:
            twin = self.__dict__.pop(_DIRECT_TWIN, None)
            if twin is not None:
                await twin.aclose()

    return aclose


def _make_merge_url(original):  # type: ignore[no-untyped-def]
    """``BaseClient._merge_url(self, url)``: a string URL is rewritten before the client parses it.

    Its own two parameters, not ``*args, **kwargs``: it runs for every request, and packing
    and unpacking empty ones (a tuple and a dict each time) is work for nothing. A
    ``_merge_url`` with another signature gets the general hook.
    """
    if list(inspect.signature(original).parameters) != ["self", "url"]:
        return rewrite_method_argument(original)

    def _merge_url(self, url):  # type: ignore[no-untyped-def]
        return original(self, route_url(url))

    return _merge_url


def _host_header(headers):  # type: ignore[no-untyped-def]
    """The ``Host`` header of a built request, or ``None``.

    Read from the ``(raw, lower-cased, value)`` list the ``Headers`` keep: ``Headers.get``
    first works out the encoding of every header of a new request (~15 calls, each request).
    Anything unexpected (several values, non-ASCII, another shape) takes ``get``, the
    library's own answer. One pass over the handful of entries, building nothing: half the
    time of listing the names with ``map`` and then counting and indexing them.
    """
    try:
        found = None
        for _raw, lower, value in headers._list:
            if lower == b"host":
                if found is not None:
                    return headers.get("host")  # several: the library's own answer
                found = value
        return None if found is None else found.decode("ascii")
    except Exception:
        return headers.get("host")


#: The keyword-only parameters of ``Request.__init__(self, method, url, *, ...)`` in httpx and httpx2, all ``None`` by default.
_REQUEST_KEYWORDS = ("params", "headers", "cookies", "content", "data", "files", "json", "stream", "extensions")


def _has_request_parameters(original) -> bool:  # type: ignore[no-untyped-def]
    """True when ``original`` takes exactly ``(self, method, url, *, <_REQUEST_KEYWORDS>=None)``: the hook may repeat them."""
    try:
        parameters = list(inspect.signature(original).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD]
    keywords = tuple(p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.default is None)
    return positional == ["self", "method", "url"] and keywords == _REQUEST_KEYWORDS and len(parameters) == 3 + len(keywords)


def _make_request_init(original, route):  # type: ignore[no-untyped-def]
    """``Request.__init__`` with the original's own parameters, named, for the signature ``_REQUEST_KEYWORDS`` describes.

    Every request of the program builds a ``Request``: collecting ``**kwargs`` into a dict and
    spreading it again for the original cost ~7k instructions per request (httpx 0.29,
    Python 3.11), more than routing the URL; named parameters are passed on without either.
    A signature we do not know gets the general hook.
    """

    def __init__(  # type: ignore[no-untyped-def]
        self, method, url, *, params=None, headers=None, cookies=None, content=None, data=None, files=None, json=None, stream=None, extensions=None
    ):
        original(
            self, method, route(url),
            params=params, headers=headers, cookies=cookies, content=content, data=data, files=files, json=json, stream=stream, extensions=extensions,
        )
        if headers is not None:
            _follow_host(self)

    return __init__


def _follow_host(request) -> None:  # type: ignore[no-untyped-def]
    """A ``Host`` header naming a public host we redirect follows a request bound for the endpoint.

    Copied from the public request, a redirect or user headers, it must follow as SNI does;
    any other ``Host`` header is left byte for byte. Called only when headers were given:
    without them httpx derives ``Host`` from the (rewritten) URL. The ``Host`` test first: a
    remembered lookup, where the endpoint test reads three of the URL's properties; the header
    httpx derives from the URL never names a redirected host.
    """
    host_header = _host_header(request.headers)
    if host_header is not None and names_redirected_host(host_header):
        url = request.url
        if is_endpoint(url.host, url.port, DEFAULT_PORTS.get(url.scheme)):
            request.headers["Host"] = url.netloc.decode("ascii")


class HttpxFamily:
    """``install``/``uninstall`` for one httpx-compatible module."""

    def __init__(self, module_name: str) -> None:
        self.module_name = module_name
        self._patcher = Patcher(module_name)

    def install(self) -> None:
        module = loaded_module(self.module_name)
        url_type = module.URL

        def route(url):  # type: ignore[no-untyped-def]
            """The URL a ``Request`` is built with: rewritten before its ``Host`` header is derived."""
            if isinstance(url, str):
                return route_url(url)
            if isinstance(url, url_type):
                return route_httpx_url(url)
            return url

        def make_request_init(original):  # type: ignore[no-untyped-def]
            if _has_request_parameters(original):
                return _make_request_init(original, route)

            def __init__(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
                original(self, method, route(url), *args, **kwargs)
                if kwargs.get("headers") is not None:
                    _follow_host(self)

            return __init__

        def store_base_url(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
            return rewrite_setting(wrapped(*args, **kwargs))

        def make_transport_for_url(original):  # type: ignore[no-untyped-def]
            def _transport_for_url(self, url):  # type: ignore[no-untyped-def]
                # No mounts (no proxy variables, no proxy=/mounts=): the original returns
                # the direct transport anyway, so the endpoint test is skipped.
                if self._mounts and is_endpoint(getattr(url, "host", None)):
                    return self._transport  # the endpoint is inside the VPC: never a proxy mount
                return original(self, url)

            return _transport_for_url

        self._patcher.replace(module.Request, "__init__", make_request_init)
        for client in (module.Client, module.AsyncClient):
            if "_transport_for_url" in vars(client):
                self._patcher.replace(client, "_transport_for_url", make_transport_for_url)
        for transport, handle, closers, make_close in (
            (getattr(module, "HTTPTransport", None), "handle_request", ("close", "__exit__"), _make_close),
            (getattr(module, "AsyncHTTPTransport", None), "handle_async_request", ("aclose", "__aexit__"), _make_aclose),
        ):
            if transport is None or not all(name in vars(transport) for name in ("__init__", handle, *closers)):
                continue  # not the transport this was written for: left alone
            self._patcher.replace(transport, "__init__", _make_transport_init)
            self._patcher.replace(transport, handle, _make_handle_request(transport))
            for name in closers:
                self._patcher.replace(transport, name, make_close)
        client_base = getattr(getattr(module, "_client", None), "BaseClient", None)
        if client_base is not None and hasattr(client_base, "_enforce_trailing_slash"):
            self._patcher.wrap(client_base, "_enforce_trailing_slash", store_base_url)
        if client_base is not None and "_merge_url" in vars(client_base):
            # A string URL is rewritten before the client parses it: rewriting the parsed
            # ``URL`` in ``Request.__init__`` would parse it a second time (~300 calls).
            self._patcher.replace(client_base, "_merge_url", _make_merge_url)

    def uninstall(self) -> list:
        return self._patcher.undo()
