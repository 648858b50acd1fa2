"""httpx2, which openai 3.x is built on: the same hook as httpx."""

from ._httpx_family import HttpxFamily

_family = HttpxFamily("httpx2")
install = _family.install
uninstall = _family.uninstall
__all__ = ["install", "uninstall"]
