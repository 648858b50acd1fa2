"""OpenAI SDK (1.x on httpx, 2.x, 3.x on httpx2): clients for DashScope show the private endpoint.

Every way the SDK learns a base URL (constructor, ``OPENAI_BASE_URL``, the
``base_url`` setter, ``with_options``/``copy``, the module-level client) ends in
``BaseClient._enforce_trailing_slash``; absolute per-request URLs go through
``BaseClient._prepare_url``; realtime WebSocket URLs through the connection
managers' ``_prepare_url``. Wrapping those few methods on the base classes
patches ``OpenAI``, ``AsyncOpenAI``, ``AzureOpenAI`` and every subclass in place:
no class is swapped, so ``isinstance``, ``inspect.signature`` and pickling are
unchanged. Only the URL is touched; every other argument passes through.
"""

from __future__ import annotations

from types import ModuleType

from .._patching import Patcher
from .._runtime import on_import
from ._urls import rewrite_httpx_url, rewrite_setting

__all__ = ["install", "uninstall"]

#: Modules that define realtime connection managers, across SDK versions.
_REALTIME_MODULES = ("openai.resources.realtime.realtime", "openai.resources.beta.realtime.realtime")

_patcher = Patcher("openai")


def _rewrite_setting(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    """A base URL being stored: rewrite it so ``client.base_url`` shows the endpoint."""
    return rewrite_setting(wrapped(*args, **kwargs))


def _rewrite_request_url(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    """A URL about to be requested: strict mode and fail-closed refuse it here."""
    return rewrite_httpx_url(wrapped(*args, **kwargs))


def install() -> None:
    """Patch ``openai._base_client.BaseClient`` now and the realtime managers when they load."""
    from openai import _base_client

    base = _base_client.BaseClient
    _patcher.wrap(base, "_enforce_trailing_slash", _rewrite_setting)
    _patcher.wrap(base, "_prepare_url", _rewrite_request_url)
    for module_name in _REALTIME_MODULES:
        # Not imported by ``import openai``: patch when (if ever) the program loads them.
        on_import("openai", module_name, _patch_realtime)


def _patch_realtime(module: ModuleType) -> None:
    for value in list(vars(module).values()):
        if isinstance(value, type) and value.__module__ == module.__name__ and "_prepare_url" in vars(value):
            _patcher.wrap(value, "_prepare_url", _rewrite_request_url)


def uninstall() -> list:
    """Restore every wrapped method."""
    return _patcher.undo()
