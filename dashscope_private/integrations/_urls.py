"""Rewrite the URL types of the HTTP libraries with the router in force.

Object URLs (httpx/httpx2 ``URL``, yarl ``URL``) already carry a parsed host,
so the check is one normalized-host lookup; string URLs go through the
router's substring pre-filter first. Either way the pass-through path for a
non-DashScope URL allocates nothing.
"""

from __future__ import annotations

from .._runtime import route_target, route_url

__all__ = ["rewrite_str", "rewrite_httpx_url", "rewrite_yarl_url", "rewrite_any"]

rewrite_str = route_url


def rewrite_httpx_url(url):  # type: ignore[no-untyped-def]
    """An ``httpx.URL``/``httpx2.URL`` pointed at the endpoint, or ``url`` itself."""
    target = route_target(url.scheme, url.host)
    if target is None:
        return url
    scheme, host, port = target
    return url.copy_with(scheme=scheme, host=host, port=port)


def rewrite_yarl_url(url):  # type: ignore[no-untyped-def]
    """A ``yarl.URL`` pointed at the endpoint, or ``url`` itself."""
    if not url.is_absolute():
        return url
    target = route_target(url.scheme, url.host or "")
    if target is None:
        return url
    scheme, host, port = target
    new = url.with_scheme(scheme).with_host(host)
    return new.with_port(port)


def rewrite_any(url, url_type=None):  # type: ignore[no-untyped-def]
    """Strings are rewritten as strings; objects of ``url_type`` with ``rewrite_httpx_url``."""
    if isinstance(url, str):
        return route_url(url)
    if url_type is not None and isinstance(url, url_type):
        return rewrite_httpx_url(url)
    return url
