"""One driver module per HTTP/WebSocket stack, for the coverage matrix (``tests/test_matrix.py``).

A driver module here makes one unchanged request the way a user of that stack
would write it, with a fresh client each call (so proxy variables set by the
test apply). It defines:

``STACK``         the name shown in the README's "What is covered" table
``LIBRARY``       the import name the driver needs (the matrix skips the stack when it is missing)
``INTEGRATION``   its name in ``DASHSCOPE_PRIVATE_DISABLED_INTEGRATIONS``
``http(url, body, headers) -> int``   optional: POST ``body`` (bytes, JSON) to ``url``; the status code
``ws(url) -> str``                     optional: open a WebSocket on ``url``, send a ``run-task``
                                       message (``RUN_TASK``) and return the first event's
                                       ``header.event`` (the stand-in answers ``task-started``)
``SCHEME_BOUND``  optional, True for a stack that cannot change the scheme (``http.client``): the
                  matrix then redirects an ``http://`` public URL to the plain-HTTP stand-in
``STRICT_ONLY``   optional, True for a stack nothing redirects (raw sockets): only strict mode's
                  refusal is expected

Drivers let every exception out: the matrix expects ``PublicEgressBlocked``
(possibly as the ``__cause__``/``__context__`` of the library's own error) in
strict mode, and success otherwise.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from types import ModuleType
from typing import List

RUN_TASK = json.dumps({"header": {"action": "run-task", "task_id": "t1", "streaming": "duplex"}, "payload": {"task": "asr"}})


def first_event(message) -> str:  # type: ignore[no-untyped-def]
    """``header.event`` of a stand-in WebSocket message (text or bytes)."""
    if isinstance(message, (bytes, bytearray)):
        message = message.decode("utf-8")
    return json.loads(message)["header"]["event"]


def drivers() -> List[ModuleType]:
    """Every driver module in this folder, in name order."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if not info.name.startswith("_") and info.name != "table":
            found.append(importlib.import_module(f"{__name__}.{info.name}"))
    return found
