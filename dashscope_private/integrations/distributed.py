"""Dask: a ``distributed.Client`` that connects while active gives the workers the driver's settings.

Workers started with ``dask worker`` never see the driver's environment. Once a
client has connected (``Client._start``, for synchronous and asynchronous clients
alike), it registers a worker plugin named ``dashscope-private`` carrying the
settings in force: the scheduler runs it on every current worker and on every
worker that joins later. Its ``setup`` writes the settings into the worker's
``os.environ`` (:func:`dashscope_private._propagate.adopt`), where the watcher the
``.pth`` installed activates the running worker. A variable the worker has of its
own (Dask's documented way: the nanny's ``distributed.nanny.environ``, or the
deployment's environment) wins. The workers are shared: the plugin stays
registered, and the last client to connect sets what they use.

The plugin class is built inside a function, so Dask ships it by value and a
worker without dashscope-private can still load it: its ``setup`` fails with a
message the client turns into one warning line, and a worker joining later logs
the failure and runs on (it is never prevented from starting).
"""

from __future__ import annotations

from .._patching import Patcher
from .._propagate import adopt, in_force, report

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, Mapping, Optional

__all__ = ["install", "uninstall", "take", "PLUGIN_NAME", "NOT_INSTALLED"]

PLUGIN_NAME = "dashscope-private"
#: What the plugin's ``setup`` raises on a worker without the package (matched by the client).
NOT_INSTALLED = "dashscope-private is not installed in the environment of Dask worker"

_patcher = Patcher("distributed")
_plugin_type: Optional[type] = None


def take(settings: Mapping[str, str]) -> Dict[str, str]:
    """The worker's half (the plugin's ``setup`` calls it): adopt the driver's settings."""
    from .._boot import watch_environ

    watch_environ()  # installed by the .pth already; where that did not run, the writes must still activate
    return adopt(settings)


def _plugin_class() -> type:
    """The worker plugin, a class local to this function: cloudpickle ships it by value, not by name."""
    global _plugin_type
    if _plugin_type is None:
        from distributed.diagnostics.plugin import WorkerPlugin

        class DashscopePrivateSettings(WorkerPlugin):  # type: ignore[misc]
            """Writes the driver's ``DASHSCOPE_PRIVATE_*`` settings into each worker's environment."""

            name = PLUGIN_NAME
            idempotent = False  # a new client's settings replace the last one's
            not_installed = NOT_INSTALLED  # a class attribute: shipped with the class, no import needed

            def __init__(self, settings: dict) -> None:
                self.settings = dict(settings)

            def setup(self, worker):  # type: ignore[no-untyped-def]
                try:
                    from dashscope_private.integrations.distributed import take
                except ImportError:
                    address = getattr(worker, "address", "?")
                    raise RuntimeError(
                        f"{self.not_installed} {address} (or is older than this driver's): its DashScope requests "
                        "are not redirected; install dashscope-private where the workers run"
                    ) from None
                take(self.settings)

        _plugin_type = DashscopePrivateSettings
    return _plugin_type


def _in_worker() -> bool:
    """True in a Dask worker's process (``get_client()`` in a task): the driver's client registered already."""
    from distributed.worker import Worker

    return bool(getattr(Worker, "_instances", ()))


async def _register(client: object) -> None:
    settings = in_force()
    if not settings or _in_worker():
        return
    plugin = _plugin_class()(settings)
    try:
        await client._register_worker_plugin(plugin, name=PLUGIN_NAME, idempotent=False)  # type: ignore[attr-defined]
    except Exception as exc:
        if NOT_INSTALLED not in str(exc):
            raise
        from .. import _log

        _log.once("warning", ("dask-worker", str(exc)), "%s", str(exc))


def _start(original):  # type: ignore[no-untyped-def]
    async def _start(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        result = await original(self, *args, **kwargs)
        try:
            await _register(self)
        except Exception as exc:  # never break the client: say so once (strict mode: raise)
            report("Dask", exc)
        return result

    return _start


def install() -> None:
    from distributed import Client

    _patcher.replace(Client, "_start", _start)


def uninstall() -> list:
    return _patcher.undo()
