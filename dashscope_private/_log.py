"""The ``dashscope_private`` logger, created lazily, and once-only messages.

``logging`` is imported on first use, not at start-up: it pulls in
``threading``, ``traceback`` and ``re`` and would cost every process
milliseconds even when nothing is ever logged.
"""

from __future__ import annotations

import _thread

LOGGER_NAME = "dashscope_private"
_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}

_seen: set = set()
_seen_lock = _thread.allocate_lock()
_level: int | None = None


def set_level(name: str | None) -> None:
    """Apply ``DASHSCOPE_PRIVATE_LOG``; ``None`` leaves the logger at its inherited level."""
    global _level
    _level = _LEVELS.get(name) if name else None
    if _level is not None:
        logger().setLevel(_level)


def logger():  # -> logging.Logger (annotation omitted so typing is not needed at runtime)
    """The package logger. A handler is added only when the user asked for a level,
    so that ``DASHSCOPE_PRIVATE_LOG=debug`` shows output even in programs that never
    configure logging."""
    import logging

    log = logging.getLogger(LOGGER_NAME)
    if _level is not None and not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(name)s: %(levelname)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(_level)
    return log


def first_time(key: object) -> bool:
    """True the first time ``key`` is seen in this process (thread-safe)."""
    with _seen_lock:
        if key in _seen:
            return False
        _seen.add(key)
        return True


def once(level: str, key: object, message: str, *args: object) -> None:
    """Log ``message`` at ``level`` the first time ``key`` is seen; later calls are free."""
    if first_time(key):
        getattr(logger(), level)(message, *args)


def reset_once() -> None:
    """Forget which once-only messages were shown (used on deactivate and in tests)."""
    with _seen_lock:
        _seen.clear()
