"""Loopback-only guard for the zero-code matrix's programs (``tests/test_zero_code_matrix.py``).

The matrix runs each program with this folder on ``PYTHONPATH``, so Python runs
this file at start-up, after the ``.pth`` files (dashscope-private's included)
and before the program's first statement. It installs an audit hook and
imports nothing: the program's first statement must stay the first import of
every module it names (``socket`` included, which strict mode watches).

The hook sees every name lookup and connection CPython makes
(``socket.getaddrinfo``, ``socket.connect``, ...), whichever library makes it and
whether or not it honours the proxy variables, before it happens. Anything not
loopback is refused there (an ``OSError``, so the request fails closed) and
recorded in ``ESCAPES``, which the program reports; no packet and no DNS query
leaves the machine. It never makes a cell pass: a refused request is a failed
redirect, and not the ``PublicEgressBlocked`` a strict cell expects.
"""

import sys

#: ``(event, host or address)`` for every refused lookup or connection.
ESCAPES = []

_HOST_ARG = {
    "socket.getaddrinfo": 0,
    "socket.gethostbyname": 0,
    "socket.gethostbyname_ex": 0,
    "socket.gethostbyaddr": 0,
    "socket.getnameinfo": 0,
}
_ADDRESS_ARG = {"socket.connect": 1, "socket.sendto": 1, "socket.sendmsg": 1}


def _is_loopback(host):
    if host is None:
        return True
    if isinstance(host, (bytes, bytearray)):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    host = host.strip("[]").lower().rstrip(".")
    return host in ("", "localhost", "::1", "0:0:0:0:0:0:0:1") or host.startswith("127.") or host.endswith(".localhost")


def _guard(event, args):
    if not event.startswith("socket."):
        return
    if event in _HOST_ARG:
        target = args[_HOST_ARG[event]]
        host = target[0] if isinstance(target, tuple) else target  # getnameinfo takes (host, port)
    elif event in _ADDRESS_ARG:
        target = args[_ADDRESS_ARG[event]]
        if not isinstance(target, tuple):  # AF_UNIX paths (str/bytes) and the like are local
            return
        host = target[0]
    else:
        return
    if _is_loopback(host):
        return
    ESCAPES.append([event, repr(target)])
    sys.stderr.write(f"loopback guard: refused {event} {target!r}\n")
    raise OSError(f"loopback guard: {event} {target!r} is not loopback")


sys.addaudithook(_guard)
