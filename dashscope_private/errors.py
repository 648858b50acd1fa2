"""Exception types of dashscope-private.

Kept in their own stdlib-free module so that the start-up path can raise and
catch them without importing anything else.
"""

__all__ = ["DashscopePrivateError", "ConfigError", "PublicEgressBlocked", "IntegrationError"]


class DashscopePrivateError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(DashscopePrivateError, ValueError):
    """A ``DASHSCOPE_PRIVATE_*`` value is invalid.

    The message names the variable, says what is wrong and how to fix it, and
    never echoes a secret. While the configuration is invalid, requests to
    DashScope public hosts raise this error instead of leaving the VPC.
    """

    def __init__(self, variable: str, problem: str, fix: str = "") -> None:
        self.variable = variable
        self.problem = problem
        self.fix = fix
        message = f"{variable}: {problem}"
        if fix:
            message += f"; {fix}"
        super().__init__(message)


class PublicEgressBlocked(DashscopePrivateError, RuntimeError):
    """A request to a public Model Studio host was stopped before any connection.

    Raised in strict mode (``DASHSCOPE_PRIVATE_STRICT=1``) for public hosts that
    are not being redirected, before any DNS lookup or connection is made.
    """

    def __init__(self, host: str, url: str, hint: str) -> None:
        self.host = host
        self.url = url
        self.hint = hint
        super().__init__(f"dashscope-private blocked a request to public host {host!r}: {hint}")

    @classmethod
    def unredirected(cls, host: str, oss_upload: bool = False) -> "PublicEgressBlocked":
        """Strict mode's error for a public host the configuration does not redirect, with its fix."""
        if oss_upload:
            hint = (
                "a local file upload goes to DashScope's public OSS bucket, which the PrivateLink endpoint "
                "does not cover; set DASHSCOPE_PRIVATE_OSS=internal to use the VPC-internal OSS endpoint, "
                f"or DASHSCOPE_PRIVATE_ALLOW={host} to permit it"
            )
        else:
            hint = (
                "it is a public Model Studio host that is not redirected; add it to DASHSCOPE_PRIVATE_HOSTS "
                f"or route it (DASHSCOPE_PRIVATE_ROUTES={host}=<endpoint>) to send it through a private endpoint, "
                "or add it to DASHSCOPE_PRIVATE_ALLOW to permit it"
            )
        return cls(host, "", hint)


class IntegrationError(DashscopePrivateError, ImportError):
    """Strict mode: an integration could not be installed on the imported library.

    An ``ImportError``, because it surfaces from the program's own ``import``
    of that library (the post-import hook runs inside it).
    """
