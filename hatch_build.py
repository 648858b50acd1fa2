"""Put the start-up files at the wheel root, for regular and editable installs alike.

``force-include`` in pyproject.toml does not reach editable wheels, so a tiny
build hook adds the files to both.
"""

from __future__ import annotations

import os
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

STARTUP_FILES = ("dashscope_private.pth", "dashscope_private.start", "_dashscope_private_start.py")
#: The guide's programs that ``dashscope-private demo`` runs unchanged.
DEMO_EXAMPLES = ("guide_openai.py", "guide_dashscope.py", "guide_http.py")


class StartupFilesHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        for name in STARTUP_FILES:
            source = os.path.join(self.root, "activation", name)
            build_data.setdefault("force_include", {})[source] = name
            build_data.setdefault("force_include_editable", {})[source] = name
        for name in DEMO_EXAMPLES:
            source = os.path.join(self.root, "examples", name)
            build_data.setdefault("force_include", {})[source] = f"dashscope_private/_examples/{name}"
