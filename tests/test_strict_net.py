"""Strict mode's process-level net: name lookups, socket addresses, TLS server names and proxy targets
naming public Model Studio hosts are refused.

These drive code that no integration knows (raw sockets, ssl, asyncio streams,
``http.client`` and httpcore through proxies, gevent and eventlet): only the net
can stop them. The conftest loopback guard, and ``loopback_only_underneath``
here for the entry points it does not watch, sit underneath and record any name
that got past the net, so a miss fails the test without a packet leaving the
machine. gevent and eventlet monkey-patch for good, so they run in subprocesses
inside a loopback-only network namespace, with the same kind of guard.
"""

from __future__ import annotations

import _socket
import asyncio
import errno
import http.client
import os
import shutil
import socket
import ssl
import subprocess
import sys
import textwrap
import threading

import pytest

import dashscope_private
from dashscope_private import PublicEgressBlocked, _runtime
from dashscope_private.errors import ConfigError

from support import ESCAPES, is_loopback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PUBLIC = ("dashscope-intl.aliyuncs.com", "dashscope-us.aliyuncs.com", "cn-hongkong.dashscope.aliyuncs.com", "ws-1.cn-beijing.maas.aliyuncs.com")


def _escape(kind, host):
    ESCAPES.append((kind, host))
    raise socket.gaierror(socket.EAI_NONAME, f"test guard: {host!r} is not loopback")


@pytest.fixture(autouse=True)
def loopback_only_underneath(monkeypatch):
    """conftest's guard watches getaddrinfo, connect and connect_ex; these are the other doors to a
    name lookup. Put in place before each test activates, so they sit under the net: a name the net
    misses is recorded (failing the test) and refused here, and never looked up."""

    def lookup(real, kind):
        def trap(*args, **kwargs):
            host = args[0] if args else None
            if isinstance(host, tuple):  # getnameinfo's sockaddr
                host = host[0] if host else None
            if not is_loopback(host):
                _escape(kind, host)
            return real(*args, **kwargs)

        return trap

    def method(name, first, last):
        real = getattr(socket.socket, name)

        def trap(self, *args):
            for address in args[first:last]:
                if isinstance(address, tuple) and address and not is_loopback(address[0]) and self.family in (socket.AF_INET, socket.AF_INET6):
                    _escape(name, address)
            return real(self, *args)

        monkeypatch.setattr(socket.socket, name, trap)

    for module in (socket, _socket):
        for name in ("gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo") + (("getaddrinfo",) if module is _socket else ()):
            monkeypatch.setattr(module, name, lookup(getattr(module, name), f"{module.__name__}.{name}"))
    for name, first, last in (("sendto", 1, 3), ("sendmsg", 3, 4), ("bind", 0, 1)):
        method(name, first, last)
    yield
    dashscope_private.deactivate()  # the net comes off before what is under it


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
    assert ESCAPES == [("lookup", "dashscope-us.aliyuncs.com")]
    ESCAPES.clear()


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


# ------------------------------------------------------------------ socket methods and module functions

HOST = "dashscope-intl.aliyuncs.com"


def _listener(family=socket.AF_INET, kind=socket.SOCK_STREAM):
    server = socket.socket(family, kind)
    server.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
    if kind == socket.SOCK_STREAM:
        server.listen()
    return server


def _has_ipv6_loopback() -> bool:
    try:
        _listener(socket.AF_INET6).close()
        return True
    except OSError:
        return False


SOCKET_CALLS = {
    "connect": lambda s, a: s.connect(a),
    "connect_ex": lambda s, a: s.connect_ex(a),
    "connect unbound": lambda s, a: socket.socket.connect(s, a),
    "bind": lambda s, a: s.bind(a),
    "sendto": lambda s, a: s.sendto(b"x", a),
    "sendto with flags": lambda s, a: s.sendto(b"x", 0, a),
    "sendmsg": lambda s, a: s.sendmsg([b"x"], [], 0, a),
    "ssl wrap_socket().connect": lambda s, a: ssl.create_default_context().wrap_socket(s, server_hostname="localhost").connect(a),
}


