"""A deliberately broken integration: it patches one thing, then fails (used by test_activation)."""

from dashscope_private._patching import Patcher

_patcher = Patcher("requests")


def install():
    import requests

    _patcher.wrap(requests.Session, "request", lambda wrapped, instance, args, kwargs: wrapped(*args, **kwargs))
    raise RuntimeError("simulated breakage in a new requests release")


def uninstall():
    return _patcher.undo()
