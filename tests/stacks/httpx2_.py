"""httpx2 (openai 3.x's HTTP client): a fresh ``httpx2.Client`` per call."""

STACK = "httpx2"
LIBRARY = "httpx2"
INTEGRATION = "httpx2"
IMPORT_FORMS = ("import httpx2",)


def http(url: str, body: bytes, headers: dict) -> int:
    import httpx2

    with httpx2.Client(timeout=10) as client:
        return client.post(url, content=body, headers=headers).status_code
