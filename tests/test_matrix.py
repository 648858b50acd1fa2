"""The coverage matrix: every stack × {direct, via proxy} × {HTTP, WebSocket} × {redirect, strict-refuse}.

Each cell runs one unchanged request through a driver (``tests/stacks/``)
against the loopback stand-in, with the public URL in the code:

- redirect: the request lands on the endpoint (Host header = the endpoint) and
  nothing reaches the proxy trap;
- strict: ``PublicEgressBlocked`` for an unredirected public host
  (``dashscope-intl``), the endpoint sees nothing, nothing reaches the trap.

"via proxy": ``HTTP(S)_PROXY`` point at the trap and ``NO_PROXY`` names only
``internal.example``, so the endpoint goes direct only because we send it so.
"direct": no proxy variable at all.

The module prints its table at the end. The README's "What is covered" table
comes from the zero-code matrix (``test_zero_code_matrix.py``), which runs the
same drivers as unchanged programs in fresh interpreters, with each import
form first; this one is the quick, debuggable in-process check.
"""

from __future__ import annotations

import pytest

import dashscope_private

import stacks
from stacks import BODY, HEADERS, UNREDIRECTED
from support import PROXY_VARIABLES, blocked_in

DRIVERS = stacks.drivers()
RESULTS: dict = {}


def _cells():
    for driver in DRIVERS:
        for kind in ("http", "ws"):
            if hasattr(driver, kind):
                for route in ("direct", "proxy"):
                    for mode in ("strict",) if getattr(driver, "STRICT_ONLY", False) else ("redirect", "strict"):
                        yield pytest.param(driver, kind, route, mode, id=f"{driver.STACK}-{kind}-{route}-{mode}")


def _send(driver, kind: str, url: str):
    return driver.http(url, BODY, HEADERS) if kind == "http" else driver.ws(url)


@pytest.mark.parametrize("driver, kind, route, mode", list(_cells()))
def test_cell(driver, kind, route, mode, standin, trap, monkeypatch):
    pytest.importorskip(driver.LIBRARY)
    if route == "proxy":
        monkeypatch.setenv("NO_PROXY", "internal.example")
        monkeypatch.setenv("no_proxy", "internal.example")
    else:
        for name in PROXY_VARIABLES:
            monkeypatch.delenv(name, raising=False)
    key = (driver.STACK, kind, route, mode)
    RESULTS[key] = "✗"
    if mode == "redirect":
        dashscope_private.activate(standin.url)
        result = _send(driver, kind, stacks.public_url(driver, kind))  # http:// for a SCHEME_BOUND stack
        assert result in (200, "task-started"), result
        records = [r for r in standin.records if r.path.startswith(stacks.landing_path(driver, kind))]
        assert records and all(r.host == standin.netloc for r in records), standin.records
    else:
        dashscope_private.activate(standin.url, strict=True)
        with pytest.raises(BaseException) as info:
            _send(driver, kind, UNREDIRECTED[kind])
        error = blocked_in(info.value)
        assert error is not None, repr(info.value)
        assert error.host == "dashscope-intl.aliyuncs.com"
        assert standin.records == []
    assert trap.take() == []
    RESULTS[key] = "✓"


@pytest.fixture(scope="module", autouse=True)
def _table():
    yield
    if not RESULTS:
        return
    from stacks.table import render

    rows = [{"stack": stack, "kind": kind, "route": route, "mode": mode, "result": mark} for (stack, kind, route, mode), mark in sorted(RESULTS.items())]
    print("\n" + render(rows, DRIVERS))
