"""The tests' one support module: helpers every test module may import (fixtures are in ``conftest.py``).

``tests/`` is on ``sys.path`` (``conftest.py`` puts it there), so any test module,
``tests/integrations/`` included, writes ``from support import landed``. Nothing
here imports an optional library at module level: a machine with only the base
dependencies imports it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Callable

from stacks._program import blocked_in  # noqa: F401  (the one finder of PublicEgressBlocked in an error chain)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
LOOPBACK_NO_PROXY = "127.0.0.1,localhost,::1"
#: Where ``conftest.py`` leaves the machine's own values of the variables it changes, for the processes
#: started after it: pytest-xdist's workers inherit the controller's environment, trap and all.
SAVED_PROXIES = "DASHSCOPE_TESTS_MACHINE_PROXIES"


def _machine_environ() -> dict:
    environ = dict(os.environ)
    saved = environ.pop(SAVED_PROXIES, None)
    for name, value in (json.loads(saved) if saved else {}).items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return environ


#: The environment as the machine gave it (before ``conftest.py`` points proxies at the trap, in this
#: process or in the one that started it), for tool subprocesses (uv, pip) that need the registry.
ORIGINAL_ENVIRON = _machine_environ()


def save_machine_proxies() -> None:
    """Record the machine's proxy settings before the trap replaces them (once: a worker keeps its controller's)."""
    if SAVED_PROXIES not in os.environ:
        os.environ[SAVED_PROXIES] = json.dumps({name: os.environ.get(name) for name in (*PROXY_VARIABLES, "NO_PROXY", "no_proxy")})

CHAT = "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions"
CHAT_PATH = "/compatible-mode/v1/chat/completions"
#: a public host the configurations in the tests do not redirect (blocked in strict mode)
INTL = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions"
#: the request the integration tests send: as a JSON body (``json=``), and encoded with its headers
BODY = {"model": "qwen-plus", "messages": [{"role": "user", "content": "你是谁?"}]}
HEADERS = {"Authorization": "Bearer sk-dashscope"}
JSON_BODY = json.dumps(BODY).encode()
JSON_HEADERS = {**HEADERS, "Content-Type": "application/json"}
PUBLIC_HOST = {"Host": "dashscope.aliyuncs.com"}
WS_INFERENCE = "wss://dashscope.aliyuncs.com/api-ws/v1/inference"
RUN_TASK = json.dumps({"header": {"action": "run-task", "task_id": "t1", "streaming": "duplex"}, "payload": {"task": "asr"}})


# ------------------------------------------------------------------ where requests landed


def only_hosts(records) -> set:
    return {r.host for r in records}


def landed(standin, kind: str = "http", path: str = CHAT_PATH, count: int | None = None) -> list:
    """The stand-in's records of ``kind``; asserts there are some (``count`` if given), all for the endpoint and under ``path``."""
    records = [r for r in standin.records if r.kind == kind]
    assert records, f"no {kind} request reached the endpoint"
    assert all(r.host == standin.netloc for r in records), records
    assert all(r.path.startswith(path) for r in records), records
    if count is not None:
        assert len(records) == count, records
    return records


def assert_blocked(exc_info, host: str = "dashscope-intl.aliyuncs.com") -> None:
    """The error ``pytest.raises`` caught is, or wraps, our refusal of ``host``, naming the variable to set."""
    error = blocked_in(exc_info.value)
    assert error is not None, repr(exc_info.value)
    assert error.host == host
    assert "DASHSCOPE_PRIVATE_HOSTS" in str(error) or "DASHSCOPE_PRIVATE_OSS" in str(error)


# ------------------------------------------------------------------ proxies


def elsewhere(server) -> str:
    """``server``'s URL by another name: the endpoint is 127.0.0.1 (any port), this is not."""
    return server.url.replace("127.0.0.1", "localhost")


def trap_port(trap) -> int:
    return int(trap.url.rsplit(":", 1)[1])


def no_proxy_names_only_another_host(monkeypatch) -> None:
    """NO_PROXY as a program might set it, without the endpoint. Set after activation, so that
    nothing activation did to the environment can be what exempts the endpoint."""
    monkeypatch.setenv("NO_PROXY", "internal.example")
    monkeypatch.setenv("no_proxy", "internal.example")


