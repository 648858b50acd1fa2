"""http.client: ``HTTPConnection`` for http URLs, ``HTTPSConnection`` for https, as a program would write it.

A connection object cannot switch TLS on or off, so this stack goes private
only when the endpoint's scheme matches the connection's: an ``http://`` public
URL with the default (plain HTTP) ``ep-*`` endpoint, or an ``https://`` URL with
the endpoint's HTTPS custom domain. Otherwise (e.g. the https public URL with
the plain-HTTP stand-in) strict mode refuses the connection with
``PublicEgressBlocked`` and non-strict mode warns once and lets it go to the
public host (see ``dashscope_private/integrations/urllib.py``). ``SCHEME_BOUND``
tells the matrix so: run it with an ``http://`` public URL, or expect the
refusal for ``https://`` URLs in strict mode.
"""

STACK = "http.client"
LIBRARY = "http.client"
INTEGRATION = "urllib"
IMPORT_FORMS = ("import http.client",)
SCHEME_BOUND = True


def http(url: str, body: bytes, headers: dict) -> int:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_type(parts.netloc, timeout=10)
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", target, body, headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()
