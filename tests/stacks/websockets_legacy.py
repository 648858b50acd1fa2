"""websockets, legacy client: ``websockets.legacy.client.connect`` (deprecated since 14, still shipped; no proxy support)."""

import asyncio
import warnings

from . import RUN_TASK, first_event

STACK = "websockets (legacy)"
LIBRARY = "websockets.legacy.client"
INTEGRATION = "websockets"
IMPORT_FORMS = ("from websockets.legacy.client import connect", "import asyncio")


def ws(url: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from websockets.legacy.client import connect

    async def main() -> str:
        async with connect(url, open_timeout=10) as socket:
            await socket.send(RUN_TASK)
            return first_event(await socket.recv())

    return asyncio.run(main())
