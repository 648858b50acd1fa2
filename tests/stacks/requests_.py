"""requests: ``requests.post`` with a fresh session per call."""

STACK = "requests"
LIBRARY = "requests"
INTEGRATION = "requests"
IMPORT_FORMS = ("import requests",)


def http(url: str, body: bytes, headers: dict) -> int:
    import requests

    with requests.Session() as session:
        return session.post(url, data=body, headers=headers, timeout=10).status_code
