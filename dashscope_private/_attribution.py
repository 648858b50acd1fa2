"""Which integration a decision was made for: found from the caller's code, not passed down.

The audit trail (``_audit``) labels each record with an integration. The request
path's functions are called by our integration modules, or by hooks we put in a
library; walking up from the caller, the first frame whose module names one of
them gives the label. One dict lookup per frame, cached per code object, so no
integration passes its name and the request path with audit off is unchanged.
"""

from __future__ import annotations

from .registry import INTEGRATIONS

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, Optional

__all__ = ["integration_of", "CODES"]

_PREFIX = "dashscope_private."
#: our integration modules -> integration name (a direct caller of route_url/route_target)
_BY_MODULE = {integration.implementation: integration.name for integration in INTEGRATIONS}
#: a library's top-level package -> integration name (the caller of a hook we put in the library)
_BY_LIBRARY = {module.partition(".")[0]: integration.name for integration in INTEGRATIONS for module in integration.modules}
_BY_LIBRARY["urllib"] = "urllib"
def _name_for(module: str) -> str | None:
    """The integration for code in ``module``; ``None`` for our modules that pass a request on."""
    found = _BY_MODULE.get(module)
    if found is not None:
        return found
    if module.startswith(_PREFIX) or module == "dashscope_private":
        return None
    top = module.partition(".")[0]
    return _BY_LIBRARY.get(top, top)


#: code object -> its integration (``None``: look further up); one dict lookup per frame
CODES: Dict[Any, Optional[str]] = {}
_UNSEEN = object()


def integration_of(frame: Any) -> str:
    """The integration a request came through, from the frames above the request path."""
    while frame is not None:
        code = frame.f_code
        found = CODES.get(code, _UNSEEN)
        if found is _UNSEEN:
            if len(CODES) >= 4096:
                CODES.clear()
            found = CODES[code] = _name_for(frame.f_globals.get("__name__") or "")
        if found is not None:
            return found  # type: ignore[return-value]
        frame = frame.f_back
    return "unknown"
