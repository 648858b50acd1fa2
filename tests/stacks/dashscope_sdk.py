"""The DashScope SDK, as its users call it: ``dashscope.Generation.call(...)``, with ``dashscope.base_http_api_url``
set the way the SDK's docs tell international users to (``https://dashscope-intl.aliyuncs.com/api/v1``)."""

from urllib.parse import urlsplit

STACK = "dashscope SDK"
LIBRARY = "dashscope"
INTEGRATION = "dashscope"
IMPORT_FORMS = ("import dashscope", "from dashscope import Generation")
#: The path the call lands on (not the matrix's default OpenAI-compatible one).
PATHS = {"http": "/api/v1/services/aigc/text-generation/generation"}


def http(url: str, body: bytes, headers: dict) -> int:
    """Only the scheme and host of ``url`` are used: the SDK builds its own request under ``/api/v1``."""
    import dashscope

    parts = urlsplit(url)
    saved = dashscope.__dict__["base_http_api_url"]  # as stored: the in-process matrix shares the module
    dashscope.base_http_api_url = f"{parts.scheme}://{parts.netloc}/api/v1"
    try:
        response = dashscope.Generation.call(model="qwen-plus", prompt="hi", api_key="sk-test-dashscope")
    finally:
        dashscope.__dict__["base_http_api_url"] = saved
    if response.status_code != 200:
        # The SDK turns some transport errors into a response; the matrix wants the error itself.
        raise RuntimeError(f"dashscope returned {response.status_code}: {response.code} {response.message}")
    return response.status_code
