"""One module per patched library, each exposing only ``install()`` and ``uninstall()``.

SDK level (what users see): ``openai``, ``dashscope``. Transport level (the
safety net under every SDK): ``requests``, ``httpx``, ``httpx2``, ``aiohttp``,
``websocket_client``. Each reads the router in force at call time, so
deactivation takes effect immediately even for objects built before it.
"""
