"""aiohttp: a ``ClientSession(trust_env=True)`` per call, so it honours the proxy variables."""

import asyncio

from . import RUN_TASK, first_event

STACK = "aiohttp"
LIBRARY = "aiohttp"
INTEGRATION = "aiohttp"
IMPORT_FORMS = ("import aiohttp", "import asyncio")


def http(url: str, body: bytes, headers: dict) -> int:
    import aiohttp

    async def main() -> int:
        async with aiohttp.ClientSession(trust_env=True) as session:
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                return response.status

    return asyncio.run(main())


def ws(url: str) -> str:
    import aiohttp

    async def main() -> str:
        async with aiohttp.ClientSession(trust_env=True) as session:
            async with session.ws_connect(url) as socket:
                await socket.send_str(RUN_TASK)
                return first_event((await socket.receive()).data)

    return asyncio.run(main())
