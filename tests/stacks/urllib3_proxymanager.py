"""urllib3 ``ProxyManager``, with the proxy the environment names for the URL's scheme.

urllib3 itself ignores the proxy variables; programs behind a proxy build a
``ProxyManager``. Endpoint traffic must go direct, not through that proxy.
Without a proxy in the environment the driver uses a plain ``PoolManager``.
"""

STACK = "urllib3 ProxyManager"
LIBRARY = "urllib3"
INTEGRATION = "urllib3"
IMPORT_FORMS = ("import urllib3",)


def http(url: str, body: bytes, headers: dict) -> int:
    import urllib.request

    import urllib3

    proxy = urllib.request.getproxies().get(url.partition(":")[0].lower())
    manager = urllib3.ProxyManager(proxy, timeout=10, retries=False) if proxy else urllib3.PoolManager(timeout=10, retries=False)
    with manager:
        return manager.request("POST", url, body=body, headers=headers).status
