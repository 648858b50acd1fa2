"""Strict mode's net as a user meets it: the wheel in a fresh venv, an unchanged program, only variables set.

Each program hands a public Model Studio host to the network one way that the
net used to miss (a socket method resolving it in C, a reverse lookup, TLS, a
proxy's absolute-form target) and prints the name of the exception it got. The
programs run with the zero-code matrix's loopback guard (an audit hook that
refuses anything not loopback before it happens) and inside a loopback-only
network namespace: ``socket.connect`` resolves its host in C *before* any audit
event, so only the namespace keeps a regression from making a real DNS query.
With the net, each program gets ``PublicEgressBlocked``; without it, an
``OSError`` of the guard or the namespace.
"""

from __future__ import annotations

import os
import shutil
import textwrap

import pytest

from venvs import run

CAN_ISOLATE = hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("unshare") and shutil.which("ip")

pytestmark = pytest.mark.slow

GUARD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stacks", "_guard")
HOST = "dashscope-intl.aliyuncs.com"  # public, and not redirected when only Beijing is configured

PROGRAMS = {
    "socket.connect": f"import socket\ns = socket.socket()\ns.connect(({HOST!r}, 443))",
    "socket.connect_ex": f"import socket\nsocket.socket().connect_ex(({HOST!r}, 443))",
    "udp sendto": f"import socket\nsocket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ({HOST!r}, 443))",
    "gethostbyaddr": f"import socket\nsocket.gethostbyaddr({HOST!r})",
    "ssl wrap_socket + connect": (
        "import socket, ssl\n"
        f"ssl.create_default_context().wrap_socket(socket.socket(), server_hostname={HOST!r}).connect(({HOST!r}, 443))"
    ),
    "http.client absolute form to a proxy": (
        "import http.client\n"
        "c = http.client.HTTPConnection('127.0.0.1', PROXY_PORT, timeout=5)\n"
        f"c.request('GET', 'http://{HOST}/api/v1/x')"
    ),
}


def _program(body: str, proxy_port: int) -> str:
    return textwrap.dedent("""
        try:
        {body}
        except BaseException as exc:
            print(type(exc).__name__)
        else:
            print('sent')
    """).format(body=textwrap.indent(body.replace("PROXY_PORT", str(proxy_port)), "    "))


@pytest.mark.skipif(not CAN_ISOLATE, reason="needs root, unshare and ip for a loopback-only network namespace")
@pytest.mark.parametrize("case", sorted(PROGRAMS))
def test_strict_net_refuses_in_an_unchanged_program(user_venv, tmp_path, case):
    (tmp_path / "program.py").write_text(_program(PROGRAMS[case], 9))  # port 9: nothing listens in the namespace
    env = {"DASHSCOPE_PRIVATE_ENDPOINT": "http://127.0.0.1:9", "DASHSCOPE_PRIVATE_STRICT": "1", "PYTHONPATH": GUARD}
    result = run("unshare", "--net", "sh", "-c", f"ip link set lo up && exec {user_venv} program.py", env=env, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "PublicEgressBlocked", result.stdout + result.stderr
    assert "loopback guard: refused" not in result.stderr
