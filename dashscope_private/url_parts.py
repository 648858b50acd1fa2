"""The URL vocabulary: split an absolute URL into the parts routing decides on.

Pure and builtins only, exact rather than forgiving: a URL it cannot split
unambiguously is left alone by the router (the transport hooks, seeing the
library's own parse, decide). ``routing`` re-exports everything here.
"""

from __future__ import annotations

__all__ = ["DEFAULT_PORTS", "SplitURL", "split_url", "normalize_host"]

#: The schemes we route, and their default ports: the one scheme and default-port rule.
DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


def normalize_host(host: str) -> str:
    """Lower-case a host and drop one trailing dot; brackets are removed from IPv6 literals."""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host.endswith("."):
        host = host[:-1]
    return host.lower()


class SplitURL(tuple):
    """``(scheme, userinfo, host, port_text, authority_end)``: a tuple (``parts[2]`` works) with names.

    A tuple subclass, not a ``NamedTuple`` (no ``typing`` import) nor a ``__slots__`` class (slower to build).
    """

    __slots__ = ()

    @property
    def scheme(self) -> str:
        return self[0]  # type: ignore[no-any-return]

    @property
    def host(self) -> str:
        return self[2]  # type: ignore[no-any-return]

    @property
    def port(self) -> str | None:
        return self[3]  # type: ignore[no-any-return]

    def port_number(self) -> int | None:
        """The port as an int, ``None`` when absent; ``-1`` when it is not a plain decimal number."""
        text = self[3]
        if not text:
            return None
        return int(text) if text.isascii() and text.isdigit() else -1


def split_url(url: str) -> SplitURL | None:
    """``url`` as a :class:`SplitURL`, or ``None`` unless it is an absolute http(s)/ws(s) URL with an
    unambiguous authority: callers then leave it alone and the transport hooks, seeing the library's parse, decide."""
    sep = url.find("://")
    if sep <= 0:
        return None
    scheme = url[:sep].lower()
    if scheme not in DEFAULT_PORTS:
        return None
    start = sep + 3
    end = len(url)
    for mark in "/?#":
        i = url.find(mark, start)
        if 0 <= i < end:
            end = i
    authority = url[start:end]
    if "\\" in authority or (authority and authority.split() != [authority]):  # any whitespace, in C
        return None
    before_at, at, hostport = authority.rpartition("@")
    userinfo = before_at if at else None
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            return None
        host = hostport[1:close]
        rest = hostport[close + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port = rest[1:] if rest else None
    else:
        host, colon, port_text = hostport.partition(":")
        port = port_text if colon else None
    return SplitURL((scheme, userinfo, normalize_host(host), port, end))
