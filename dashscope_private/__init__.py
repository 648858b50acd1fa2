"""dashscope-private: send Alibaba Cloud Model Studio (DashScope) traffic through your PrivateLink endpoint.

Zero-code use: ``pip install dashscope-private`` and set
``DASHSCOPE_PRIVATE_ENDPOINT`` to the endpoint's domain. Every Python process
then redirects requests for the public DashScope hosts (OpenAI-compatible
and DashScope SDK, HTTP and WebSocket, raw ``requests``/``httpx``/``aiohttp``/
``websocket-client``) to the endpoint; nothing else is touched.

The public Python API is deliberately small:

``activate(endpoint=None, **overrides)``
    Activate in this process (and, through exported variables, its children).
    ``endpoint=None`` reads ``DASHSCOPE_PRIVATE_ENDPOINT``. Keyword overrides
    name the other variables without their prefix: ``hosts``, ``strict``,
    ``oss``, ``allow``, ``disabled_integrations``, ``log``, ``disable``,
    ``routes`` (``{"dashscope-intl.aliyuncs.com": "http://ep-..."}`` or the
    variable's ``pattern=endpoint,...`` text: several endpoints, each host to
    its own), ``config`` (a TOML settings file).
    Raises :class:`ConfigError` for an invalid value. Idempotent.
``deactivate()``
    Undo all patches and exported variables.
``is_active()``
    Whether a configuration is in force.
``rewrite_url(url) -> str``
    The URL this package would send ``url`` to; unchanged where it would not
    touch it. Raises :class:`PublicEgressBlocked` (strict mode) or
    :class:`ConfigError` (invalid configuration) where a request would be refused.
``ConfigError``, ``PublicEgressBlocked``, ``DashscopePrivateError``
    The exceptions raised on purpose.

Variables set after start-up take effect too: a ``DASHSCOPE_PRIVATE_*`` key
written to ``os.environ`` (``load_dotenv()``, ``%env``, ``os.environ[...] = ...``)
re-reads the whole configuration before the next request; an emptied endpoint or
``DASHSCOPE_PRIVATE_DISABLE=1`` deactivates.

IPython and Jupyter: ``%load_ext dashscope_private`` activates in a running
kernel from its environment (also where no ``.pth`` ran) and adds the line magic
``%dashscope_private [status | <endpoint> | on | off]``.

``import dashscope_private.auto`` activates from the environment where
``.pth`` files are not processed. This module imports nothing heavy: it is
loaded at interpreter start-up on Python 3.15+ (``.start`` files).

PYTEST_DONT_REWRITE: loaded at start-up, before pytest, when the variable is set.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

    from .errors import ConfigError, DashscopePrivateError, PublicEgressBlocked

_ERRORS = ("ConfigError", "PublicEgressBlocked", "DashscopePrivateError")

__version__ = "0.1.0"

__all__ = [
    "activate",
    "deactivate",
    "is_active",
    "rewrite_url",
    "ConfigError",
    "PublicEgressBlocked",
    "DashscopePrivateError",
    "__version__",
]


def activate(endpoint: "str | None" = None, **overrides: "Any") -> None:
    """Activate private routing; see the module docstring for the overrides."""
    from ._runtime import activate as _activate

    _activate(endpoint, **overrides)


def deactivate() -> None:
    """Restore every patched library and exported variable."""
    from ._runtime import deactivate as _deactivate

    _deactivate()


def is_active() -> bool:
    """True while private routing (or fail-closed blocking) is in force."""
    from ._runtime import is_active as _is_active

    return _is_active()


def rewrite_url(url: str) -> str:
    """Where a request for ``url`` would go; ``url`` itself when it is not ours to touch."""
    from ._runtime import rewrite_url as _rewrite_url

    return _rewrite_url(url)


def load_ipython_extension(ipython: "Any") -> None:
    """``%load_ext dashscope_private``: activate in a running IPython shell or Jupyter kernel."""
    from ._ipython import load

    load(ipython)


def unload_ipython_extension(ipython: "Any") -> None:
    """``%unload_ext dashscope_private``: deactivate."""
    from ._ipython import unload

    unload(ipython)


def __getattr__(name: str) -> object:
    """The exception classes, loaded on first use (PEP 562): start-up never needs them."""
    if name in _ERRORS:
        from . import errors

        return getattr(errors, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