@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6])
@pytest.mark.parametrize("host", [HOST, "DashScope-US.aliyuncs.com.", b"dashscope-intl.aliyuncs.com", "dashscope.aliyuncs.com"])
@pytest.mark.parametrize("call", sorted(SOCKET_CALLS))
def test_socket_methods_with_a_public_host_are_refused(strict, call, host, family):
    """The C socket module resolves a host name in an address itself: connect, connect_ex, bind,
    sendto, sendmsg (and ssl's connect, which is socket.connect) are refused before that."""
    kind = socket.SOCK_DGRAM if call.startswith(("sendto", "sendmsg")) else socket.SOCK_STREAM
    if family == socket.AF_INET6 and not socket.has_ipv6:
        pytest.skip("no IPv6")
    address = (host, 443) if family == socket.AF_INET else (host, 443, 0, 0)
    with socket.socket(family, kind) as sock:
        sock.settimeout(2)
        with pytest.raises(PublicEgressBlocked) as info:
            SOCKET_CALLS[call](sock, address)
    assert info.value.host.endswith("aliyuncs.com")


@pytest.mark.parametrize(
    "call",
    [
        lambda: socket.gethostbyaddr(HOST),
        lambda: socket.gethostbyname_ex(HOST),
        lambda: socket.getnameinfo((HOST, 443), 0),
        lambda: socket.getfqdn(HOST),
        lambda: _socket.gethostbyname(HOST),
        lambda: _socket.gethostbyaddr(HOST),
        lambda: _socket.getnameinfo((HOST, 443, 0, 0), 0),
        lambda: socket.getaddrinfo(host=HOST, port=443),
    ],
    ids=["gethostbyaddr", "gethostbyname_ex", "getnameinfo", "getfqdn", "_socket.gethostbyname", "_socket.gethostbyaddr", "_socket.getnameinfo", "getaddrinfo(host=)"],
)
def test_every_lookup_function_refuses_a_public_name(strict, call):
    """``_socket``'s too (gevent's thread resolver calls them); ``_socket.getaddrinfo`` is left alone,
    as ``socket.getaddrinfo`` calls it: every lookup would be judged twice."""
    with pytest.raises(PublicEgressBlocked):
        call()


def test_tls_server_name_of_a_public_host_is_refused_even_towards_loopback(strict):
    """No lookup at all: an address found elsewhere (pinned, DNS over HTTPS). The ClientHello would
    name the public host; it is refused before the handshake, so the listener gets no byte."""
    received = []
    server = _listener()

    def accept():
        conn, _ = server.accept()
        conn.settimeout(2)
        try:
            received.append(conn.recv(1024))
        except OSError:
            received.append(b"")
        conn.close()

    worker = threading.Thread(target=accept, daemon=True)
    worker.start()
    context = ssl.create_default_context()
    with socket.create_connection(server.getsockname(), timeout=5) as sock:
        with pytest.raises(PublicEgressBlocked):
            context.wrap_socket(sock, server_hostname=HOST)

    async def over_asyncio():
        with pytest.raises(PublicEgressBlocked):
            await asyncio.open_connection(*server.getsockname(), ssl=context, server_hostname=HOST)
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        with pytest.raises(PublicEgressBlocked):
            context.wrap_bio(incoming, outgoing, server_hostname="dashscope-us.aliyuncs.com")

    asyncio.run(over_asyncio())
    worker.join(5)
    server.close()
    assert received in ([b""], []), f"a ClientHello reached the listener: {received!r}"


def _outcome(call):
    try:
        return ("ok", call())
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc), getattr(exc, "errno", None))


