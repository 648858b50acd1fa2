"""``DASHSCOPE_PRIVATE_CONFIG`` as a user meets it: the wheel in a fresh venv, only the variable set.

Start-up must stay cheap with a file set (``tomllib`` costs ~5 ms, half a bare
start-up): the file is read at activation, on the first watched import, and
``socket`` is watched too so that a ``strict = true`` in the file guards a
program that only uses raw sockets. A bad file fails closed with one line.
The proxy-trap variables are inherited: anything that went public would land
in the loopback trap.
"""

from __future__ import annotations

import textwrap

import pytest

from venvs import run  # the session fixtures (wheel, user_venv) are in conftest.py

pytestmark = pytest.mark.slow

CHAT = "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions"
INTL_CHAT = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions"


def settings_file(tmp_path, text: str) -> str:
    path = tmp_path / "dashscope-private.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def test_start_up_reads_no_file_until_a_watched_import(user_venv, standin, tmp_path):
    path = settings_file(tmp_path, f"""
        [routes]
        "dashscope.aliyuncs.com" = "{standin.url}"
    """)
    code = "import sys; print(sorted(m for m in ('tomllib', 'tomli', 'dashscope_private.config_file', 'dashscope_private._runtime') if m in sys.modules))"
    result = run(user_venv, "-I", "-c", code, env={"DASHSCOPE_PRIVATE_CONFIG": path})
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.strip() == "[]"


def test_two_routes_from_a_file_and_strict_from_it_on_raw_sockets(user_venv, standin, tmp_path):
    """One process: dashscope.aliyuncs.com to one stand-in, dashscope-intl to another; strict mode
    (set only in the file) refuses a raw lookup of an unrouted public host."""
    from dashscope_private.standin import StandIn

    with StandIn() as second:
        path = settings_file(tmp_path, f"""
            strict = true
            [routes]
            "dashscope.aliyuncs.com" = "{standin.url}"
            "dashscope-intl.aliyuncs.com" = "{second.url}"
        """)
        code = textwrap.dedent(f"""
            import json, socket, urllib.request
            for url in ({CHAT!r}, {INTL_CHAT!r}):
                request = urllib.request.Request(url, data=b'{{}}', headers={{"Content-Type": "application/json"}})
                print(urllib.request.urlopen(request, timeout=10).status)
            try:
                socket.getaddrinfo("dashscope-us.aliyuncs.com", 443)
            except Exception as exc:
                print(type(exc).__name__)
        """)
        result = run(user_venv, "-c", code, env={"DASHSCOPE_PRIVATE_CONFIG": path})
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["200", "200", "PublicEgressBlocked"]
        assert [(r.path, r.host) for r in standin.records] == [("/compatible-mode/v1/chat/completions", standin.netloc)]
        assert [(r.path, r.host) for r in second.records] == [("/compatible-mode/v1/chat/completions", second.netloc)]


def test_a_bad_file_fails_closed_with_one_line(user_venv, standin, trap, tmp_path):
    path = settings_file(tmp_path, """
        strict = "yes"
        [routes]
        "dashscope.aliyuncs.com" = "http://127.0.0.1:9"
    """)
    code = textwrap.dedent(f"""
        import urllib.request
        try:
            urllib.request.urlopen({CHAT!r}, timeout=10)
        except Exception as exc:
            print(type(exc).__name__)
    """)
    result = run(user_venv, "-c", code, env={"DASHSCOPE_PRIVATE_CONFIG": path})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ConfigError"]
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"dashscope-private: DASHSCOPE_PRIVATE_CONFIG: {path!r}, key 'strict': must be true or false"), lines
    assert standin.records == [] and trap.take() == []