# ------------------------------------------------------------------ the loopback guard (installed by conftest.py)

#: What the guard refused in this test: ``(kind, host or address)``; the autouse fixture fails the test on any.
ESCAPES: list = []


def is_loopback(host) -> bool:
    if host is None:
        return True
    if isinstance(host, (bytes, bytearray)):
        host = host.decode("ascii", "replace")
    host = host.strip("[]").lower().rstrip(".")
    return host in ("", "localhost", "::1", "0:0:0:0:0:0:0:1") or host.startswith("127.") or host.endswith(".localhost")


def install_loopback_guard() -> None:
    """Second net, for clients that ignore proxy variables (aiohttp without trust_env, raw sockets):
    in this process, name lookups and connections may only go to loopback. An attempt to go
    elsewhere fails at once and fails the test; it never makes a test pass, and no packet leaves."""
    import socket

    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def address_host(address):
        return address[0] if isinstance(address, tuple) else None  # AF_UNIX paths are local

    def loopback_getaddrinfo(host, *args, **kwargs):
        if not is_loopback(host):
            ESCAPES.append(("lookup", host))
            raise socket.gaierror(socket.EAI_NONAME, f"test guard: {host!r} is not loopback")
        return real_getaddrinfo(host, *args, **kwargs)

    def loopback_connect(self, address):
        if not is_loopback(address_host(address)):
            ESCAPES.append(("connect", address))
            raise ConnectionRefusedError(f"test guard: {address!r} is not loopback")
        return real_connect(self, address)

    def loopback_connect_ex(self, address):
        if not is_loopback(address_host(address)):
            ESCAPES.append(("connect", address))
            raise ConnectionRefusedError(f"test guard: {address!r} is not loopback")
        return real_connect_ex(self, address)

    socket.getaddrinfo = loopback_getaddrinfo
    socket.socket.connect = loopback_connect
    socket.socket.connect_ex = loopback_connect_ex


# ------------------------------------------------------------------ the command line


def cli(*args: str, env: dict | None = None, timeout: int = 180, cwd: str | None = None) -> subprocess.CompletedProcess:
    """``python -m dashscope_private ARGS`` from this checkout, without the session's DASHSCOPE_PRIVATE_* variables."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_PRIVATE_")}
    full["PYTHONPATH"] = ROOT
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "dashscope_private", *args], env=full, capture_output=True, text=True, timeout=timeout, cwd=cwd)


# ------------------------------------------------------------------ hooks never raise on what they do not understand

#: Odd values a hook may be handed: each must give what the unpatched function gives.
ODD_VALUES = [None, b"wss://dashscope.aliyuncs.com/api-ws/v1/inference", 42, object(), "", "dashscope.aliyuncs.com", "wss://[::1", "ftp://dashscope.aliyuncs.com/"]


def odd_value_id(value: Any) -> str:
    """A test id for one of ``ODD_VALUES``: its repr, without an address (ids must match across xdist workers)."""
    return "object()" if type(value) is object else repr(value)


def returned_or_raised(function: Callable, *args: Any, **kwargs: Any) -> tuple:
    """What ``function`` did, comparable between the hook and the original: its result's repr, or the exception type."""
    try:
        return ("returned", repr(function(*args, **kwargs)))
    except Exception as exc:  # noqa: BLE001 - comparing the library's own behaviour
        return ("raised", type(exc))


def patched_hooks(module, names) -> list:
    """``(name, hook, original)`` for each of ``names`` our patcher wrapped in ``module``; asserts there is one."""
    from dashscope_private._patching import _ORIGINAL

    found = [(name, getattr(module, name)) for name in names if hasattr(getattr(module, name, None), _ORIGINAL)]
    assert found, f"nothing patched in {module.__name__}"
    return [(name, hook, getattr(hook, _ORIGINAL)) for name, hook in found]


