"""urllib3: ``PoolManager().request`` with a fresh manager per call."""

STACK = "urllib3"
LIBRARY = "urllib3"
INTEGRATION = "urllib3"
IMPORT_FORMS = ("import urllib3",)


def http(url: str, body: bytes, headers: dict) -> int:
    import urllib3

    with urllib3.PoolManager(timeout=10, retries=False) as manager:
        return manager.request("POST", url, body=body, headers=headers).status
