"""The loopback stand-in endpoint, kept importable here: it lives in ``dashscope_private._support``.

Tests, the examples' README and other people's code import
``from dashscope_private.standin import StandIn, REPLY_TEXT``; this re-export
keeps that name working.
"""

from ._support.standin import FAMILIES, REPLY_TEXT, Record, StandIn

__all__ = ["StandIn", "Record", "REPLY_TEXT", "FAMILIES"]
