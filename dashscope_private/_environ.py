"""Settings written after start-up: the watcher's way into activation, and our own writes.

The ``os.environ`` watcher (in ``_dashscope_private_start``) calls
:func:`environ_changed` when a program writes a ``DASHSCOPE_PRIVATE_*`` variable
(``load_dotenv()``, ``%env``, ``os.environ[...] = ...``). Activation marks the
writes it makes itself (exporting ``activate()`` values, restoring them) with
:class:`own_writes`, which the watcher ignores. Not on the start-up path.
"""

import _thread
import os
import sys

from ._boot import ACTIVATION, activation_lock, is_initializing, is_strict_failure, start_from_settings

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List

__all__ = ["environ_changed", "own_writes"]

#: Idents of threads writing ``os.environ`` for the runtime itself (see :class:`own_writes`).
_own_writer: "List[int]" = []


class own_writes:
    """``with own_writes():`` around the runtime's own ``os.environ`` writes (exporting
    ``activate()`` values, restoring them): the watcher ignores them in this thread."""

    def __enter__(self) -> None:
        _own_writer.append(_thread.get_ident())

    def __exit__(self, *exc_info: object) -> None:
        _own_writer.remove(_thread.get_ident())


def environ_changed(key: str) -> None:
    """A ``DASHSCOPE_PRIVATE_*`` variable was just set in ``os.environ``: (re)activate; never raises.

    Before the first activation this does what start-up would have done (an
    invalid value: one stderr line, fail closed). While active, the whole
    configuration is read again (a variable later in the same ``.env`` re-
    configures). Writes made by our own runtime (``activate()`` exporting its
    values) are ignored. Serialised with activation under one lock, so a write
    racing another thread's import neither misses that library nor sees a
    half-imported runtime.
    """
    if _thread.get_ident() in _own_writer:
        return  # our own write, from inside activate()/deactivate()
    try:
        with activation_lock:
            runtime = sys.modules.get(ACTIVATION)
            if runtime is not None and not is_initializing(runtime) and runtime.current() is not None:
                runtime.reconfigure_from_environment()
            else:
                start_from_settings()
    except Exception as exc:  # the user's assignment has happened; do not fail it
        if is_strict_failure(exc):
            raise
        sys.stderr.write(f"dashscope-private: {key} was set, but activation failed ({type(exc).__name__}: {exc})\n")
