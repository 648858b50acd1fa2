"""Strict mode's process-level net: name lookups and proxy tunnels to public Model Studio hosts are refused.

These drive code that no integration knows (raw sockets, asyncio streams,
``http.client`` tunnels): only the net can stop them. The conftest loopback
guard sits underneath and records any lookup that got past the net, so a
miss fails the test without a packet leaving the machine.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import shutil
import socket
import subprocess
import sys

import pytest

import dashscope_private
from dashscope_private import PublicEgressBlocked, _runtime
from dashscope_private.errors import ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PUBLIC = ("dashscope-intl.aliyuncs.com", "dashscope-us.aliyuncs.com", "cn-hongkong.dashscope.aliyuncs.com", "ws-1.cn-beijing.maas.aliyuncs.com")


@pytest.fixture
def strict(standin):
    dashscope_private.activate(standin.url, strict=True)
    yield standin


@pytest.mark.parametrize("host", PUBLIC + ("dashscope.aliyuncs.com", "DashScope.Aliyuncs.com.", b"dashscope-intl.aliyuncs.com"))
def test_lookups_of_public_hosts_are_refused(strict, host):
    """Every public host, the redirected one too (if it is being resolved, it was not redirected)."""
    for lookup in (lambda: socket.getaddrinfo(host, 443), lambda: socket.gethostbyname(host), lambda: socket.create_connection((host, 443), timeout=1)):
        with pytest.raises(PublicEgressBlocked) as info:
            lookup()
        assert info.value.host.endswith("aliyuncs.com")


def test_idna_lookalike_is_refused(strict):
    """Full-width letters map to ASCII under IDNA: getaddrinfo would look up the real host."""
    with pytest.raises(PublicEgressBlocked):
        socket.getaddrinfo("ｄａｓｈｓｃｏｐｅ-intl.aliyuncs.com", 443)


def test_endpoint_loopback_allowed_and_odd_inputs_pass(strict, standin):
    assert socket.getaddrinfo(standin.host, standin.port)
    assert socket.getaddrinfo("localhost", 80)
    assert socket.getaddrinfo(None, 80, flags=socket.AI_PASSIVE)
    with socket.create_connection((standin.host, standin.port), timeout=5):
        pass


def test_allow_list_passes_the_net(standin):
    dashscope_private.activate(standin.url, strict=True, allow="dashscope-us.aliyuncs.com")
    with pytest.raises(socket.gaierror):  # past our net; the test's loopback guard refuses it
        socket.getaddrinfo("dashscope-us.aliyuncs.com", 443)
    from conftest import _ESCAPES

    assert _ESCAPES == [("lookup", "dashscope-us.aliyuncs.com")]
    _ESCAPES.clear()


def test_asyncio_resolution_is_refused_before_the_executor(strict):
    async def main():
        loop = asyncio.get_running_loop()
        with pytest.raises(PublicEgressBlocked):
            await loop.getaddrinfo("dashscope-intl.aliyuncs.com", 443)
        with pytest.raises(PublicEgressBlocked):
            await asyncio.open_connection("dashscope-us.aliyuncs.com", 443)

    asyncio.run(main())


def test_http_client_tunnel_through_a_proxy_is_refused(strict, trap):
    """CONNECT through HTTPS_PROXY resolves nothing locally: the tunnel itself is checked."""
    proxy = trap.url.split("://", 1)[1]
    for target in ("dashscope-intl.aliyuncs.com", "dashscope-intl.aliyuncs.com:443"):
        connection = http.client.HTTPSConnection(proxy, timeout=5)
        with pytest.raises(PublicEgressBlocked):
            connection.set_tunnel(target, 443 if ":" not in target else None)
    assert trap.take() == []


def test_no_net_without_strict_mode(standin):
    before = socket.getaddrinfo
    dashscope_private.activate(standin.url)
    assert socket.getaddrinfo is before
    dashscope_private.activate(standin.url, strict=True)
    assert socket.getaddrinfo is not before
    dashscope_private.activate(standin.url, strict=False)  # strict switched off again: the net goes
    assert socket.getaddrinfo is before
    dashscope_private.activate(standin.url, strict=True)
    dashscope_private.deactivate()
    assert socket.getaddrinfo is before


def test_invalid_configuration_fails_closed_at_the_net(monkeypatch):
    monkeypatch.setenv("DASHSCOPE_PRIVATE_ENDPOINT", "ep-2zei6917b47eed******.dashscope.cn-beijing.privatelink.aliyuncs.com")
    _runtime.activate_from_environment()
    with pytest.raises(ConfigError, match="DASHSCOPE_PRIVATE_ENDPOINT"):
        socket.getaddrinfo("dashscope.aliyuncs.com", 443)
    assert socket.getaddrinfo("localhost", 80)


@pytest.mark.skipif(not shutil.which("unshare") or os.geteuid() != 0, reason="needs root for a loopback-only network namespace")
def test_zero_code_strict_program_that_only_uses_sockets(tmp_path):
    """An unchanged program that never imports a library we patch: start-up in strict mode watches
    ``socket``, so the net is in place before its first lookup. Run in a loopback-only network
    namespace, so that even a miss could not send a DNS query anywhere."""
    program = tmp_path / "raw.py"
    program.write_text(
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('dashscope-intl.aliyuncs.com', 443), timeout=2)\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__)\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": ROOT,
        "DASHSCOPE_PRIVATE_ENDPOINT": "ep-2zei6917b47eed0000.dashscope.cn-beijing.privatelink.aliyuncs.com",
        "DASHSCOPE_PRIVATE_STRICT": "1",
    }
    command = f"ip link set lo up; exec {sys.executable} -c 'import dashscope_private.auto; exec(open(\"{program}\").read())'"
    result = subprocess.run(["unshare", "--net", "sh", "-c", command], env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "PublicEgressBlocked", (result.stdout, result.stderr)
