"""websockets, asyncio client: ``websockets.asyncio.client.connect`` (15+ honours the proxy variables itself)."""

import asyncio

from . import RUN_TASK, first_event

STACK = "websockets (asyncio)"
LIBRARY = "websockets.asyncio.client"
INTEGRATION = "websockets"
IMPORT_FORMS = ("from websockets.asyncio.client import connect", "import websockets", "import asyncio")


def ws(url: str) -> str:
    from websockets.asyncio.client import connect

    async def main() -> str:
        async with connect(url, open_timeout=10) as socket:
            await socket.send(RUN_TASK)
            return first_event(await socket.recv())

    return asyncio.run(main())
