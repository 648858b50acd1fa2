"""Ray: a job's workers get the driver's settings through its ``runtime_env`` ``env_vars``.

A cluster started with ``ray start`` never sees the driver's environment, so a
driver's ``ray.init(address="auto")`` would leave every task and actor public.
``ray.init`` (and so Ray's auto-init, and Ray Client's ``ray://`` addresses) and
``JobSubmissionClient.submit_job`` (also behind ``ray job submit``) get the
settings in force merged into the job's ``runtime_env`` ``env_vars``, which Ray
applies to every task and actor of the job, nested ones included; the ``.pth`` of
dashscope-private installed on the cluster activates each worker.

A variable already in the ``env_vars`` (of ``runtime_env=``, of a ``job_config=``,
or of the submitted job a driver runs in) wins and is left as it is: Ray refuses a
driver's variable that repeats one of its submitted job's. Nothing is merged while
inactive or with ``DASHSCOPE_PRIVATE_PROPAGATE=0``; the user's objects are never
modified (a merged copy is passed on).
"""

from __future__ import annotations

import copy
import json
import os

from .._patching import Patcher
from .._propagate import in_force, missing_from, report
from .._state import on_import

__all__ = ["install", "uninstall"]

#: Set by Ray's job manager in a submitted job's driver: that job's configuration, runtime_env included.
_JOB_CONFIG_VARIABLE = "RAY_JOB_CONFIG_JSON_ENV_VAR"

_patcher = Patcher("ray")


def _env_vars(runtime_env: object) -> dict:
    """The ``env_vars`` of a runtime_env (a dict or Ray's ``RuntimeEnv``, itself a dict); ``{}`` if none."""
    if isinstance(runtime_env, dict):
        env_vars = runtime_env.get("env_vars")
        if isinstance(env_vars, dict):
            return env_vars
    return {}


def _submitted_job_env_vars() -> dict:
    """The ``env_vars`` of the submitted job this driver runs in, if it is one."""
    text = os.environ.get(_JOB_CONFIG_VARIABLE)
    if not text:
        return {}
    try:
        return _env_vars(json.loads(text).get("runtime_env"))
    except (ValueError, AttributeError):
        return {}


def _with_env_vars(runtime_env: object, extra: dict) -> dict:
    """A copy of ``runtime_env`` (``None``: a new one) whose ``env_vars`` also hold ``extra``."""
    merged = dict(runtime_env) if isinstance(runtime_env, dict) else {}
    merged["env_vars"] = {**extra, **_env_vars(runtime_env)}
    return merged


def _init_kwargs(kwargs: dict) -> dict:
    """``ray.init``'s keyword arguments with the settings in force merged into the job's runtime_env."""
    ours = in_force()
    if not ours:
        return kwargs
    runtime_env = kwargs.get("runtime_env")
    job_config = kwargs.get("job_config")
    job_env = getattr(job_config, "runtime_env", None) if runtime_env is None else None
    extra = missing_from(ours, _env_vars(runtime_env), _env_vars(job_env), _submitted_job_env_vars())
    if not extra:
        return kwargs
    kwargs = dict(kwargs)
    # ray.init(job_config=...) with a runtime_env of its own: ray.init's runtime_env would
    # replace it, so the merged copy carries it, and a copy of the job_config is passed on.
    kwargs["runtime_env"] = _with_env_vars(runtime_env if runtime_env is not None else job_env, extra)
    if job_env is not None:
        kwargs["job_config"] = copy.copy(job_config)
    return kwargs


def _submit_kwargs(kwargs: dict) -> dict:
    """``submit_job``'s keyword arguments with the settings in force merged into the job's runtime_env."""
    ours = in_force()
    extra = missing_from(ours, _env_vars(kwargs.get("runtime_env"))) if ours else {}
    if not extra:
        return kwargs
    return {**kwargs, "runtime_env": _with_env_vars(kwargs.get("runtime_env"), extra)}


def _init(original):  # type: ignore[no-untyped-def]
    def init(*args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            kwargs = _init_kwargs(kwargs)
        except Exception as exc:  # never break ray.init: say so once (strict mode: raise)
            report("Ray", exc)
        return original(*args, **kwargs)

    return init


def _submit_job(original):  # type: ignore[no-untyped-def]
    def submit_job(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            kwargs = _submit_kwargs(kwargs)
        except Exception as exc:
            report("Ray", exc)
        return original(self, *args, **kwargs)

    return submit_job


def _patch_job_submission(module):  # type: ignore[no-untyped-def]
    _patcher.replace(module.JobSubmissionClient, "submit_job", _submit_job)


def install() -> None:
    import ray
    import ray._private.worker as worker

    _patcher.replace(worker, "init", _init)
    _patcher.replace(ray, "init", _init)  # the same function, re-exported: `ray.init` is what users call
    # Imported lazily by ray.job_submission (and `ray job submit`), not by `import ray`.
    on_import("ray", "ray.dashboard.modules.job.sdk", _patch_job_submission)


def uninstall() -> list:
    return _patcher.undo()
