"""The ``dashscope_private.decisions`` counter with a real OpenTelemetry SDK MeterProvider.

Each case runs in a fresh interpreter: OpenTelemetry's global MeterProvider can be set once.
"""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from venvs import run

pytest.importorskip("opentelemetry.sdk.metrics")

READ = textwrap.dedent("""
    points = {}
    for rm in reader.get_metrics_data().resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == "dashscope_private.decisions":
                    for p in metric.data.data_points:
                        a = p.attributes
                        points[a["decision"] + " " + a["host"] + " " + a["integration"]] = p.value
    print(json.dumps(points))
""")

SETUP = textwrap.dedent("""
    import json
    from opentelemetry import metrics
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
""")

REQUESTS = textwrap.dedent("""
    import requests, dashscope_private
    from dashscope_private.standin import StandIn
    with StandIn() as s:
        dashscope_private.activate(s.url, strict=True)
        for _ in range(3):
            requests.get("https://dashscope.aliyuncs.com/api/v1/x")
        try:
            requests.get("https://dashscope-intl.aliyuncs.com/api/v1/x")
        except dashscope_private.PublicEgressBlocked:
            pass
""")


def _points(code: str) -> dict:
    result = run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_counter_with_a_configured_meter_provider():
    assert _points(SETUP + REQUESTS + READ) == {
        "redirected dashscope.aliyuncs.com requests": 3,
        "blocked dashscope-intl.aliyuncs.com requests": 1,
    }


def test_provider_configured_after_activation_is_picked_up():
    """The usual order in an application: the SDK is imported (and activates) before telemetry is set up."""
    code = REQUESTS.replace("for _ in range(3)", "exec(SETUP, globals())\n    for _ in range(3)") + READ
    assert _points(f"SETUP = {SETUP!r}\n" + code) == {
        "redirected dashscope.aliyuncs.com requests": 3,
        "blocked dashscope-intl.aliyuncs.com requests": 1,
    }


def test_no_provider_no_counter_and_no_import_without_opentelemetry():
    code = REQUESTS + textwrap.dedent("""
        import sys
        from dashscope_private import _state
        print(json.dumps([_state._recorder is None, "opentelemetry" in sys.modules]))
    """)
    result = run(sys.executable, "-c", "import json\n" + code)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [True, False], result.stderr
    # the API imported but no provider configured: nothing is counted, nothing fails
    code = "import json\nfrom opentelemetry import metrics\n" + REQUESTS + "print(json.dumps(_m()))\n"
    code = code.replace("import requests, dashscope_private", "import requests, dashscope_private\n"
                        "def _m():\n    from dashscope_private import _state\n    return _state._recorder.metrics._counter is None")
    result = run(sys.executable, "-c", code)
    assert result.returncode == 0 and result.stdout.strip().splitlines()[-1] == "true", result.stderr
