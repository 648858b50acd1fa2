"""Start-up entry point, run by ``dashscope_private.pth`` (and ``.start`` on Python 3.15+).

With ``DASHSCOPE_PRIVATE_ENDPOINT`` unset this returns after one dictionary
lookup and imports nothing. With it set, it parses the configuration and
registers lazy post-import hooks; no SDK, HTTP library or wrapt is imported
until the program itself imports one. It never raises: the interpreter must
start whatever happens here.
"""

import os

ENDPOINT = "DASHSCOPE_PRIVATE_ENDPOINT"


def boot() -> None:
    """Activate from the environment if the endpoint variable is set."""
    if not os.environ.get(ENDPOINT):
        return
    try:
        from ._runtime import activate_from_environment

        activate_from_environment()
    except Exception as exc:  # never break start-up, whatever went wrong
        import sys

        sys.stderr.write(f"dashscope-private: not activated ({type(exc).__name__}: {exc})\n")