def _harmless_calls(tmp_path, ipv6):
    """Addresses the net must not judge, and inputs it must hand on as they are."""
    stream = _listener()
    closed = _listener()
    closed_port = closed.getsockname()[1]
    closed.close()
    datagram = _listener(kind=socket.SOCK_DGRAM)
    unix_path = str(tmp_path / "sock")
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(unix_path)
    unix.listen()

    def fresh(family=socket.AF_INET, kind=socket.SOCK_STREAM):
        sock = socket.socket(family, kind)
        sock.settimeout(1.5)
        return sock

    def connected_timeout():
        with fresh() as sock:
            sock.connect(stream.getsockname())
            return sock.gettimeout(), sock.getpeername() == stream.getsockname()

    calls = {
        "connect IPv4 literal": connected_timeout,
        "connect_ex closed port": lambda: fresh().connect_ex(("127.0.0.1", closed_port)),
        "connect localhost": lambda: fresh().connect(("localhost", stream.getsockname()[1])),
        "connect no argument": lambda: fresh().connect(),
        "connect int": lambda: fresh().connect(123),
        "connect short tuple": lambda: fresh().connect(("127.0.0.1",)),
        "connect bad port": lambda: fresh().connect(("127.0.0.1", "x")),
        "connect keyword": lambda: fresh().connect(address=("127.0.0.1", 1)),
        "AF_UNIX connect": lambda: fresh(socket.AF_UNIX).connect(unix_path),
        "AF_UNIX missing path": lambda: fresh(socket.AF_UNIX).connect(str(tmp_path / "nothing")),
        "AF_UNIX bytes path": lambda: fresh(socket.AF_UNIX).connect_ex(unix_path.encode()),
        "bind IPv4 literal": lambda: fresh().bind(("127.0.0.1", 0)),
        "sendto literal": lambda: fresh(kind=socket.SOCK_DGRAM).sendto(b"abc", datagram.getsockname()),
        "sendto flags": lambda: fresh(kind=socket.SOCK_DGRAM).sendto(b"abc", 0, datagram.getsockname()),
        "sendto no address": lambda: fresh(kind=socket.SOCK_DGRAM).sendto(b"abc"),
        "sendmsg literal": lambda: fresh(kind=socket.SOCK_DGRAM).sendmsg([b"ab", b"c"], [], 0, datagram.getsockname()),
        "sendmsg tuple buffers": lambda: fresh(kind=socket.SOCK_DGRAM).sendmsg((b"dashscope-intl.aliyuncs.com",), [], 0, datagram.getsockname()),
        "getaddrinfo literal": lambda: socket.getaddrinfo("127.0.0.1", 80, type=socket.SOCK_STREAM),
        "getaddrinfo None": lambda: socket.getaddrinfo(None, 80, flags=socket.AI_PASSIVE, type=socket.SOCK_STREAM),
        "getaddrinfo int": lambda: socket.getaddrinfo(5, 80),
        "gethostbyaddr literal": lambda: socket.gethostbyaddr("127.0.0.1"),
        "getnameinfo literal": lambda: socket.getnameinfo(("127.0.0.1", 80), socket.NI_NUMERICHOST | socket.NI_NUMERICSERV),
        "getnameinfo odd": lambda: socket.getnameinfo("127.0.0.1", 0),
        "gethostbyname bytes": lambda: socket.gethostbyname(b"127.0.0.1"),
    }
    if ipv6:
        stream6 = _listener(socket.AF_INET6)
        calls["connect IPv6 literal"] = lambda: fresh(socket.AF_INET6).connect(stream6.getsockname())
        calls["connect_ex IPv6 bytes"] = lambda: fresh(socket.AF_INET6).connect_ex((b"::1", stream6.getsockname()[1], 0, 0))
    return calls


def test_harmless_addresses_and_odd_inputs_behave_exactly_as_without_the_net(standin, tmp_path):
    """AF_UNIX paths, IP literals, loopback names and malformed arguments: the same return values,
    the same exceptions with the same messages, the same timeouts, net or no net."""
    ipv6 = socket.has_ipv6 and _has_ipv6_loopback()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    without = {name: _outcome(call) for name, call in _harmless_calls(tmp_path / "a", ipv6).items()}
    dashscope_private.activate(standin.url, strict=True)
    assert all(getattr(getattr(socket.socket, n), "_dashscope_private_net", False) for n in ("connect", "connect_ex", "bind", "sendto", "sendmsg"))
    with_net = {name: _outcome(call) for name, call in _harmless_calls(tmp_path / "b", ipv6).items()}
    for name in without:
        a, b = without[name], with_net[name]
        if name.startswith("AF_UNIX") and a[0] == "error":  # the path differs between the two runs
            a, b = a[:2] + (a[3],), b[:2] + (b[3],)
        assert a == b, name
    assert with_net["connect IPv4 literal"] == ("ok", (1.5, True))
    assert with_net["connect_ex closed port"] == ("ok", errno.ECONNREFUSED)


