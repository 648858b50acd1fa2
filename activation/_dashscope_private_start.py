"""PEP 829 entry point (``dashscope_private.start`` on Python 3.15+).

A top-level module of its own so that, with the variable unset, start-up
imports only this file and not the ``dashscope_private`` package.
"""

import os


def boot() -> None:
    if not os.environ.get("DASHSCOPE_PRIVATE_ENDPOINT"):
        return
    try:
        from dashscope_private._boot import boot as _boot
    except ImportError:  # a stale file whose package is gone: stay silent
        return
    _boot()
