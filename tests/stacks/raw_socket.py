"""Raw sockets: an HTTP/1.1 request written by hand over ``socket.create_connection``.

No integration can redirect this (there is no URL to rewrite): it stands for
every stack nobody patched. ``STRICT_ONLY`` tells the matrix to expect only
the strict-mode refusal, which the process-level net gives at name lookup.
"""

STACK = "raw socket (any unpatched stack)"
LIBRARY = "socket"
INTEGRATION = None
IMPORT_FORMS = ("import socket", "import asyncio")
STRICT_ONLY = True


def http(url: str, body: bytes, headers: dict) -> int:
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    with socket.create_connection((parts.hostname, port), timeout=10) as connection:
        head = f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        connection.sendall(head.encode() + body)
        return int(connection.recv(64).split()[1])
