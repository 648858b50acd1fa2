# sitecustomize installed on PYTHONPATH by `dashscope-private run`.
#
# Written for any Python: an interpreter older than 3.9 (or Python 2) that
# happens to inherit PYTHONPATH must not fail on our syntax, so this file uses
# none of it and activates only on 3.9+. After activating it chains to the
# sitecustomize that would have run without us, so nothing of the user's is lost.
import os
import sys


def _dashscope_private_activate():
    if sys.version_info < (3, 9) or not os.environ.get("DASHSCOPE_PRIVATE_ENDPOINT"):
        return
    try:
        from dashscope_private._boot import boot
    except ImportError:
        return
    boot()  # idempotent: a no-op if the .pth of an installed copy already activated


def _chain_to_next_sitecustomize():
    here = os.path.dirname(os.path.abspath(__file__))
    saved_path = list(sys.path)
    ours = sys.modules.pop("sitecustomize", None)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    try:
        import importlib

        importlib.import_module("sitecustomize")
    except ImportError as exc:
        if getattr(exc, "name", "sitecustomize") != "sitecustomize":
            raise  # the user's sitecustomize itself failed: show it as Python would
        if ours is not None:
            sys.modules["sitecustomize"] = ours
    finally:
        sys.path[:] = saved_path


_dashscope_private_activate()
_chain_to_next_sitecustomize()
