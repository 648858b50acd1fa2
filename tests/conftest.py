"""Shared fixtures: the stand-in endpoint, the proxy trap, activation and environment isolation."""

from __future__ import annotations

import os
import socket
import sys

import pytest

import dashscope_private
from dashscope_private import _log, _runtime
from dashscope_private.standin import StandIn

sys.path.insert(0, os.path.dirname(__file__))
from trap import Trap  # noqa: E402

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
LOOPBACK_NO_PROXY = "127.0.0.1,localhost,::1"

#: The environment as the machine gave it, for tool subprocesses (uv, pip) that need the registry.
ORIGINAL_ENVIRON = dict(os.environ)

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


# Second net, for clients that ignore proxy variables (aiohttp without trust_env,
# raw sockets): in this process, name lookups and connections may only go to
# loopback. An attempt to go elsewhere fails at once and fails the test; it
# never makes a test pass, and no packet leaves the machine.
_ESCAPES: list = []
_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(host) -> bool:
    if host is None:
        return True
    if isinstance(host, (bytes, bytearray)):
        host = host.decode("ascii", "replace")
    host = host.strip("[]").lower().rstrip(".")
    return host in ("", "localhost", "::1", "0:0:0:0:0:0:0:1") or host.startswith("127.") or host.endswith(".localhost")


def _loopback_getaddrinfo(host, *args, **kwargs):
    if not _is_loopback(host):
        _ESCAPES.append(("lookup", host))
        raise socket.gaierror(socket.EAI_NONAME, f"test guard: {host!r} is not loopback")
    return _real_getaddrinfo(host, *args, **kwargs)


def _address_host(address):
    return address[0] if isinstance(address, tuple) else None  # AF_UNIX paths are local


def _loopback_connect(self, address):
    if not _is_loopback(_address_host(address)):
        _ESCAPES.append(("connect", address))
        raise ConnectionRefusedError(f"test guard: {address!r} is not loopback")
    return _real_connect(self, address)


def _loopback_connect_ex(self, address):
    if not _is_loopback(_address_host(address)):
        _ESCAPES.append(("connect", address))
        raise ConnectionRefusedError(f"test guard: {address!r} is not loopback")
    return _real_connect_ex(self, address)


socket.getaddrinfo = _loopback_getaddrinfo
socket.socket.connect = _loopback_connect
socket.socket.connect_ex = _loopback_connect_ex


@pytest.fixture(scope="session")
def trap() -> Trap:
    return _TRAP


@pytest.fixture(autouse=True)
def _nothing_escapes_and_state_is_reset():
    """Every test: starts and ends inactive, and nothing may reach the trap unless the test took it."""
    _TRAP.take()
    _ESCAPES.clear()
    yield
    dashscope_private.deactivate()
    _log.reset_once()
    if "urllib.request" in sys.modules:  # urlopen's global opener keeps the proxies it first saw
        sys.modules["urllib.request"].install_opener(None)
    leaked = _TRAP.take()
    assert not leaked, f"requests escaped to the proxy trap (they would have left the VPC): {leaked}"
    escaped = list(_ESCAPES)
    _ESCAPES.clear()
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


def only_hosts(records) -> set:
    return {r.host for r in records}


def landed(standin, kind, path):
    """The stand-in's records of ``kind``; asserts there are some, all for the endpoint and under ``path``."""
    records = [r for r in standin.records if r.kind == kind]
    assert records, f"no {kind} request reached the endpoint"
    assert all(r.host == standin.netloc for r in records), records
    assert all(r.path.startswith(path) for r in records), records
    return records


@pytest.fixture
def installed():
    return _runtime.installed_integrations