def test_uninstall_restores_every_attribute_and_leaves_a_later_wrapper(standin):
    import asyncio.base_events

    targets = [(socket, n) for n in ("getaddrinfo", "gethostbyname", "gethostbyaddr", "getnameinfo")]
    targets += [(_socket, "gethostbyname"), (socket.socket, "connect"), (socket.socket, "sendto"), (ssl.SSLContext, "_wrap_socket")]
    targets += [(http.client.HTTPConnection, "putrequest"), (asyncio.base_events.BaseEventLoop, "getaddrinfo")]
    before = {(id(o), n): (vars(o).get(n, "inherited") if isinstance(o, type) else getattr(o, n)) for o, n in targets}
    dashscope_private.activate(standin.url, strict=True)
    assert all(getattr(getattr(o, n), "_dashscope_private_net", False) for o, n in targets)
    guarded_sendto = socket.socket.sendto

    def theirs(self, *args):  # someone else's instrumentation, put on top of ours
        return guarded_sendto(self, *args)

    socket.socket.sendto = theirs
    dashscope_private.deactivate()
    after = {(id(o), n): (vars(o).get(n, "inherited") if isinstance(o, type) else getattr(o, n)) for o, n in targets}
    assert socket.socket.sendto is theirs
    socket.socket.sendto = before[(id(socket.socket), "sendto")]
    assert {k: v for k, v in after.items() if k != (id(socket.socket), "sendto")} == {k: v for k, v in before.items() if k != (id(socket.socket), "sendto")}


def test_a_kept_copy_of_a_guard_passes_through_once_strict_mode_is_off(standin):
    """``from socket import getaddrinfo`` (or gevent's ``monkey.saved``) keeps our function."""
    dashscope_private.activate(standin.url, strict=True)
    kept = socket.getaddrinfo
    with pytest.raises(PublicEgressBlocked):
        kept(HOST, 443)
    dashscope_private.activate(standin.url, strict=False)
    with pytest.raises(socket.gaierror):  # past the (inert) guard; the test's loopback guard refuses it
        kept(HOST, 443)
    assert ESCAPES == [("lookup", HOST)]
    ESCAPES.clear()


# ------------------------------------------------------------------ proxies: http.client absolute form, httpcore


def test_http_client_absolute_form_request_to_a_proxy_is_refused(strict, trap):
    """``GET http://host/...`` asks the proxy to resolve and reach the host: nothing is sent."""
    proxy = trap.url.split("://", 1)[1]
    for url in (f"http://{HOST}/v1/x", "https://dashscope-us.aliyuncs.com/v1/x", f"http://{HOST.upper()}:80/"):
        connection = http.client.HTTPConnection(proxy, timeout=5)
        with pytest.raises(PublicEgressBlocked):
            connection.putrequest("GET", url)
        with pytest.raises(PublicEgressBlocked):
            connection.request("POST", url, body=b"{}")
        connection.close()
    assert trap.take() == []
    connection = http.client.HTTPConnection(proxy, timeout=5)  # another host through the same proxy goes
    connection.request("GET", "http://example.invalid/x")
    assert connection.getresponse().status == 403
    connection.close()
    assert [r[:2] for r in trap.take()] == [("GET", "http://example.invalid/x")]


def _httpcore_modules():
    """httpcore and httpcore2, those installed (httpx's and httpx2's cores; none in a base install: the test skips)."""
    import importlib

    modules = []
    for name in ("httpcore", "httpcore2"):
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            pass
    return modules


