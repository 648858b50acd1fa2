"""``%load_ext dashscope_private``: activation in a running IPython shell or Jupyter kernel.

A kernel started with ``DASHSCOPE_PRIVATE_ENDPOINT`` set is active from its
start (the ``.pth``), and ``%env DASHSCOPE_PRIVATE_ENDPOINT=...`` in a kernel
whose ``.pth`` ran takes effect by itself (the ``os.environ`` watcher). The
extension covers the rest: it activates from the kernel's environment where no
``.pth`` ran (``pip install --target``, a folder on ``PYTHONPATH``), installs
the watcher there too, and adds one line magic::

    %dashscope_private                 status (also: %dashscope_private status)
    %dashscope_private <endpoint>      activate with this endpoint (a base URL from the guide is fine)
    %dashscope_private on              activate from the environment
    %dashscope_private off             deactivate

Imported only when the extension is loaded; IPython itself is never imported here.
"""

from __future__ import annotations

import os
import sys

from . import _boot
from .config import ENDPOINT

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

MAGIC = "dashscope_private"
USAGE = f"usage: %{MAGIC} [status | <endpoint> | on | off]"


def load(ipython: Any) -> None:
    """What ``%load_ext dashscope_private`` runs."""
    from . import _runtime

    _boot.watch_environ()
    if os.environ.get(ENDPOINT):
        _runtime.activate_from_environment()  # an invalid value: one line, fail closed
    ipython.register_magic_function(magic, "line", MAGIC)
    print(status())


def unload(ipython: Any) -> None:
    """``%unload_ext dashscope_private``: deactivate (the magic stays until the kernel restarts)."""
    from . import _runtime

    _runtime.deactivate()
    print(status())


def magic(line: str) -> None:
    """``%dashscope_private [status | <endpoint> | on | off]``."""
    from . import _runtime
    from .errors import ConfigError

    argument = line.strip()
    try:
        if argument in ("", "status"):
            pass
        elif argument == "off":
            _runtime.deactivate()
        elif argument == "on":
            _runtime.activate()
        elif argument.startswith("-") or " " in argument:
            print(USAGE, file=sys.stderr)
            return
        else:
            _runtime.activate(argument)
    except ConfigError as exc:  # one line, not a traceback
        print(f"dashscope-private: {exc}", file=sys.stderr)
        return
    print(status())


def status() -> str:
    """One line: where DashScope requests go in this kernel."""
    from . import _runtime

    _runtime.ensure_started()  # a kernel started with the variable set, before its first SDK import
    router = _runtime.current()
    if router is None:
        return (
            f"dashscope-private: inactive; set %env {ENDPOINT}=<endpoint> or run %{MAGIC} <endpoint>"
        )
    if router.config is None:
        return f"dashscope-private: failing closed (requests to DashScope public hosts raise): {router.error}"
    config = router.config
    extras = [name for name, on in (("strict", config.strict),) if on]
    by_endpoint: dict = {}
    for pattern, endpoint in config.routing_table():
        by_endpoint.setdefault(endpoint, []).append(pattern)
    routes = "; ".join(f"requests for {', '.join(patterns)} go to {endpoint}" for endpoint, patterns in by_endpoint.items())
    return f"dashscope-private: active; {routes}" + (f" ({', '.join(extras)})" if extras else "")
