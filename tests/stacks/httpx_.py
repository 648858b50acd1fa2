"""httpx: a fresh ``httpx.Client`` per call (it reads the proxy variables when built)."""

STACK = "httpx"
LIBRARY = "httpx"
INTEGRATION = "httpx"
IMPORT_FORMS = ("import httpx",)


def http(url: str, body: bytes, headers: dict) -> int:
    import httpx

    with httpx.Client(timeout=10) as client:
        return client.post(url, content=body, headers=headers).status_code
