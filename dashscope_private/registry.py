"""The registry's rows (``config.INTEGRATION_ROWS``) as objects with named fields.

The rows themselves are literals in ``config``, on the start-up path; this view is
for everything after it: the installer, ``doctor``, the stacks table, the tests.
"""

from __future__ import annotations

from .config import INTEGRATION_ROWS, STDLIB

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, Optional, Tuple

__all__ = ["STDLIB", "Integration", "INTEGRATIONS", "INTEGRATIONS_BY_NAME", "LEGS", "ci_requirements"]

#: The CI matrix's legs that install integrations' libraries (``.ci/run``): oldest SDKs first, then the clusters.
LEGS = ("oldest", "middle", "newest", "clusters")


class Integration:
    """One row of the registry; the fields are described at ``config.INTEGRATION_ROWS``.

    ``implementation`` is the module with its ``install()``/``uninstall()``,
    ``integrations/<name>.py`` (a test may point it at a broken one).
    """

    __slots__ = ("name", "modules", "distribution", "covers", "checked", "peer", "implementation")

    def __init__(
        self,
        name: str,
        modules: "Tuple[str, ...]",
        distribution: str,
        covers: "Tuple[Tuple[str, str], ...]",
        checked: "Dict[str, str]",
        peer: "Optional[str]" = None,
        implementation: "Optional[str]" = None,
    ) -> None:
        self.name = name
        self.modules = modules
        self.distribution = distribution
        self.covers = covers
        self.checked = checked
        self.peer = peer
        #: the module with its ``install()``/``uninstall()``: ``integrations/<name>.py``
        self.implementation = implementation or "dashscope_private.integrations." + name.replace("-", "_")

    def __repr__(self) -> str:
        return f"Integration({self.name!r}, modules={self.modules!r})"


INTEGRATIONS = tuple(Integration(name, *row) for name, row in INTEGRATION_ROWS.items())
INTEGRATIONS_BY_NAME = {integration.name: integration for integration in INTEGRATIONS}


def ci_requirements(leg: str) -> Tuple[str, ...]:
    """The requirements ``.ci/run`` installs for a leg's integrations (the leg adds its tools)."""
    if leg not in LEGS:
        raise ValueError(f"unknown leg {leg!r}; known: {', '.join(LEGS)}")
    return tuple(row[3][leg] for row in INTEGRATION_ROWS.values() if leg in row[3])
