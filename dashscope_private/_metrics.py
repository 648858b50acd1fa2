"""The OpenTelemetry counter ``dashscope_private.decisions`` (attributes decision, host, integration).

No dependency: this module is imported only when ``opentelemetry.metrics`` is already in
``sys.modules`` (the program uses OpenTelemetry), so a program without it pays nothing.
The counter exists only once a real MeterProvider is configured: until then
(``opentelemetry-api``'s default proxy provider) each decision costs one attribute read.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, Tuple

__all__ = ["Metrics", "NAME", "wanted"]

NAME = "dashscope_private.decisions"
_API = "opentelemetry.metrics"


def wanted() -> bool:
    """True when the program has imported OpenTelemetry's metrics API (nothing is imported here)."""
    return _API in sys.modules


class Metrics:
    """Adds 1 to the counter per decision, once a MeterProvider is configured."""

    def __init__(self) -> None:
        self._api: Any = sys.modules[_API]
        self._internal: Any = sys.modules.get(_API + "._internal")
        self._counter: Any = None
        self._attributes: Dict[Tuple[str, str, str], Dict[str, str]] = {}

    def _configured(self) -> bool:
        internal = self._internal
        if internal is not None and hasattr(internal, "_METER_PROVIDER"):
            return internal._METER_PROVIDER is not None  # set by set_meter_provider (or OTEL_PYTHON_METER_PROVIDER)
        provider = self._api.get_meter_provider()
        return type(provider).__name__ not in ("_ProxyMeterProvider", "ProxyMeterProvider", "NoOpMeterProvider")

    def add(self, decision: str, host: str, integration: str) -> None:
        counter = self._counter
        if counter is None:
            if not self._configured():
                return
            try:
                version = getattr(sys.modules.get("dashscope_private"), "__version__", None)  # our package, loaded
                meter = self._api.get_meter_provider().get_meter("dashscope_private", version)
                counter = self._counter = meter.create_counter(
                    NAME, unit="{decision}", description="Routing decisions for Model Studio hosts (dashscope-private)"
                )
            except Exception as exc:
                from . import _log

                _log.once("warning", "metrics", "dashscope-private could not create the %s counter: %s", NAME, exc)
                self._configured = lambda: False  # type: ignore[method-assign]
                return
        key = (decision, host, integration)
        attributes = self._attributes.get(key)
        if attributes is None:
            attributes = self._attributes[key] = {"decision": decision, "host": host, "integration": integration}
        try:
            counter.add(1, attributes)
        except Exception:  # a broken exporter must not break the request
            pass
