"""What every command shares: exit codes and where this copy of the package lives."""

from __future__ import annotations

import os

__all__ = ["EXIT_OK", "EXIT_PROBLEMS", "EXIT_CONFIG", "PACKAGE_DIR", "package_parent"]

#: 0 all good; 1 problems found (or nothing to do); 2 a configuration error or a usage error.
EXIT_OK, EXIT_PROBLEMS, EXIT_CONFIG = 0, 1, 2

#: ``dashscope_private/``: child processes and ``run`` must use this very copy.
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def package_parent() -> str:
    """The folder holding ``dashscope_private/``, for a child's ``PYTHONPATH``."""
    return os.path.dirname(PACKAGE_DIR)
