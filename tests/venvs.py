"""Wheels and fresh venvs for the zero-code tests (``test_zero_code*.py``, ``test_release.py``).

The session-scoped fixtures built from these (``wheel``, ``user_venv``,
``plain_venv``) are in ``conftest.py``: the wheel is built once per session and
every zero-code test installs that one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import metadata

import pytest

from support import ORIGINAL_ENVIRON

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
#: The SDKs and transports a zero-code venv gets, each at the version this test run has (if it has it).
SDK_DISTRIBUTIONS = ("openai", "dashscope", "requests", "httpx", "httpx2", "aiohttp", "websocket-client", "websockets", "wrapt", "tomli", "dspy")


def installed(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def needs(*dists: str) -> None:
    """Skip unless this run has ``dists``: a zero-code venv gets the libraries this run has (``sdk_pins``), no others."""
    missing = [dist for dist in dists if not installed(dist)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed in this run (the program in the fresh venv needs it)")


def uv() -> list:
    found = shutil.which("uv")
    if found:
        return [found]
    pytest.skip("uv is needed to build venvs quickly (pip install uv)")


def tool(*args: str, timeout: int = 600) -> None:
    """Run uv with the machine's own environment (it needs the package registry, not the trap)."""
    subprocess.run(uv() + list(args), check=True, timeout=timeout, env=ORIGINAL_ENVIRON)


def venv(path: str, packages: list) -> str:
    tool("venv", "-q", "-p", sys.executable, path, timeout=120)
    python = os.path.join(path, "bin", "python")
    if packages:
        tool("pip", "install", "-q", "-p", python, *packages)
    return python


def sdk_pins() -> list:
    """The SDKs at exactly the versions this test run uses, so each CI leg tests its own matrix."""
    pins = []
    for dist in SDK_DISTRIBUTIONS:
        version = installed(dist)
        if version:
            pins.append(f"{dist}=={version}")
    return pins


def run(python: str, *args: str, env: dict | None = None, cwd: str | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run ``python`` with this session's environment (the proxy trap included), minus our variables and PYTHONPATH."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_PRIVATE_") and k != "PYTHONPATH"}
    clean.update(env or {})
    return subprocess.run([python, *args], env=clean, cwd=cwd or ROOT + "/tests", capture_output=True, text=True, timeout=timeout)


def site_packages(python: str) -> str:
    return subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True, check=True).stdout.strip()
