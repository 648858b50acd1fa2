"""Spark: an application's executors get the driver's settings as ``spark.executorEnv.*``.

A standalone (or YARN, Kubernetes) cluster's executors never see the driver's
environment. A ``SparkContext`` (and so a ``SparkSession``) created while active
gets ``spark.executorEnv.DASHSCOPE_PRIVATE_*`` for each setting in force that the
application's configuration does not set: the user's ``spark.executorEnv.*``
(``SparkConf``, the builder's ``.config()``, ``spark-submit --conf``,
``spark-defaults.conf``) and ``SparkContext(environment=...)`` win. The Python
workers get the same values (``SparkContext.environment``, which PySpark sends
with every task). The place is ``SparkContext._initialize_context``, called once
the configuration is complete and just before the JVM context is built from it.
Nothing is added while inactive or with ``DASHSCOPE_PRIVATE_PROPAGATE=0``.
"""

from __future__ import annotations

from .._patching import Patcher
from .._propagate import in_force, report

__all__ = ["install", "uninstall"]

PREFIX = "spark.executorEnv."

_patcher = Patcher("pyspark")


def _add_executor_env(context: object, jconf: object) -> None:
    """``spark.executorEnv.*`` for each setting in force that the configuration lacks."""
    for name, value in in_force().items():
        if not jconf.contains(PREFIX + name):  # type: ignore[attr-defined]
            jconf.set(PREFIX + name, value)  # type: ignore[attr-defined]
            environment = getattr(context, "environment", None)
            if isinstance(environment, dict):  # what PySpark sends its Python workers with each task
                environment.setdefault(name, value)


def _initialize_context(original):  # type: ignore[no-untyped-def]
    def initialize_context(self, jconf, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            _add_executor_env(self, jconf)
        except Exception as exc:  # never break the SparkContext: say so once (strict mode: raise)
            report("Spark", exc)
        return original(self, jconf, *args, **kwargs)

    return initialize_context


def install() -> None:
    import pyspark

    _patcher.replace(pyspark.SparkContext, "_initialize_context", _initialize_context)


def uninstall() -> list:
    return _patcher.undo()
