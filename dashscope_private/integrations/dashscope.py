"""DashScope SDK (1.14+ and 2.x): its base URL globals and the 2.x ``Client`` show the private endpoint.

The SDK reads ``dashscope.base_http_api_url``, ``base_websocket_api_url`` and
``base_compatible_api_url`` as module attributes at call time, and
``set_region()`` rebinds them with ``global`` statements that write the module
``__dict__`` directly (bypassing any ``__setattr__``). So the module's class is
swapped for a subclass whose data descriptors rewrite on *read*: whatever was
stored, by import-time ``DASHSCOPE_HTTP_BASE_URL``, user code or
``set_region()``, reads back private. The stored value is left as the user
set it, so uninstalling shows it again; writing back a value a read returned
(save and restore) stores the original, so the round trip is exact.

The 2.x ``Client`` resolves a frozen ``Config`` once per construction (and
again in ``with_options``) through ``dashscope.v2.client.resolve_config``;
its URLs are rewritten there.

Everything this module does not see (per-call ``base_address=``, URLs captured
by tts_v2 or MultiModalDialog at construction, the hard-coded realtime URL of
``qwen_omni``/``qwen_tts_realtime``, OSS uploads) is caught by the transport
integrations underneath.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType

from .._patching import Patcher
from .._state import on_import
from ._urls import rewrite_setting

__all__ = ["install", "uninstall"]

GLOBALS = ("base_http_api_url", "base_websocket_api_url", "base_compatible_api_url")
_CONFIG_URL_FIELDS = ("base_url", "protocol_base_url", "configured_base_url")

_patcher = Patcher("dashscope")


def _global_property(name: str) -> property:
    # (private value handed out by the last read, the stored value it came from)
    handed_out: list = [None, None]

    def get(module: ModuleType) -> object:
        # A read sends nothing: never raise or warn here; the transport hooks
        # refuse or warn about the request itself.
        stored = module.__dict__[name]
        shown = rewrite_setting(stored)
        if shown is not stored:
            handed_out[:] = [shown, stored]
        return shown

    def set_(module: ModuleType, value: object) -> None:
        # Save-and-restore (fixtures, ``monkeypatch`` undo) writes back what a read
        # returned: store what the user had, so ``deactivate()`` shows it again.
        shown, stored = handed_out
        if shown is not None and isinstance(value, str) and value == shown:
            value = stored
        module.__dict__[name] = value

    def delete(module: ModuleType) -> None:
        del module.__dict__[name]

    return property(get, set_, delete, f"dashscope.{name}, pointed at the private endpoint by dashscope-private")


def _swap_module_class(module: ModuleType) -> None:
    names = [name for name in GLOBALS if name in module.__dict__]
    if not names:
        raise AttributeError("dashscope has none of " + ", ".join(GLOBALS))

    def private_class(original: type) -> type:
        namespace: dict = {name: _global_property(name) for name in names}
        namespace["__module__"] = __name__
        return type("DashscopePrivateModule", (original,), namespace)

    _patcher.swap_class(module, private_class)


def _rewrite_config(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    config = wrapped(*args, **kwargs)
    changes = {}
    for field in _CONFIG_URL_FIELDS:
        value = getattr(config, field, None)
        if isinstance(value, str):
            new = rewrite_setting(value)
            if new is not value:
                changes[field] = new
    return dataclasses.replace(config, **changes) if changes else config


def _patch_v2_client(module: ModuleType) -> None:
    _patcher.wrap(module, "resolve_config", _rewrite_config)


def install() -> None:
    import dashscope

    _swap_module_class(dashscope)
    # dashscope 2.x only; imported by ``import dashscope`` today, hooked lazily to be safe.
    on_import("dashscope", "dashscope.v2.client", _patch_v2_client)


def uninstall() -> list:
    return _patcher.undo()
