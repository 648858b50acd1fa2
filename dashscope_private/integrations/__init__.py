"""One module per patched library, each exposing only ``install()`` and ``uninstall()``.

SDK level (what users see): ``openai``, ``dashscope``. Transport level (the
safety net under every SDK): the HTTP and WebSocket stacks beneath them, the
standard library's included (``urllib``: ``urllib.request`` and ``http.client``).
``config.INTEGRATION_ROWS`` is the list in force: one row per integration, with
the imports that install it and the module here that implements it. Each reads
the router in force at call time (``_state``), so deactivation takes effect
immediately even for objects built before it. The contract each keeps is in
``docs/architecture.md`` ("The integration contract").
"""
