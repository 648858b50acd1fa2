"""urllib.request: a ``Request`` through a fresh default opener (``build_opener()``, as ``urlopen`` builds
on first use; it reads the proxy variables when built, so a fresh one per call sees the test's)."""

STACK = "urllib.request"
LIBRARY = "urllib.request"
INTEGRATION = "urllib"
IMPORT_FORMS = ("from urllib.request import urlopen", "import urllib.request")


def http(url: str, body: bytes, headers: dict) -> int:
    import urllib.request

    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.build_opener().open(request, timeout=10) as response:
        response.read()
        return response.status
