"""What ``dashscope-private demo`` and the test suite stand on, shipped in the wheel for the demo.

Never imported by start-up or the runtime: only ``demo``, the tests and the
``dashscope_private.standin`` re-export load it.
"""
