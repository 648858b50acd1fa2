"""requests: rewrite in ``PreparedRequest.prepare_url``, with ``Session.send`` as a backstop.

``prepare_url`` runs before ``Session.request`` asks the environment for
proxies, so ``NO_PROXY`` is checked against the private host, not the public
one. ``Session.send`` catches requests whose ``url`` was assigned directly
(redirects, hand-built ``PreparedRequest`` objects). urllib3 derives the Host
header and SNI from the rewritten URL.
"""

from __future__ import annotations

from .._patching import Patcher
from ._urls import names_redirected_host, rewrite_str

__all__ = ["install", "uninstall"]

_patcher = Patcher("requests")


def _prepare_url(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    if args:
        url = args[0]
        new = rewrite_str(url) if isinstance(url, str) else url
        if new is not url:
            args = (new, *args[1:])
    elif isinstance(kwargs.get("url"), str):
        kwargs["url"] = rewrite_str(kwargs["url"])
    return wrapped(*args, **kwargs)


def _send(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    request = args[0] if args else kwargs.get("request")
    url = getattr(request, "url", None)
    if isinstance(url, str):
        new = rewrite_str(url)
        if new is not url:
            request.url = new
        host_header = request.headers.get("Host")
        if host_header and names_redirected_host(host_header):
            # Headers are prepared after the URL, so a Host header copied from the
            # public request survives; without it urllib3 derives the new host.
            del request.headers["Host"]
    return wrapped(*args, **kwargs)


def install() -> None:
    import requests
    import requests.models

    _patcher.wrap(requests.models.PreparedRequest, "prepare_url", _prepare_url)
    _patcher.wrap(requests.Session, "send", _send)


def uninstall() -> list:
    return _patcher.undo()
