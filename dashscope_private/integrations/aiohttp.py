"""aiohttp: rewrite where ``ClientSession`` resolves a request URL.

``ClientSession._build_url`` (aiohttp 3.8+) is used by every request and by
``ws_connect``, after ``base_url`` is joined; the connection, Host header, SNI
and ``trust_env`` proxy lookup all follow its result. Older releases fall back
to the URL argument of ``ClientSession._request``.
"""

from __future__ import annotations

from .._patching import Patcher
from ._urls import rewrite_str, rewrite_yarl_url

__all__ = ["install", "uninstall"]

_patcher = Patcher("aiohttp")


def _build_url(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    return rewrite_yarl_url(wrapped(*args, **kwargs))


def _request(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    # _request(method, str_or_url, ...)
    if len(args) >= 2:
        url = args[1]
        if isinstance(url, str):
            args = (args[0], rewrite_str(url), *args[2:])
        else:
            args = (args[0], rewrite_yarl_url(url), *args[2:])
    return wrapped(*args, **kwargs)


def install() -> None:
    import aiohttp

    session = aiohttp.ClientSession
    if hasattr(session, "_build_url"):
        _patcher.wrap(session, "_build_url", _build_url)
    else:
        _patcher.wrap(session, "_request", _request)


def uninstall() -> list:
    return _patcher.undo()
