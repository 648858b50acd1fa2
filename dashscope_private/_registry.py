"""One declarative row per integration: the single place an integration's facts live.

Configuration (valid names for ``DASHSCOPE_PRIVATE_DISABLED_INTEGRATIONS``),
start-up (which imports trigger activation), the installer (which module
implements it), ``doctor`` and its stacks table, the README tables, the CI
matrix's pins (``.ci/run`` reads :func:`ci_requirements`) and the peer-suite
runner all read :data:`INTEGRATIONS`. Adding a stack is one integration file,
one row here and one test driver (``docs/architecture.md``, "Adding a stack").

Builtins only and loaded at start-up with the variable set, like ``config``;
it can also be run as a plain file (``runpy.run_path``) by any Python 3, which
is how ``.ci/run`` reads it before a venv exists.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, Optional, Tuple

__all__ = ["STDLIB", "Integration", "INTEGRATIONS", "BY_NAME", "NAMES", "TRIGGERS", "ci_requirements"]

#: ``Integration.distribution`` of an integration that patches the standard library.
STDLIB = "stdlib"
#: The CI matrix's legs, oldest SDKs first (``.ci/run``).
LEGS = ("oldest", "middle", "newest")


class Integration:
    """What one integration is, as data; the code is ``integrations/<module>.py``.

    ``name``          as accepted by ``DASHSCOPE_PRIVATE_DISABLED_INTEGRATIONS`` (the library's
                      distribution name, except for the standard library's)
    ``modules``       the imports that install it (post-import hooks; nothing loads before)
    ``distribution``  the distribution ``doctor`` looks up for its version, or :data:`STDLIB`
    ``covers``        ``(stack, what is redirected)`` pairs, the rows ``doctor`` and the README show;
                      a stack is a distribution name, or a module name for the standard library
    ``checked``       CI leg -> the requirement it installs there (a leg it is not in: absent)
    ``peer``          ``dist==version`` of the library whose own test suite runs with the plugin
                      (``tests/peers``), or ``None``
    """

    __slots__ = ("name", "modules", "distribution", "covers", "checked", "peer", "implementation")

    def __init__(
        self,
        name: str,
        modules: "Tuple[str, ...]",
        distribution: str,
        covers: "Tuple[Tuple[str, str], ...]",
        checked: "Dict[str, str]",
        peer: "Optional[str]" = None,
        implementation: "Optional[str]" = None,
    ) -> None:
        self.name = name
        self.modules = modules
        self.distribution = distribution
        self.covers = covers
        self.checked = checked
        self.peer = peer
        #: the module with its ``install()``/``uninstall()``: ``integrations/<name>.py``
        self.implementation = implementation or "dashscope_private.integrations." + name.replace("-", "_")

    def __repr__(self) -> str:
        return f"Integration({self.name!r}, modules={self.modules!r})"


def _newest(distribution: str, oldest: "Optional[str]" = None, middle: "Optional[str]" = None) -> "Dict[str, str]":
    """The usual ``checked``: every leg, pinned where an older release is checked."""
    return {"oldest": oldest or distribution, "middle": middle or distribution, "newest": distribution}


INTEGRATIONS = (
    Integration(
        "openai", ("openai",), "openai",
        (("openai", "clients, per-request URLs and WebSocket connection managers"),),
        _newest("openai", "openai==1.55.3", "openai>=2,<3"), peer="openai==3.57.0",
    ),
    Integration(
        "dashscope", ("dashscope",), "dashscope",
        (("dashscope", "URL globals and the 2.x Client; the rest through its transports"),),
        _newest("dashscope", "dashscope==1.14.0", "dashscope==1.27.8"), peer="dashscope==1.26.2",
    ),
    Integration("requests", ("requests",), "requests", (("requests", ""),), _newest("requests"), peer="requests==2.34.2"),
    Integration("httpx", ("httpx",), "httpx", (("httpx", ""),), _newest("httpx", "httpx==0.28.1"), peer="httpx==0.28.1"),
    Integration(
        "httpx2", ("httpx2",), "httpx2", (("httpx2", ""),),
        {"middle": "httpx2", "newest": "httpx2"}, peer="httpx2==2.16.2",  # not on Python 3.9
    ),
    Integration("aiohttp", ("aiohttp",), "aiohttp", (("aiohttp", "HTTP and ws_connect"),), _newest("aiohttp"), peer="aiohttp==3.14.5"),
    Integration(
        "websocket-client", ("websocket",), "websocket-client", (("websocket-client", ""),),
        _newest("websocket-client"), peer="websocket-client==1.9.2",
    ),
    Integration(
        "urllib", ("http.client",), STDLIB,
        (
            ("urllib.request", "the scheme may change (https -> http endpoint)"),
            ("http.client", "same scheme only: a connection object cannot switch TLS; refused in strict mode otherwise"),
        ),
        {},
    ),
    Integration(
        "urllib3", ("urllib3",), "urllib3",
        (("urllib3", "PoolManager, ProxyManager, urllib3.request"),), _newest("urllib3"), peer="urllib3==2.8.0",
    ),
    Integration(
        "websockets", ("websockets",), "websockets",
        (("websockets", "asyncio, sync and legacy clients"),),
        _newest("websockets", "websockets==13.1", "websockets>=15,<16"), peer="websockets==17.0.1",
    ),
    Integration("dspy", ("dspy",), "dspy", (("dspy", "its bundled lm15 client"),), {"newest": "dspy"}),
)

BY_NAME = {integration.name: integration for integration in INTEGRATIONS}
#: Names in registry order, as ``DASHSCOPE_PRIVATE_DISABLED_INTEGRATIONS`` lists them in errors.
NAMES = tuple(BY_NAME)
#: Module name -> names of the integrations its import installs.
TRIGGERS: "Dict[str, Tuple[str, ...]]" = {}
for _integration in INTEGRATIONS:
    for _module in _integration.modules:
        TRIGGERS[_module] = TRIGGERS.get(_module, ()) + (_integration.name,)
del _integration, _module


def ci_requirements(leg: str) -> "Tuple[str, ...]":
    """The requirements ``.ci/run`` installs for a leg's integrations (the leg adds its tools)."""
    if leg not in LEGS:
        raise ValueError(f"unknown leg {leg!r}; known: {', '.join(LEGS)}")
    return tuple(integration.checked[leg] for integration in INTEGRATIONS if leg in integration.checked)
