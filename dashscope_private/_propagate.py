"""The settings a driver carries to its cluster's workers (Ray, Spark, Dask), and how a worker takes them.

A cluster started on its own (``ray start``, a Spark standalone worker, ``dask worker``)
does not see the driver's environment, so its workers would send DashScope requests to
the public host while the driver goes private. Each engine's integration hands the
values returned by :func:`in_force` to the engine's own job-level mechanism (Ray's
``runtime_env`` ``env_vars``, ``spark.executorEnv.*``, a Dask worker plugin), which
already runs the driver's code on the workers: nothing new is granted.

Values, never file paths: a worker has no ``.env`` of the driver's, nor its
``DASHSCOPE_PRIVATE_CONFIG`` file, whose settings travel as the variables they stand
for (:func:`carried`). What the user
set in the engine's own mechanism wins, variable by variable (:func:`missing_from`).
Nothing here imports more than ``config`` (and ``config_file`` for a settings file);
the runtime is read only when asked.
"""

from __future__ import annotations

import os

from .config import ACTIVATING, CONFIG, DISABLE, ENDPOINT, FILE_KEYS, PROPAGATE, ROUTES, VARIABLES, _parse_bool

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, Mapping, MutableMapping, Optional

__all__ = ["carried", "missing_from", "in_force", "adopt", "report"]


def _flag(settings: Mapping[str, str], variable: str, default: bool) -> bool:
    """A boolean setting; an invalid value counts as ``default`` (``config.load`` reports it)."""
    text = settings.get(variable, "").strip()
    if not text:
        return default
    try:
        return _parse_bool(variable, text)
    except Exception:  # ConfigError: the driver already failed closed and said so once
        return default


def carried(settings: Mapping[str, str]) -> Dict[str, str]:
    """The ``DASHSCOPE_PRIVATE_*`` values a driver with ``settings`` in force gives its workers.

    Empty when no endpoint, route or file is set, the kill switch is on, or
    ``DASHSCOPE_PRIVATE_PROPAGATE`` is off. An invalid configuration is carried as it is:
    the driver fails closed, and so do its workers, rather than letting them go public.
    """
    if not any(settings.get(name, "").strip() for name in ACTIVATING):
        return {}
    values = {name: settings[name] for name in VARIABLES if settings.get(name, "").strip()}
    if CONFIG in values:
        values = _inline_file(values)
    return {} if _flag(values, DISABLE, False) or not _flag(values, PROPAGATE, True) else values


def _inline_file(values: Dict[str, str]) -> Dict[str, str]:
    """``values`` with the settings file's contents in place of its path (variables still win, route by route)."""
    from .config_file import read_settings
    from .hosts import parse_pattern
    from .routes import parse_routes

    try:
        file_values, _labels, file_routes = read_settings(values[CONFIG].strip(), FILE_KEYS, CONFIG)
        named = {pattern for pattern, _ in parse_routes(values.get(ROUTES, ""), ROUTES)}
        routes = [values[ROUTES]] if values.get(ROUTES, "").strip() else []
        routes += [f"{parse_pattern(p, CONFIG)}={e.strip()}" for p, e, _ in file_routes if parse_pattern(p, CONFIG) not in named]
    except Exception:  # ConfigError: carried as it is, so the workers fail closed as the driver does
        return values
    inlined = {**file_values, **values}
    del inlined[CONFIG]
    if routes:
        inlined[ROUTES] = ",".join(routes)
    return inlined


def missing_from(ours: Mapping[str, str], *theirs: Optional[Mapping[str, object]]) -> Dict[str, str]:
    """``ours`` less every variable already set in one of ``theirs`` (the user's own, which wins)."""
    taken: set = set()
    for mapping in theirs:
        if mapping:
            taken.update(mapping)
    return {name: value for name, value in ours.items() if name not in taken}


def in_force() -> Dict[str, str]:
    """What this process carries to its workers now: nothing unless the plugin is active here.

    Read at the moment a job starts (``ray.init``, a ``SparkContext``, a Dask ``Client``),
    so values set after start-up (``load_dotenv()`` first) are included.
    """
    from . import _boot, _state

    if _state.current() is None:
        return {}
    return carried(_boot.settings())


#: What :func:`adopt` wrote into this worker's environment, per variable.
_adopted: Dict[str, str] = {}


def adopt(settings: Mapping[str, str], environ: Optional[MutableMapping[str, str]] = None) -> Dict[str, str]:
    """A long-lived worker (Dask) takes a driver's settings into its environment; returns what it wrote.

    A variable the worker had of its own (its nanny's environment, the platform's
    deployment) wins and is never written. One written for an earlier driver and not
    given now is emptied, so the worker's configuration is the new driver's. The
    endpoint is written last: the ``os.environ`` watcher re-reads the whole
    configuration on each write, and the last write sees the complete set.
    """
    environ = os.environ if environ is None else environ
    own = {name for name in VARIABLES if name in environ and name not in _adopted}
    wanted = {name: value for name, value in settings.items() if name in VARIABLES and name not in own}
    for name in _adopted:
        wanted.setdefault(name, "")
    written = {}
    for name in sorted(wanted, key=lambda n: n == ENDPOINT):
        value = wanted[name]
        if environ.get(name) != value:
            environ[name] = value
            written[name] = value
        _adopted[name] = value
    return written


def report(engine: str, exc: BaseException) -> None:
    """Carrying the settings failed: one warning line (the job goes on), an error in strict mode."""
    from . import _log, _state

    message = (
        f"dashscope-private could not carry its settings to the {engine} workers ({type(exc).__name__}: {exc}); "
        "their DashScope requests are not redirected unless the cluster sets DASHSCOPE_PRIVATE_* itself"
    )
    router = _state.current()
    if router is not None and router.config is not None and router.config.strict:
        from .errors import IntegrationError

        raise IntegrationError(message) from exc
    _log.once("warning", ("propagate", engine, message), "%s", message)
