"""websockets, sync client: ``websockets.sync.client.connect`` (15+ honours the proxy variables itself)."""

from . import RUN_TASK, first_event

STACK = "websockets (sync)"
LIBRARY = "websockets.sync.client"
INTEGRATION = "websockets"
IMPORT_FORMS = ("from websockets.sync.client import connect",)


def ws(url: str) -> str:
    from websockets.sync.client import connect

    with connect(url, open_timeout=10) as socket:
        socket.send(RUN_TASK)
        return first_event(socket.recv())
