"""Shared fixtures: the stand-in endpoint, the proxy trap, activation and environment isolation."""

from __future__ import annotations

import os
import sys

import pytest

import dashscope_private
from dashscope_private import _log, _runtime
from dashscope_private.standin import StandIn

sys.path.insert(0, os.path.dirname(__file__))
from support import ESCAPES, LOOPBACK_NO_PROXY, PROXY_VARIABLES, install_loopback_guard, save_machine_proxies  # noqa: E402
from trap import Trap  # noqa: E402

save_machine_proxies()
_TRAP = Trap()
# Set before any HTTP library reads the environment, and inherited by every
# subprocess the tests start: nothing unredirected can leave loopback.
for _name in PROXY_VARIABLES:
    os.environ[_name] = _TRAP.url
os.environ["NO_PROXY"] = os.environ["no_proxy"] = LOOPBACK_NO_PROXY
for _name in list(os.environ):
    if _name.startswith("DASHSCOPE_PRIVATE_") or _name in ("OPENAI_BASE_URL", "DASHSCOPE_HTTP_BASE_URL", "DASHSCOPE_WEBSOCKET_BASE_URL"):
        del os.environ[_name]
os.environ.setdefault("DASHSCOPE_API_KEY", "sk-test-dashscope")
os.environ.setdefault("OPENAI_API_KEY", "sk-test-openai")

# Second net (see support.install_loopback_guard): lookups and connections only to loopback.
install_loopback_guard()


@pytest.fixture(scope="session")
def trap() -> Trap:
    return _TRAP


@pytest.fixture(autouse=True)
def _nothing_escapes_and_state_is_reset():
    """Every test: starts and ends inactive, and nothing may reach the trap unless the test took it."""
    _TRAP.take()
    ESCAPES.clear()
    yield
    dashscope_private.deactivate()
    _log.reset_once()
    if "urllib.request" in sys.modules:  # urlopen's global opener keeps the proxies it first saw
        sys.modules["urllib.request"].install_opener(None)
    leaked = _TRAP.take()
    assert not leaked, f"requests escaped to the proxy trap (they would have left the VPC): {leaked}"
    escaped = list(ESCAPES)
    ESCAPES.clear()
    assert not escaped, f"non-loopback lookups or connections were attempted (refused by the test guard): {escaped}"


# ------------------------------------------------------------------ zero-code: the wheel in fresh venvs


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> str:
    """The wheel, built once per session; every zero-code test installs this one."""
    import glob

    from venvs import ROOT, tool

    out = tmp_path_factory.mktemp("wheel")
    tool("build", "-q", "--wheel", "-o", str(out), ROOT, timeout=300)
    (path,) = glob.glob(str(out / "*.whl"))
    return path


@pytest.fixture(scope="session")
def user_venv(wheel, tmp_path_factory) -> str:
    """A fresh venv with the wheel and the SDKs, as `pip install dashscope-private` would leave it."""
    from venvs import sdk_pins, venv

    return venv(str(tmp_path_factory.mktemp("venv") / "user"), [wheel, *sdk_pins()])


@pytest.fixture(scope="session")
def plain_venv(tmp_path_factory) -> str:
    """A venv with the SDKs but without dashscope-private."""
    from venvs import sdk_pins, venv

    return venv(str(tmp_path_factory.mktemp("venv") / "plain"), [p for p in sdk_pins() if not p.startswith(("wrapt", "dspy"))])


@pytest.fixture
def standin():
    with StandIn() as server:
        yield server


@pytest.fixture
def private(standin):
    """Activated with the stand-in as the endpoint (http, loopback); yields the stand-in."""
    dashscope_private.activate(standin.url)
    yield standin
    dashscope_private.deactivate()


@pytest.fixture
def strict(standin):
    """Activated in strict mode with the stand-in as the endpoint; yields the stand-in."""
    dashscope_private.activate(standin.url, strict=True)
    yield standin


@pytest.fixture
def no_loopback_exemption(monkeypatch):
    """Proxy variables point at the trap (conftest) and NO_PROXY does not name loopback.

    Call the returned function again after activating: whatever activation may
    export to NO_PROXY, loopback is then not exempt. Deactivates before
    monkeypatch restores the variables, so the session's values come back.
    """

    def apply():
        monkeypatch.setenv("NO_PROXY", "internal.example")
        monkeypatch.setenv("no_proxy", "internal.example")

    apply()
    yield apply
    dashscope_private.deactivate()


@pytest.fixture
def installed():
    return _runtime.installed_integrations