@pytest.mark.parametrize("core", _httpcore_modules(), ids=lambda m: m.__name__)
def test_httpcore_pools_with_a_proxy_refuse_a_public_target(strict, trap, core):
    """A CONNECT tunnel (https) or a forward request (http) names the host to the proxy only."""
    pools = [lambda: core.ConnectionPool(proxy=core.Proxy(trap.url))]
    if hasattr(core, "HTTPProxy"):
        pools.append(lambda: core.HTTPProxy(proxy_url=trap.url))
    for make in pools:
        with make() as pool:
            for url in (f"https://{HOST}/v1/x", f"http://{HOST}/v1/x", "https://dashscope.aliyuncs.com/"):
                with pytest.raises(PublicEgressBlocked):
                    pool.request("GET", url)
            assert pool.connections == []
            response = pool.request("GET", "http://example.invalid/x")  # anything else still goes
            assert response.status == 403
    assert trap.take() == [("GET", "http://example.invalid/x", "example.invalid")] * len(pools)

    async def main():
        async with core.AsyncConnectionPool(proxy=core.Proxy(trap.url)) as pool:
            with pytest.raises(PublicEgressBlocked):
                await pool.request("GET", f"https://{HOST}/v1/x")
            with pytest.raises(PublicEgressBlocked):
                await pool.request("GET", f"http://{HOST}/v1/x")

    asyncio.run(main())
    assert trap.take() == []


# ------------------------------------------------------------------ gevent and eventlet (subprocesses)

NETNS = bool(shutil.which("unshare") and shutil.which("ip")) and os.geteuid() == 0

#: Run first in each child: every name lookup through ``_socket`` that is not loopback is printed
#: and refused, under the net, as conftest does in this process.
PRELUDE = """
import _socket
def _loopback(host):
    if isinstance(host, tuple):
        host = host[0] if host else None
    if isinstance(host, (bytes, bytearray)):
        host = bytes(host).decode("ascii", "replace")
    return host is None or host in ("", "localhost", "::1") or str(host).startswith("127.")
def _trap(name):
    real = getattr(_socket, name)
    def trap(*args, **kwargs):
        if not _loopback(args[0] if args else None):
            print("ESCAPED", name, args[:1], flush=True)
            raise _socket.gaierror(-2, "test guard: not loopback")
        return real(*args, **kwargs)
    setattr(_socket, name, trap)
for _name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo"):
    _trap(_name)
def attempt(label, call):
    try:
        call()
        print(label, "-> went ahead", flush=True)
    except BaseException as exc:
        print(label, "->", type(exc).__name__, flush=True)
H = "dashscope-intl.aliyuncs.com"
"""

PUBLIC_ATTEMPTS = """
import socket
attempt("create_connection", lambda: socket.create_connection((H, 443), timeout=2))
attempt("getaddrinfo", lambda: socket.getaddrinfo(H, 443))
attempt("gethostbyname", lambda: socket.gethostbyname(H))
attempt("gethostbyname_ex", lambda: socket.gethostbyname_ex(H))
attempt("socket.connect", lambda: socket.socket().connect((H, 443)))
attempt("socket.connect_ex", lambda: socket.socket().connect_ex((H, 443)))
attempt("udp sendto", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", (H, 53)))
import ssl
attempt("ssl connect", lambda: ssl.create_default_context().wrap_socket(socket.socket(), server_hostname=H).connect((H, 443)))
server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen()
client = socket.create_connection(server.getsockname(), timeout=5)
print("loopback connect", type(client).__module__, flush=True)
"""


def _run_isolated(program: str) -> list:
    """Run ``program`` after PRELUDE in a loopback-only network namespace; return its output lines."""
    env = {
        **os.environ,
        "PYTHONPATH": ROOT,
        "DASHSCOPE_PRIVATE_ENDPOINT": "ep-2zei6917b47eed0000.dashscope.cn-beijing.privatelink.aliyuncs.com",
        "DASHSCOPE_PRIVATE_STRICT": "1",
        "PYTHONWARNINGS": "ignore",
    }
    code = PRELUDE + textwrap.dedent(program)
    result = subprocess.run(
        ["unshare", "--net", "sh", "-c", 'ip link set lo up; exec "$0" -c "$1"', sys.executable, code],
        env=env, capture_output=True, text=True, timeout=120,
    )
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and "done" in lines, (result.stdout, result.stderr[-3000:])
    assert not [line for line in lines if line.startswith("ESCAPED")], result.stdout
    return lines


