"""httpx: rewrite at ``Request`` construction (see ``_httpx_family``)."""

from ._httpx_family import HttpxFamily

_family = HttpxFamily("httpx")
install = _family.install
uninstall = _family.uninstall
__all__ = ["install", "uninstall"]
