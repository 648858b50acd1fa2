"""urllib.request: ``urlopen`` of a ``Request`` (the global opener, which honours the proxy variables)."""

STACK = "urllib.request"
LIBRARY = "urllib.request"
INTEGRATION = "urllib"


def http(url: str, body: bytes, headers: dict) -> int:
    import urllib.request

    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
        return response.status
