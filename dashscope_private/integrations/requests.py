"""requests: rewrite in ``PreparedRequest.prepare_url``, with ``Session.send`` as a backstop.

``prepare_url`` runs before ``Session.request`` asks the environment for
proxies, so ``NO_PROXY`` is checked against the private host, not the public
one. ``Session.send`` catches requests whose ``url`` was assigned directly
(redirects, hand-built ``PreparedRequest`` objects, a request prepared before
activation), and sends every request for the endpoint without a proxy: the
proxies were chosen from the environment, possibly for the public host, and
activation does not edit ``NO_PROXY``. A ``Host`` header naming a redirected
public host is dropped only on requests that go to the endpoint, so urllib3
derives it (and SNI) from the new URL; any other request keeps its headers. Both hooks are plain functions: they run
for every request of the program.
"""

from __future__ import annotations

from .._patching import Patcher
from ._urls import names_redirected_host, rewrite_method_argument, route_url, url_is_for_endpoint

__all__ = ["install", "uninstall"]

_patcher = Patcher("requests")


#: ``requests.structures.CaseInsensitiveDict`` (set by ``install``): its ``_store`` is keyed by lower-cased names.
_headers_type: type | None = None


def _host_header(headers):  # type: ignore[no-untyped-def]
    """The ``Host`` header of a prepared request, or ``None``.

    For requests' own header dict, one lookup in its lower-cased store: its
    ``get`` raises and catches a ``KeyError`` (~1 us) when, as usual, there is none.
    """
    if type(headers) is _headers_type:
        item = headers._store.get("host")
        return item[1] if item is not None else None
    return headers.get("Host")


def _make_send(original):  # type: ignore[no-untyped-def]
    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        url = getattr(request, "url", None)
        if isinstance(url, str):
            new = route_url(url)
            if new is not url:
                request.url = new
            if url_is_for_endpoint(new):
                # The endpoint is inside the VPC: never through a proxy (the proxies
                # in kwargs were chosen from the environment, maybe for the public URL).
                kwargs["proxies"] = {}
                host_header = _host_header(request.headers)
                if host_header and names_redirected_host(host_header):
                    # Headers are prepared after the URL, so a Host header copied from the
                    # public request survives; without it urllib3 derives the new host.
                    del request.headers["Host"]
        return original(self, request, **kwargs)

    return send


def install() -> None:
    import requests
    import requests.models
    import requests.structures

    global _headers_type
    _headers_type = requests.structures.CaseInsensitiveDict

    _patcher.replace(requests.models.PreparedRequest, "prepare_url", rewrite_method_argument)
    _patcher.replace(requests.Session, "send", _make_send)


def uninstall() -> list:
    return _patcher.undo()
