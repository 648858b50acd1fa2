"""One module per patched library, each exposing only ``install()`` and ``uninstall()``.

SDK level (what users see): ``openai``, ``dashscope``. Transport level (the
safety net under every SDK): ``requests``, ``httpx``, ``httpx2``, ``aiohttp``,
``websocket_client`` (websocket-client), ``websockets``, ``urllib3``,
``urllib`` (the standard library: ``urllib.request`` and ``http.client``) and
``dspy`` (DSPy's bundled lm15 client). ``config.INTEGRATION_MODULES`` is the
list in force: it names each integration and the import that installs it.
Each reads the router in force at call time, so deactivation takes effect
immediately even for objects built before it.
"""
