"""PEP 829 entry point (``dashscope_private.start`` on Python 3.15+).

A top-level module of its own so that, with the variable unset, start-up
imports only this file and not the ``dashscope_private`` package.
"""

import os


def _watch_environ() -> None:
    """``dashscope_private._boot.watch_environ``, without importing the package.

    With the variable unset, a program may still set it later (``load_dotenv()``,
    ``%env``): the first write of a ``DASHSCOPE_PRIVATE_*`` key to ``os.environ``
    imports the package then. The ``.pth`` line installs the same watcher (as a
    lambda); the class attribute ``_dashscope_private_setitem`` (the original)
    marks it installed.
    """
    if "_dashscope_private_setitem" in vars(os._Environ):
        return
    original = os._Environ.__setitem__
    environ = os.environ

    def __setitem__(self, key, value):  # type: ignore[no-untyped-def]
        original(self, key, value)
        if self is environ and key[:18] == "DASHSCOPE_PRIVATE_":
            try:
                from dashscope_private._boot import environ_changed
            except ImportError:  # a stale file whose package is gone
                return
            environ_changed(key)

    __setitem__.__qualname__ = original.__qualname__
    __setitem__.__wrapped__ = original  # type: ignore[attr-defined]
    os._Environ._dashscope_private_setitem = original  # type: ignore[attr-defined]
    os._Environ.__setitem__ = __setitem__  # type: ignore[method-assign]


def boot() -> None:
    if not os.environ.get("DASHSCOPE_PRIVATE_ENDPOINT"):
        _watch_environ()
        return
    try:
        from dashscope_private._boot import boot as _boot
    except ImportError:  # a stale file whose package is gone: stay silent
        return
    _boot()
