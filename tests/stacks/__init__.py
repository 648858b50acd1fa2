"""One driver module per HTTP/WebSocket stack, for the coverage matrices.

``tests/test_zero_code_matrix.py`` runs each driver as an unchanged program in a
fresh interpreter (the wheel installed, only environment variables set), with
one of its ``IMPORT_FORMS`` as the program's first statement; the README's
"What is covered" table comes from its results. ``tests/test_matrix.py`` runs
the same drivers in-process, activated with ``activate()``.

A driver module here makes one unchanged request the way a user of that stack
would write it, with a fresh client each call (so proxy variables set by the
test apply). It imports its library inside the functions, never at module
level, so that the program's first statement really is the first import. It
defines:

``STACK``         the name shown in the README's "What is covered" table
``LIBRARY``       the import name the driver needs (the matrix skips the stack when it is missing)
``INTEGRATION``   its name in ``DASHSCOPE_PRIVATE_DISABLED_INTEGRATIONS``
``IMPORT_FORMS``  the ways a program of this stack starts, each tried as the first statement of a
                  zero-code program (``"from urllib.request import urlopen"``, ``"import requests"``;
                  ``"import asyncio"`` for the asyncio stacks: it imports ``socket``, which strict mode watches)
``http(url, body, headers) -> int``   optional: POST ``body`` (bytes, JSON) to ``url``; the status code
``ws(url) -> str``                     optional: open a WebSocket on ``url``, send a ``run-task``
                                       message (``RUN_TASK``) and return the first event's
                                       ``header.event`` (the stand-in answers ``task-started``)
``SCHEME_BOUND``  optional, True for a stack that cannot change the scheme (``http.client``): the
                  matrix then redirects an ``http://`` public URL to the plain-HTTP stand-in
``STRICT_ONLY``   optional, True for a stack nothing redirects (raw sockets): only strict mode's
                  refusal is expected
``PATHS``         optional, ``{kind: path}`` where the request lands when it is not the matrix's
                  default (``PATHS`` below), e.g. the DashScope SDK's own generation path

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

#: The unchanged request's URL, per kind: a public host dashscope-private redirects ...
PUBLIC = {"http": "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions", "ws": "wss://dashscope.aliyuncs.com/api-ws/v1/inference"}
#: ... and one it does not (the endpoint is not configured for it): strict mode refuses it.
UNREDIRECTED = {"http": "https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions", "ws": "wss://dashscope-intl.aliyuncs.com/api-ws/v1/inference"}
#: Where the redirected request lands on the endpoint, unless the driver says otherwise (``PATHS``).
PATHS = {"http": "/compatible-mode/v1/chat/completions", "ws": "/api-ws/v1/inference"}
BODY = json.dumps({"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]}).encode()
HEADERS = {"Authorization": "Bearer sk-test", "Content-Type": "application/json"}
RUN_TASK = json.dumps({"header": {"action": "run-task", "task_id": "t1", "streaming": "duplex"}, "payload": {"task": "asr"}})


def first_event(message) -> str:  # type: ignore[no-untyped-def]
    """``header.event`` of a stand-in WebSocket message (text or bytes)."""
    if isinstance(message, (bytes, bytearray)):
        message = message.decode("utf-8")
    return json.loads(message)["header"]["event"]


def public_url(driver: ModuleType, kind: str) -> str:
    """The URL a redirect cell's program asks for (``http://`` for a ``SCHEME_BOUND`` stack: a connection
    object cannot switch TLS, and the stand-in speaks plain HTTP; see ``integrations/test_urllib.py``)."""
    url = PUBLIC[kind]
    return url.replace("https://", "http://", 1) if getattr(driver, "SCHEME_BOUND", False) else url


def landing_path(driver: ModuleType, kind: str) -> str:
    return getattr(driver, "PATHS", {}).get(kind, PATHS[kind])


def drivers() -> List[ModuleType]:
    """Every driver module in this folder, in name order."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if not info.name.startswith("_") and info.name != "table":
            found.append(importlib.import_module(f"{__name__}.{info.name}"))
    return found
