"""DSPy: ``dspy.LM("openai/...", api_base=...)`` (3.4+ sends through its bundled lm15 client, which
honours the proxy variables itself; older releases through litellm)."""

import os

STACK = "DSPy"
LIBRARY = "dspy"
INTEGRATION = "dspy"
IMPORT_FORMS = ("import dspy",)

#: The OpenAI-compatible path the LM appends to ``api_base``.
_CHAT = "/chat/completions"


def http(url: str, body: bytes, headers: dict) -> int:
    """``body`` and ``headers`` are not used: DSPy builds its own chat request from ``api_base``."""
    # DSPy fetches a model price map from GitHub on first use unless told to use its bundled copy.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import dspy

    api_base = url.split("?", 1)[0]
    if api_base.endswith(_CHAT):
        api_base = api_base[: -len(_CHAT)]
    lm = dspy.LM("openai/qwen-plus", api_base=api_base, api_key="sk-dashscope", cache=False, num_retries=0)
    outputs = lm("你是谁?")
    return 200 if outputs and outputs[0] else 500
