"""requests: rewrite in ``PreparedRequest.prepare_url``, with ``Session.send`` as a backstop.

``prepare_url`` runs before ``Session.request`` asks the environment for
proxies, so ``NO_PROXY`` is checked against the private host, not the public
one. ``Session.send`` catches requests whose ``url`` was assigned directly
(redirects, hand-built ``PreparedRequest`` objects, a request prepared before
activation); since their proxies were chosen for the public host, it re-checks
``NO_PROXY`` for the new URL. urllib3 derives the Host
header and SNI from the rewritten URL. Both hooks are plain functions: they run
for every request of the program.
"""

from __future__ import annotations

from .._patching import Patcher
from ._urls import names_redirected_host, rewrite_str

__all__ = ["install", "uninstall"]

_patcher = Patcher("requests")


def _make_prepare_url(original):  # type: ignore[no-untyped-def]
    def prepare_url(self, url, params):  # type: ignore[no-untyped-def]
        return original(self, rewrite_str(url) if isinstance(url, str) else url, params)

    return prepare_url


def _make_send(original):  # type: ignore[no-untyped-def]
    from requests.utils import should_bypass_proxies

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        url = getattr(request, "url", None)
        if isinstance(url, str):
            new = rewrite_str(url)
            if new is not url:
                request.url = new
                # Proxies were chosen for the public URL; the endpoint is in NO_PROXY
                # (activation put it there), so it must not inherit them.
                proxies = kwargs.get("proxies")
                if proxies and should_bypass_proxies(new, no_proxy=proxies.get("no_proxy")):
                    kwargs["proxies"] = {}
            host_header = request.headers.get("Host")
            if host_header and names_redirected_host(host_header):
                # Headers are prepared after the URL, so a Host header copied from the
                # public request survives; without it urllib3 derives the new host.
                del request.headers["Host"]
        return original(self, request, **kwargs)

    return send


def install() -> None:
    import requests
    import requests.models

    _patcher.replace(requests.models.PreparedRequest, "prepare_url", _make_prepare_url)
    _patcher.replace(requests.Session, "send", _make_send)


def uninstall() -> list:
    return _patcher.undo()
