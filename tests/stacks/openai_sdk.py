"""The openai SDK, as its users call DashScope: ``OpenAI(base_url=<compatible-mode>).chat.completions.create``
(a fresh client per call, so it reads the proxy variables; no retries, so a refusal is reported at once)."""

STACK = "openai SDK"
LIBRARY = "openai"
INTEGRATION = "openai"
IMPORT_FORMS = ("from openai import OpenAI", "import openai")

#: What the client appends to ``base_url``.
_CHAT = "/chat/completions"


def http(url: str, body: bytes, headers: dict) -> int:
    """``body`` and ``headers`` are not used: the SDK builds its own chat request from ``base_url``."""
    from openai import OpenAI

    base_url = url[: -len(_CHAT)] if url.endswith(_CHAT) else url
    client = OpenAI(base_url=base_url, api_key="sk-test-openai", max_retries=0, timeout=10)
    try:
        completion = client.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "hi"}])
    finally:
        client.close()
    return 200 if completion.choices[0].message.content else 500
