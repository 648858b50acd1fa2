"""Routes: ``public-host-pattern=endpoint`` entries, from ``DASHSCOPE_PRIVATE_ROUTES`` and a settings file.

Pure and builtins only. Loaded by ``config.load`` only when routes are set, so a
start-up with ``DASHSCOPE_PRIVATE_ENDPOINT`` alone never pays for it.
"""

from .hosts import Endpoint, _error, parse_endpoint, parse_pattern

__all__ = ["parse_routes", "merge_routes"]


def parse_routes(value: str, variable: str) -> "tuple[tuple[str, Endpoint], ...]":
    """``DASHSCOPE_PRIVATE_ROUTES``: comma-separated ``public-host-pattern=endpoint`` entries.

    A pattern is what :func:`parse_pattern` accepts; an endpoint anything
    :func:`parse_endpoint` does (the guide's base URLs included). Returns
    ``(pattern, endpoint)`` pairs in the order given; a pattern named twice is an error,
    as is an entry without ``=``. An empty value names no route.
    """
    routes = []
    seen = set()
    for item in value.split(","):
        if not item.strip():
            continue
        pattern_text, equals, endpoint_text = item.partition("=")
        if not equals:
            raise _error(variable, f"{item.strip()!r} has no '='", "write public-host-pattern=endpoint, e.g. dashscope-intl.aliyuncs.com=http://ep-xxxx.dashscope.ap-southeast-1.privatelink.aliyuncs.com")
        pattern = parse_pattern(pattern_text, variable)
        if pattern in seen:
            raise _error(variable, f"{pattern!r} is routed twice", "give each public host pattern one endpoint")
        seen.add(pattern)
        routes.append((pattern, parse_endpoint(endpoint_text, f"{variable} (route {pattern!r})")))
    return tuple(routes)


def merge_routes(text: str, variable: str, more: "list | tuple" = ()) -> "tuple[tuple[str, Endpoint], ...]":
    """The routes of ``text`` (see :func:`parse_routes`), then ``more``'s ``(pattern, endpoint, label)``
    entries (a settings file's, each named by its label in errors) for patterns ``text`` does not name."""
    routes = list(parse_routes(text, variable))
    if text.strip() and not routes:
        raise _error(variable, "the list names no route", "write public-host-pattern=endpoint entries, comma-separated")
    named = {pattern for pattern, _ in routes}
    for pattern_text, endpoint_text, label in more:
        pattern = parse_pattern(pattern_text, label)
        if pattern not in named:
            named.add(pattern)
            routes.append((pattern, parse_endpoint(endpoint_text, label)))
    return tuple(routes)
