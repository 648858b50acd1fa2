"""The pytest plugin (``pytest11`` entry point ``dashscope_private``): proof that a test suite never goes public.

pytest loads every ``pytest11`` plugin in every run, so this module imports nothing but
pytest at load and does nothing unless asked:

- ``--dashscope-private=strict``: for the whole run, any request to a public Model Studio
  host is refused with ``PublicEgressBlocked``, by host name, before DNS, on every stack (the
  integrations plus strict mode's net under them), and the test fails, even if the code
  under test swallowed the exception. With ``DASHSCOPE_PRIVATE_ENDPOINT`` set, that
  configuration runs in strict mode (redirected hosts still go to the endpoint); without
  it, a router that redirects nothing and blocks every public Model Studio host.
- ``--dashscope-private=off``: dashscope-private is off for the run, even if
  ``DASHSCOPE_PRIVATE_*`` is set (the kill switch ``DASHSCOPE_PRIVATE_DISABLE=1`` is set for
  the run, so child processes are off too); the fixture still works.
- The fixture ``dashscope_private_endpoint`` starts the loopback stand-in and activates
  against it for one test (every public Model Studio host redirected, unless
  ``DASHSCOPE_PRIVATE_HOSTS`` says otherwise; strict when the run is), then restores the
  previous state exactly.
- The marker ``dashscope_private_allow_public`` lets one test through (strict mode off for it).

Each pytest-xdist worker is its own process and runs these hooks itself.
"""

from __future__ import annotations

import os

import pytest

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, Generator, Iterator, List

__all__ = ["MARKER", "OPTION"]

OPTION = "--dashscope-private"
MARKER = "dashscope_private_allow_public"
_MODES = ("strict", "off")


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("dashscope-private")
    group.addoption(
        OPTION,
        dest="dashscope_private",
        choices=_MODES,
        default=None,
        help="strict: fail any test that reaches a public Model Studio host (PublicEgressBlocked); "
        "off: dashscope-private off for the run, even if DASHSCOPE_PRIVATE_* is set",
    )


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", f"{MARKER}: let this test reach public Model Studio hosts under {OPTION}=strict")
    mode = config.getoption("dashscope_private", None)
    if mode is None:
        return
    session = _Session(mode)
    config.stash[_KEY] = session
    session.start()


def pytest_unconfigure(config: Any) -> None:
    session = config.stash.get(_KEY, None)
    if session is not None:
        del config.stash[_KEY]
        session.stop()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: Any) -> None:
    """Before the test's fixtures: strict for it, or (marker) the state before the run."""
    session = item.config.stash.get(_KEY, None)
    if session is None or session.mode != "strict":
        return
    if item.get_closest_marker(MARKER) is not None:
        item.stash[_SAVED] = _snapshot()
        session.relax()
    else:
        session.ensure()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: Any) -> Iterator[None]:
    yield
    saved = item.stash.get(_SAVED, None)
    if saved is not None:
        del item.stash[_SAVED]
        _restore(saved)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: Any) -> Generator[None, Any, None]:
    """Fail a test whose code reached a public host and swallowed ``PublicEgressBlocked``."""
    session = item.config.stash.get(_KEY, None)
    if session is None or session.mode != "strict" or item.get_closest_marker(MARKER) is not None:
        yield
        return
    blocked = session.blocked
    del blocked[:]
    outcome = yield
    if blocked and outcome.excinfo is None:
        from .errors import PublicEgressBlocked

        hosts = ", ".join(sorted(set(blocked)))
        exc = PublicEgressBlocked(blocked[0], "", f"{OPTION}=strict: the test reached public Model Studio host(s) {hosts} "
                                  "and the code under test caught the error")
        if hasattr(outcome, "force_exception"):
            outcome.force_exception(exc)
        else:  # pragma: no cover - pluggy < 1.1
            raise exc


class Endpoint:
    """What the fixture gives a test: the stand-in's URL and the requests it received."""

    def __init__(self, standin: Any) -> None:
        self._standin = standin
        self.url: str = standin.url

    @property
    def requests(self) -> list:
        """Each request the stand-in received, oldest first: ``.method``, ``.path``, ``.headers``."""
        return self._standin.records

    def clear(self) -> None:
        self._standin.clear()


@pytest.fixture
def dashscope_private_endpoint(request: Any) -> Iterator[Endpoint]:
    """Start the loopback stand-in, activate against it for this test, then restore the previous state."""
    from . import _runtime
    from .config import HOSTS, PUBLIC_MODEL_STUDIO_HOSTS
    from .standin import StandIn

    session = request.config.stash.get(_KEY, None)
    strict = session is not None and session.mode == "strict" and request.node.get_closest_marker(MARKER) is None
    with StandIn() as standin:
        saved = _snapshot()
        try:
            overrides: Dict[str, Any] = {"disable": False, "strict": strict}
            if not os.environ.get(HOSTS, "").strip():
                overrides["hosts"] = ",".join(PUBLIC_MODEL_STUDIO_HOSTS)
            _runtime.activate(endpoint=standin.url, **overrides)
            yield Endpoint(standin)
        finally:
            _restore(saved)


# ---------------------------------------------------------------------- state


class _Session:
    """The run's mode, applied at configure and undone at unconfigure."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.blocked: List[str] = []
        self._before: Any = None
        self._strict: Any = None

    def start(self) -> None:
        self._before = _snapshot()
        from . import _audit

        if self.mode == "off":
            from . import _runtime
            from .config import DISABLE

            _runtime.deactivate()
            with _own_writes():
                os.environ[DISABLE] = "1"
            return
        _audit.listeners.append(self.blocked.append)
        self._activate_strict()
        self._strict = _snapshot()

    def _activate_strict(self) -> None:
        from . import _boot, _runtime, _state
        from .config import ENDPOINT, Config, Endpoint, HostSet, load
        from .errors import ConfigError
        from .routing import Router

        _runtime.ensure_started()
        try:
            has_endpoint = load(_boot.settings()) is not None
        except ConfigError:
            has_endpoint = False  # invalid: the blocking router below
        if has_endpoint:
            _runtime.activate(strict=True)
            return
        # No endpoint: redirect nothing, refuse every public Model Studio host (and DashScope's OSS buckets).
        config = Config(endpoint=Endpoint(None, "", None), hosts=HostSet(), strict=True, sources=((ENDPOINT, f"{OPTION}=strict"),))
        _runtime.apply_router(Router(config, on_warn=_state.warn_public))

    def ensure(self) -> None:
        """Strict for this test, whatever an earlier test left (a test may set or unset variables)."""
        if self._strict is not None and _current_router() is not self._strict["router"]:
            _restore(self._strict)

    def relax(self) -> None:
        """For an allowed test: the state before the run (the user's own configuration, not strict)."""
        _restore(self._before)

    def stop(self) -> None:
        from . import _audit

        if self.blocked.append in _audit.listeners:
            _audit.listeners.remove(self.blocked.append)
        if self._before is not None:
            _restore(self._before)


_KEY: Any = pytest.StashKey()
_SAVED: Any = pytest.StashKey()


def _current_router() -> Any:
    from . import _state

    return _state.current()


def _own_writes() -> Any:
    from . import _environ

    return _environ.own_writes()


def _snapshot() -> Dict[str, Any]:
    from . import _runtime

    return _runtime.snapshot()


def _restore(saved: Dict[str, Any]) -> None:
    from . import _runtime

    _runtime.restore(saved)
