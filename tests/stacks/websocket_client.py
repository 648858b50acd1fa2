"""websocket-client: ``websocket.create_connection`` (it honours the proxy variables itself)."""

from . import RUN_TASK, first_event

STACK = "websocket-client"
LIBRARY = "websocket"
INTEGRATION = "websocket-client"
IMPORT_FORMS = ("import websocket",)


def ws(url: str) -> str:
    import websocket

    connection = websocket.create_connection(url, timeout=10)
    try:
        connection.send(RUN_TASK)
        return first_event(connection.recv())
    finally:
        connection.close()
