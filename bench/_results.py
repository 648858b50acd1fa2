"""Writing benchmark results: shared by startup.py and runtime.py."""

import json
import os


def write_json(path: str, data: dict) -> None:
    """Write ``data`` to ``path`` atomically (a ``.tmp`` file, then a rename)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, default=str)
    os.replace(tmp, path)
    print(f"wrote {path}")