def same_outcome_inactive_and_active(standin, build: Callable, *args: Any) -> None:
    """``build(*args)`` gives the same result (or the same exception type) with the plugin off and on.

    Our own deliberate errors are not an outcome: they propagate and fail the test."""
    import dashscope_private
    from dashscope_private.errors import DashscopePrivateError

    def outcome(call):
        try:
            return ("ok", call())
        except DashscopePrivateError:
            raise
        except Exception as exc:  # the library's own refusal of an odd input
            return ("error", type(exc).__name__)

    dashscope_private.deactivate()
    inactive = outcome(lambda: build(*args))
    dashscope_private.activate(standin.url)
    active = outcome(lambda: build(*args))
    assert active == inactive


PUBLIC_HOSTS = ["dashscope.aliyuncs.com", "DashScope.AliyunCS.com.", "dashscope-intl.aliyuncs.com", "ws-1.cn-beijing.maas.aliyuncs.com"]
ODD_HOSTS = ["example.com", "bücher.example", "xn--bcher-kva.example", "[::1]", "[fe80::1%25eth0]", "127.0.0.1", "", "a..b", "ｄａｓｈｓｃｏｐｅ.aliyuncs.com"]
SCHEMES = ["http", "https", "ws", "wss", "ftp", "HTTP", ""]


class ForeignURL:
    """A URL type of some other library: has a host and a scheme, but is not ours to parse."""

    scheme = "https"
    host = "dashscope.aliyuncs.com"

    def __str__(self) -> str:
        return "https://dashscope.aliyuncs.com/"


def hook_input_strategies():
    """Hypothesis strategies of odd hook inputs: ``(urls, odd_values, non_dashscope_urls, header_values)``.

    Built on call, so that this module needs no hypothesis; a module that calls it
    first skips without hypothesis (``pytest.importorskip("hypothesis")``)."""
    from hypothesis import strategies as st

    @st.composite
    def urls(draw, hosts=st.sampled_from(PUBLIC_HOSTS + ODD_HOSTS)):
        scheme = draw(st.sampled_from(SCHEMES))
        host = draw(hosts)
        port = draw(st.sampled_from(["", ":443", ":80", ":0", ":99999", ":x"]))
        path = draw(st.sampled_from(["", "/", "/compatible-mode/v1/chat/completions", "/a b", "/?q=dashscope.aliyuncs.com", "/%zz"]))
        userinfo = draw(st.sampled_from(["", "user:pw@", "@"]))
        sep = "://" if scheme else draw(st.sampled_from(["", "//"]))
        return f"{scheme}{sep}{userinfo}{host}{port}{path}"

    odd_values = st.one_of(
        st.none(),
        st.binary(max_size=40),
        urls().map(lambda u: u.encode("utf-8")),
        urls(),
        st.text(max_size=40),
        st.integers(),
        st.builds(ForeignURL),
        st.builds(object),
        st.lists(st.text(max_size=5), max_size=2),
    )
    non_dashscope_urls = urls(hosts=st.sampled_from(ODD_HOSTS))
    header_values = st.one_of(st.text(max_size=20), st.binary(max_size=20), st.sampled_from(["dashscope.aliyuncs.com", b"dashscope.aliyuncs.com", "example.com:8080", b"\xff"]))
    return urls, odd_values, non_dashscope_urls, header_values


def url_strategy(hosts):  # type: ignore[no-untyped-def]
    """Hypothesis: absolute URLs around ``hosts`` (a strategy) for the routing fuzzes: every scheme we
    route and one we do not, userinfo that names a public host, odd ports, any path, query or fragment."""
    from hypothesis import strategies as st

    tail = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
    return st.builds(
        lambda scheme, userinfo, host, port, rest: f"{scheme}://{userinfo}{host}{port}{rest}",
        st.sampled_from(["http", "https", "ws", "wss", "HTTPS", "ftp"]),
        st.sampled_from(["", "u:p@", "dashscope.aliyuncs.com@", "a@b@"]),
        hosts,
        st.sampled_from(["", ":443", ":8080", ":"]),
        st.one_of(st.just(""), tail.map(lambda t: "/" + t), tail.map(lambda t: "?" + t), tail.map(lambda t: "#" + t)),
    )


def dns_label():  # type: ignore[no-untyped-def]
    """Hypothesis: one DNS label (letters, digits, inner hyphens)."""
    from hypothesis import strategies as st

    return st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12).filter(lambda s: s[0] != "-" and s[-1] != "-")
