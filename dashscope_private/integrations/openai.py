"""OpenAI SDK (1.x on httpx, 2.x, 3.x on httpx2): clients for DashScope show the private endpoint.

Every way the SDK learns a base URL (constructor, ``OPENAI_BASE_URL``, the
``base_url`` setter, ``with_options``/``copy``, the module-level client) ends in
``BaseClient._enforce_trailing_slash``; absolute per-request URLs go through
``BaseClient._prepare_url``; WebSocket URLs through the connection managers'
``_prepare_url``. Wrapping those few methods on the base classes patches
``OpenAI``, ``AsyncOpenAI``, ``AzureOpenAI`` and every subclass in place: no
class is swapped, so ``isinstance``, ``inspect.signature`` and pickling are
unchanged. Only the URL is touched; every other argument passes through.

The WebSocket connection managers (realtime, beta realtime, responses, beta
responses, live and its forks/sideband, realtime translations in 3.57, and
whatever comes next) each define their own ``_prepare_url`` in a module that
``import openai`` does not load. They are found by a rule, not a list: every
module file under ``openai/resources`` is watched (the directory is listed
once, nothing is imported), and when one is imported every class defined in
it with its own ``_prepare_url`` is wrapped. The websockets integration
catches the same connections one level down; this level also covers programs
that disable it, and keeps the SDK's own view of the URL consistent.
"""

from __future__ import annotations

import os
from types import ModuleType

from .._patching import Patcher
from .._state import on_import
from ._urls import rewrite_httpx_url, rewrite_setting, route_url

__all__ = ["install", "uninstall"]

#: Modules known to define WebSocket connection managers; the directory scan finds the rest.
_REALTIME_MODULES = ("openai.resources.realtime.realtime", "openai.resources.beta.realtime.realtime")
_RESOURCES = "openai.resources"

_resource_modules: tuple | None = None

_patcher = Patcher("openai")


def _rewrite_setting(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    """A base URL being stored: rewrite it so ``client.base_url`` shows the endpoint."""
    return rewrite_setting(wrapped(*args, **kwargs))


def _rewrite_request_url(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    """A URL about to be requested (a WebSocket connection manager's): see :func:`_rewrite_prepared`."""
    return _rewrite_prepared(wrapped(*args, **kwargs))


def _make_prepare_url(original):  # type: ignore[no-untyped-def]
    """``BaseClient._prepare_url``: a plain function, not a wrapt wrapper (~1 us): it runs for every request."""

    def _prepare_url(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return _rewrite_prepared(original(self, *args, **kwargs))

    return _prepare_url


def _rewrite_prepared(url):  # type: ignore[no-untyped-def]
    """A URL about to be requested: strict mode and fail-closed refuse it here.

    An ``httpx``/``httpx2`` URL in every SDK so far; a string is rewritten as
    one, anything else a future SDK might return passes through untouched.
    """
    if isinstance(url, str):
        return route_url(url)
    return rewrite_httpx_url(url)  # checks the type itself: anything else comes back untouched


def install() -> None:
    """Patch ``openai._base_client.BaseClient`` now and the connection managers when they load."""
    import openai
    from openai import _base_client

    base = _base_client.BaseClient
    _patcher.wrap(base, "_enforce_trailing_slash", _rewrite_setting)
    _patcher.replace(base, "_prepare_url", _make_prepare_url)
    for module_name in _connection_manager_modules(getattr(openai, "__path__", ())):
        # Not imported by ``import openai``: patch when (if ever) the program loads them.
        on_import("openai", module_name, _patch_connection_managers)


def _connection_manager_modules(package_path) -> tuple:  # type: ignore[no-untyped-def]
    """Every module under ``openai.resources``, from a directory listing (cached; nothing imported)."""
    global _resource_modules
    if _resource_modules is None:
        found = set(_REALTIME_MODULES)
        for root in package_path:
            found.update(_list_modules(os.path.join(root, "resources"), _RESOURCES))
        _resource_modules = tuple(sorted(found))
    return _resource_modules


def _list_modules(directory: str, prefix: str) -> list:
    names = []
    stack = [(directory, prefix)]
    while stack:
        folder, package = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:  # not a directory (a zipped install): the known modules only
            continue
        for entry in entries:
            name = entry.name
            if name.endswith(".py") and name[:-3].isidentifier():
                names.append(package if name == "__init__.py" else f"{package}.{name[:-3]}")
            elif name != "__pycache__" and name.isidentifier() and entry.is_dir():
                stack.append((entry.path, f"{package}.{name}"))
    return names


def _patch_connection_managers(module: ModuleType) -> None:
    """Wrap ``_prepare_url`` on every class ``module`` defines with its own (a WebSocket connection manager)."""
    for value in list(vars(module).values()):
        # issubclass(type(value), ...), not isinstance(value, ...): isinstance falls back to
        # ``value.__class__``, which makes openai's lazy proxies (numpy, pandas) import their module.
        if issubclass(type(value), type) and value.__module__ == module.__name__ and "_prepare_url" in vars(value):
            _patcher.wrap(value, "_prepare_url", _rewrite_request_url)


def uninstall() -> list:
    """Restore every wrapped method."""
    return _patcher.undo()
