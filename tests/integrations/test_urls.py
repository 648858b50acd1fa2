"""The helpers every per-request hook is built from (``integrations/_urls.py``, and the egress guard's ``check_host``)
never raise on input they do not understand (issue 9, part 3).

Over generated odd inputs (bytes URLs and header values, URL objects of other
libraries, IDNA and IPv6 hosts, empty strings, ``None``, arbitrary objects) they
return normally (their input unchanged where it is not a DashScope URL they
understand) or raise only our deliberate ``PublicEgressBlocked`` / ``ConfigError``.
The libraries' own request-building entry points are checked the same way, differentially
(the outcome with the plugin active equals the outcome without), in each integration's module.
"""

from __future__ import annotations

import pytest

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402

import dashscope_private  # noqa: E402
from dashscope_private import _egress_guard  # noqa: E402
from dashscope_private.errors import DashscopePrivateError  # noqa: E402
from dashscope_private.integrations import _urls  # noqa: E402
from support import hook_input_strategies  # noqa: E402

_, odd_values, _, _ = hook_input_strategies()


@pytest.fixture(params=["plain", "strict"])
def active(request, standin):
    dashscope_private.activate(standin.url, strict=request.param == "strict")
    yield standin


def _only_ours(call, *args):
    try:
        return call(*args)
    except DashscopePrivateError:
        return None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=odd_values)
def test_helpers_never_raise_anything_but_ours(active, value):
    for helper in (_urls.route_url, _urls.rewrite_setting, _urls.names_redirected_host, _urls.is_endpoint, _urls.url_is_for_endpoint, _egress_guard.check_host):
        result = _only_ours(helper, value)
        if helper in (_urls.route_url, _urls.rewrite_setting) and not isinstance(value, str):
            assert result is value or result is None
    assert _only_ours(_urls.rewrite_httpx_url, value) is value or isinstance(value, str)


def test_every_spelling_of_host_is_one_set_lookup():
    from hypothesis import strategies as st

    from dashscope_private.integrations._urls import HOST_SPELLINGS

    assert len(HOST_SPELLINGS) == 16 and all(isinstance(name, str) for name in HOST_SPELLINGS)

    @given(st.one_of(st.text(alphabet="hHoOsStTK\u212a ", max_size=6), st.sampled_from(["Host", "HOST", "hOsT", "host ", "hostx"])))
    def same_as_lower(name):
        assert (name in HOST_SPELLINGS) == (name.lower() == "host")

    same_as_lower()