def _refusals(lines: list) -> dict:
    return {line.split(" -> ")[0]: line.split(" -> ")[1] for line in lines if " -> " in line}


needs_netns = pytest.mark.skipif(not NETNS, reason="needs root and unshare/ip for a loopback-only network namespace")


@needs_netns
@pytest.mark.parametrize("order", ["net first", "patched first"])
def test_gevent_monkey_patched_sockets_are_refused(order):
    """gunicorn/Celery gevent workers: patch_all() replaces socket's functions and class with gevent's,
    which resolve through gevent's resolver. Both orders: the net installed before patch_all (start-up),
    and patch_all first, the net after (``activate()`` in the app). Uninstall leaves gevent's functions."""
    pytest.importorskip("gevent")
    activate = "import dashscope_private.auto\n"
    patch = "from gevent import monkey; monkey.patch_all()\nimport gevent.socket, gevent._socketcommon\nsaved = gevent.socket.getaddrinfo.__wrapped__ if hasattr(gevent.socket.getaddrinfo, '__wrapped__') else gevent.socket.getaddrinfo\n"
    program = (activate + patch if order == "net first" else patch + activate) + PUBLIC_ATTEMPTS + """
import gevent
attempt("gevent.socket.create_connection", lambda: gevent.socket.create_connection((H, 443), timeout=2))
attempt("gevent.socket.getaddrinfo", lambda: gevent.socket.getaddrinfo(H, 443))
attempt("gevent._socketcommon.getaddrinfo", lambda: gevent._socketcommon.getaddrinfo(H, 443))
attempt("gevent.socket.gethostbyaddr", lambda: gevent.socket.gethostbyaddr(H))
attempt("hub resolver", lambda: gevent.get_hub().resolver.getaddrinfo(H, 443))
attempt("spawned greenlet", lambda: gevent.spawn(socket.create_connection, (H, 443)).get(timeout=5))
import dashscope_private
dashscope_private.deactivate()
print("restored", socket.getaddrinfo is saved and gevent.socket.getaddrinfo is saved and not hasattr(socket.socket, "_dashscope_private_net"), flush=True)
print("done")
"""
    lines = _run_isolated(program)
    refusals = _refusals(lines)
    assert len(refusals) == 14 and set(refusals.values()) == {"PublicEgressBlocked"}, lines
    assert "loopback connect gevent._socket3" in lines
    assert "restored True" in lines


@needs_netns
@pytest.mark.parametrize("order", ["net first", "patched first"])
def test_eventlet_monkey_patched_sockets_are_refused(order):
    """eventlet.monkey_patch(): green sockets connect through a re-imported copy of ``socket``, and names
    resolve through greendns (dnspython)."""
    pytest.importorskip("eventlet")
    activate = "import dashscope_private.auto\n"
    patch = "import eventlet; eventlet.monkey_patch()\n"
    program = (activate + patch if order == "net first" else patch + activate) + PUBLIC_ATTEMPTS + """
from eventlet import patcher
from eventlet.green import socket as green
from eventlet.support import greendns
attempt("green create_connection", lambda: green.create_connection((H, 443), timeout=2))
attempt("green socket connect", lambda: green.socket().connect((H, 443)))
attempt("greendns.resolve", lambda: greendns.resolve(H))
attempt("original socket connect", lambda: patcher.original("socket").socket().connect((H, 443)))
attempt("original getaddrinfo", lambda: patcher.original("socket").getaddrinfo(H, 443))
attempt("spawned greenthread", lambda: eventlet.spawn(socket.create_connection, (H, 443)).wait())
print("done")
"""
    lines = _run_isolated(program)
    refusals = _refusals(lines)
    assert len(refusals) == 14 and set(refusals.values()) == {"PublicEgressBlocked"}, lines
    assert "loopback connect eventlet.greenio.base" in lines
