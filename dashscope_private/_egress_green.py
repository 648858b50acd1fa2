"""Strict mode's net under gevent and eventlet (part of :mod:`._egress_guard`).

Both replace the ``socket`` module's functions and class with their own
(``gevent.monkey.patch_all()`` in gunicorn/Celery gevent workers,
``eventlet.monkey_patch()``), and those resolve names through their own
resolvers: gevent's threadpool, c-ares or dnspython, eventlet's ``greendns``.
The net guarded the originals, so it has to stand in front of the
replacements too:

- each module that defines them is guarded as it loads (``gevent.socket``,
  ``gevent._socketcommon`` whose ``getaddrinfo`` every gevent socket resolves
  through, ``gevent._socket3`` and the native socket under gevent's,
  gevent's resolver classes, ``eventlet.green.socket`` and ``greendns``).
  Monkey-patching then copies guarded functions into ``socket``;
- after ``gevent.monkey.patch_*`` and ``eventlet.patcher.monkey_patch`` run,
  ``socket`` and ``ssl`` are guarded again, which also records the copies so
  that ``uninstall()`` leaves exactly gevent's or eventlet's functions behind.

Only module names are watched (post-import hooks): nothing here imports
gevent or eventlet.
"""

from __future__ import annotations

import sys

from ._egress_guard import LOOKUPS, guard_ssl, guard_lookups, guard_nameinfo, guard_socket_class, guard_socket_module, patch, watch

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Callable

__all__ = ["install"]

#: gevent's resolver modules; each defines ``Resolver`` (``gevent.get_hub().resolver`` is one)
_GEVENT_RESOLVERS = ("gevent.resolver.thread", "gevent.resolver.blocking", "gevent.resolver.ares", "gevent.resolver.dnspython")
#: eventlet's greendns: the public lookups plus ``resolve``, which every one of them goes through
_GREENDNS = LOOKUPS + ("resolve", "resolve_cname", "getaliases")


def _reguard() -> None:
    """Guard ``socket`` (and eventlet's copy of it, and ``ssl``) again after monkey-patching replaced them."""
    for name in ("socket", "__original_module_socket"):
        module = sys.modules.get(name)
        if module is not None:
            guard_socket_module(module)
    if "ssl" in sys.modules:
        guard_ssl(sys.modules["ssl"])


def _then_reguard(original: Any) -> Callable[..., Any]:
    def monkey_patch(*args: Any, **kwargs: Any) -> Any:
        try:
            return original(*args, **kwargs)
        finally:
            _reguard()

    return monkey_patch


def _guard_gevent_socket3(module: object) -> None:
    guard_socket_module(module)
    guard_socket_class(getattr(module, "_wrefsocket", None))  # the native socket a gevent socket wraps


def _guard_gevent_resolver(module: object) -> None:
    resolver = getattr(module, "Resolver", None)
    for name in LOOKUPS:
        patch(resolver, name, guard_lookups(1))
    patch(resolver, "getnameinfo", guard_nameinfo(1))


def _guard_gevent_monkey(module: object) -> None:
    for name in ("patch_all", "patch_socket", "patch_dns", "patch_ssl"):
        patch(module, name, _then_reguard)


def _guard_greendns(module: object) -> None:
    for name in _GREENDNS:
        patch(module, name, guard_lookups())
    patch(module, "getnameinfo", guard_nameinfo())


def _guard_eventlet_patcher(module: object) -> None:
    patch(module, "monkey_patch", _then_reguard)


def install() -> None:
    """Register the hooks (each runs now if its module is already imported)."""
    hooks = [
        ("gevent._socketcommon", guard_socket_module),
        ("gevent._socket3", _guard_gevent_socket3),
        ("gevent.socket", guard_socket_module),
        ("gevent.monkey", _guard_gevent_monkey),
        ("eventlet.support.greendns", _guard_greendns),
        ("eventlet.green._socket_nodns", guard_socket_module),
        ("eventlet.green.socket", guard_socket_module),
        ("eventlet.patcher", _guard_eventlet_patcher),
    ]
    hooks += [(name, _guard_gevent_resolver) for name in _GEVENT_RESOLVERS]
    for module_name, guard in hooks:
        watch(module_name, guard)
