"""The audit trail (``DASHSCOPE_PRIVATE_AUDIT``) and the decision counts behind the metrics.

One :class:`Recorder` per process, installed as ``_state._recorder`` only while audit or
metrics are on, so with both off the request path pays one ``is not None`` test. It sees
each decision at the request path (``_state.route_url``/``route_target``) and at strict
mode's net (``_egress_guard``), never inside the router's memos, so a memoized rewrite
still counts.

What a record holds is the whole point: the public host, the decision, the endpoint host,
the integration, a count, the time, the pid and the machine's name. Never a path, a query
string, a header or a key: the URL is only ever used to find its host.

- The first decision of each kind (decision, host, target, integration) in a process is
  written at once; later ones are counted (an atomic ``next()`` on an ``itertools.count``,
  so threads lose nothing) and flushed at exit and every 60 s by a daemon thread, never on
  the request path.
- Each write is one ``os.write`` of whole lines to a file opened ``O_APPEND|O_CREAT|O_WRONLY``
  for that write (so many processes can share a file, and a rotated file is reopened);
  ``stderr`` writes to fd 2. A failure is logged once and never raised.
- A forked child starts its own counts (``os.register_at_fork``).
- The integration is found from the caller's frames, only when audit or metrics are on: the
  first module outside this package (its top-level package, mapped to our integration's
  name: ``websocket`` → ``websocket-client``, ``http``/``urllib`` → ``urllib``), or our
  integration module itself when it calls directly; for the public ``rewrite_url()``, the
  caller's top-level package. No integration passes anything, so
  the request path with audit off is untouched; ``bench/audit.py`` measures the cost.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time

from . import _log
from ._attribution import CODES, integration_of
from .errors import DashscopePrivateError
from .routing import PASS, REDIRECT, WARN, OSS_INTERNAL, _PUBLIC_HOSTS, normalize_host, split_url

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Callable, Dict, List, Optional, Tuple

    from .routing import Router, Target

__all__ = ["Recorder", "STDERR", "FLUSH_SECONDS", "DECISIONS"]

STDERR = "stderr"
FLUSH_SECONDS = 60.0
DECISIONS = ("redirected", "allowed", "blocked", "public")
#: the label of decisions made by strict mode's net under every stack (``_egress_guard``)
STRICT_NET = "strict-net"

#: callables told the host of each refused request (the pytest plugin's strict mode); a recorder
#: exists while any is registered
listeners: List[Callable[[str], None]] = []
_MEMO_LIMIT = 512
_NOTHING = ()  # memo value: nothing to record for this URL or host


class _Kind:
    """One (decision, host, target): its counters per integration."""

    __slots__ = ("decision", "host", "target", "counters", "flushed")

    def __init__(self, decision: str, host: str, target: str | None) -> None:
        self.decision = decision
        self.host = host
        self.target = target
        self.counters: Dict[str, Any] = {}  # integration -> itertools.count (its next value = decisions so far)
        self.flushed: Dict[str, int] = {}  # integration -> decisions already in the file


def _total(counter: Any) -> int:
    """How many times ``next(counter)`` ran: ``repr`` is ``count(N)`` on every supported Python."""
    return int(repr(counter)[6:-1])


def _machine() -> str:
    try:
        return os.uname().nodename
    except AttributeError:  # Windows
        return os.environ.get("COMPUTERNAME", "")


class Recorder:
    """Writes first occurrences, counts the rest, flushes; feeds the metrics counter too."""

    def __init__(self, path: str | None, metrics: Any = None) -> None:
        self.path = path
        self.metrics = metrics
        self._lock = threading.Lock()
        self._kinds: Dict[Tuple[str, str, Optional[str]], _Kind] = {}
        self._urls: Dict[str, Any] = {}
        self._hosts: Dict[str, Any] = {}
        self._router: Any = None
        self._timer: threading.Thread | None = None
        self._stop = threading.Event()
        self._failed = False
        self._machine = _machine()

    # ------------------------------------------------------------------ the request path

    def route_url(self, router: Router, url: str, warn: bool) -> str:
        """``router.rewrite(url, warn)``, with its decision recorded."""
        try:
            new = router.rewrite(url, warn)
        except DashscopePrivateError as exc:
            if warn:  # a stored URL (warn=False) sends nothing: its request is refused and recorded later
                parts = split_url(url)
                self.blocked(getattr(exc, "host", None) or (parts[2] if parts else ""), integration_of(sys._getframe(2)))
            raise
        if router is not self._router:
            self._forget(router)
        kind = self._urls.get(url)
        if kind is None:
            kind = self._classify_url(router, url, new)
            if len(self._urls) >= _MEMO_LIMIT:
                self._urls.clear()
            self._urls[url] = kind
        if kind is not _NOTHING and (warn or kind.decision == "redirected"):
            frame = sys._getframe(2)
            integration = CODES.get(frame.f_code) or integration_of(frame)  # inlined: the common case is one lookup
            counter = kind.counters.get(integration)
            if counter is None or self.metrics is not None:
                self.hit(kind, integration)
            else:
                next(counter)
        if new is not url and _log._level is not None and _log._level <= 10:
            from ._state import _log_rewrite

            _log_rewrite(url, new)
        return new

    def route_target(self, router: Router, scheme: str, host: str, warn: bool) -> Target | None:
        """``router.target_for(scheme, host, warn)``, with its decision recorded."""
        try:
            target = router.target_for(scheme, host, warn)
        except DashscopePrivateError:
            if warn:
                self.blocked(normalize_host(host), integration_of(sys._getframe(2)))
            raise
        if router is not self._router:
            self._forget(router)
        kind = self._hosts.get(host)
        if kind is None:
            kind = self._classify_host(router, normalize_host(host), target[1] if target is not None else None)
            if len(self._hosts) >= _MEMO_LIMIT:
                self._hosts.clear()
            self._hosts[host] = kind
        if kind is not _NOTHING and (warn or kind.decision == "redirected"):
            frame = sys._getframe(2)
            integration = CODES.get(frame.f_code) or integration_of(frame)
            counter = kind.counters.get(integration)
            if counter is None or self.metrics is not None:
                self.hit(kind, integration)
            else:
                next(counter)
        return target

    def blocked(self, host: str, integration: str) -> None:
        """A request refused (strict mode, or an invalid configuration failing closed)."""
        self.hit(self.kind("blocked", host, None), integration)
        for listener in listeners:
            try:
                listener(host)
            except Exception:
                pass

    def hit(self, kind: _Kind, integration: str) -> None:
        counter = kind.counters.get(integration)
        if counter is None:
            self._first(kind, integration)
        else:
            next(counter)
        metrics = self.metrics
        if metrics is not None:
            metrics.add(kind.decision, kind.host, integration)

    # ------------------------------------------------------------------ deciding what a request was

    def _forget(self, router: Router) -> None:
        """A new router (another configuration): the URL and host memos describe the old one."""
        self._urls = {}
        self._hosts = {}
        self._router = router

    def kind(self, decision: str, host: str, target: str | None) -> _Kind:
        key = (decision, host, target)
        found = self._kinds.get(key)
        if found is None:
            with self._lock:
                found = self._kinds.setdefault(key, _Kind(decision, host, target))
        return found

    def _classify_url(self, router: Router, url: str, new: str) -> Any:
        if new is not url:
            old_parts, new_parts = split_url(url), split_url(new)
            if old_parts is None or new_parts is None:
                return _NOTHING
            return self.kind("redirected", old_parts[2], new_parts[2])
        if not router.might_match(url):
            return _NOTHING
        parts = split_url(url)
        return _NOTHING if parts is None else self._classify_host(router, parts[2], None)

    def _classify_host(self, router: Router, host: str, target: str | None) -> Any:
        if target is not None:
            return self.kind("redirected", host, target)
        try:
            action = router.decide(host)
        except DashscopePrivateError:
            return _NOTHING  # only reached with warn=False reads; a request records "blocked" itself
        if action == WARN:
            return self.kind("public", host, None)
        if action == PASS and host in router._allow and (
            host in _PUBLIC_HOSTS or host in router._redirect or router._is_dashscope_oss(host)
        ):
            return self.kind("allowed", host, None)
        return _NOTHING  # PASS for everything else; REDIRECT/OSS_INTERNAL always come with a target

    # ------------------------------------------------------------------ writing

    def _first(self, kind: _Kind, integration: str) -> None:
        with self._lock:
            counter = kind.counters.get(integration)
            if counter is not None:  # another thread was first
                next(counter)
                return
            counter = itertools.count()
            next(counter)
            kind.flushed[integration] = 1
            kind.counters[integration] = counter
            if self.path is not None:
                self._write([self._line(kind, integration, 1)])
                self._start_timer()

    def flush(self) -> None:
        """Write the counts gathered since the last write (at exit, every 60 s)."""
        if self.path is None:
            return
        with self._lock:
            lines = []
            for kind in list(self._kinds.values()):
                for integration, counter in list(kind.counters.items()):
                    total = _total(counter)
                    delta = total - kind.flushed.get(integration, 0)
                    if delta > 0:
                        kind.flushed[integration] = total
                        lines.append(self._line(kind, integration, delta))
            if lines:
                self._write(lines)

    def _line(self, kind: _Kind, integration: str, count: int) -> bytes:
        import json

        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ" % (int(now * 1000) % 1000)
        record = {
            "time": stamp,
            "pid": os.getpid(),
            "machine": self._machine,
            "host": kind.host,
            "decision": kind.decision,
            "target": kind.target,
            "integration": integration,
            "count": count,
        }
        return (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8")

    def _write(self, lines: List[bytes]) -> None:
        data = b"".join(lines)
        try:
            if self.path == STDERR:
                os.write(2, data)
                return
            fd = os.open(self.path, os.O_APPEND | os.O_CREAT | os.O_WRONLY, 0o644)  # type: ignore[arg-type]
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        except Exception as exc:  # a full disk or a read-only folder must not break the program
            if not self._failed:
                self._failed = True
                _log.once("warning", ("audit-write", self.path), "dashscope-private could not write the audit trail to %s: %s", self.path, exc)

    # ------------------------------------------------------------------ lifetime

    def _start_timer(self) -> None:
        if self._timer is not None:
            return
        thread = threading.Thread(target=self._every_minute, name="dashscope-private-audit", daemon=True)
        self._timer = thread
        try:
            thread.start()
        except RuntimeError:  # interpreter shutting down: the exit flush still runs
            pass

    def _every_minute(self) -> None:
        stop = self._stop
        while not stop.wait(FLUSH_SECONDS):
            self.flush()

    def close(self) -> None:
        """Flush and stop the timer (deactivation, another configuration, exit)."""
        self._stop.set()
        self.flush()

    def after_fork_in_child(self) -> None:
        """A forked child is another process: its own first records and counts, its own timer."""
        self._lock = threading.Lock()
        self._kinds = {}
        self._urls = {}
        self._hosts = {}
        self._timer = None
        self._stop = threading.Event()


# ---------------------------------------------------------------------- the process's recorder

_hooks_registered = False


def apply(config: Any) -> None:
    """Install, replace or remove ``_state._recorder`` for ``config`` (under the activation lock).

    A recorder exists while audit is on (``config.audit``) or the program uses OpenTelemetry's
    metrics API; otherwise ``_state._recorder`` is ``None`` and the request path is as before.
    Counts already made are flushed by the recorder being replaced.
    """
    global _hooks_registered
    from . import _metrics, _state

    path = getattr(config, "audit", None) if config is not None else None
    old = _state._recorder
    if path and path != STDERR:
        path = os.path.abspath(path)  # the file named at activation, wherever the program chdir()s later
    if old is not None and old.path == path and (old.metrics is not None or not _metrics.wanted()):
        return  # (listeners need only some recorder)
    metrics = None
    if _metrics.wanted():
        metrics = old.metrics if old is not None and old.metrics is not None else _metrics.Metrics()
    new = Recorder(path, metrics) if (path or metrics is not None or listeners) else None
    _state._recorder = new
    if old is not None:
        old.close()
    if new is not None and not _hooks_registered:
        _hooks_registered = True
        import atexit

        atexit.register(_at_exit)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_after_fork_in_child)


def remove() -> None:
    """Deactivation: flush and drop the recorder."""
    from . import _state

    old = _state._recorder
    _state._recorder = None
    if old is not None:
        old.close()


def _at_exit() -> None:
    from . import _state

    recorder = _state._recorder
    if recorder is not None:
        recorder.close()


def _after_fork_in_child() -> None:
    from . import _state

    recorder = _state._recorder
    if recorder is not None:
        recorder.after_fork_in_child()
