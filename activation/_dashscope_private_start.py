"""Start-up entry point, and the ``os.environ`` watcher (its one copy).

``dashscope_private.pth`` imports this top-level module, and Python 3.15+
runs :func:`boot` from ``dashscope_private.start`` (PEP 829). A module of its
own, outside the package, so that with the variable unset start-up imports
only this small file: the package loads when the variable is set, at start-up
or later.

Written for every start-up: builtins and ``os`` only, no annotations that
cost anything, nothing that can raise out of :func:`boot`.

PYTEST_DONT_REWRITE: imported by the ``.pth`` before pytest starts, and pytest marks the
distribution's modules for assertion rewriting because of its ``pytest11`` plugin.
"""

import os

#: The variables the package reads: ``dashscope_private.config.VARIABLES`` (a test keeps them equal).
VARIABLES = (
    "DASHSCOPE_PRIVATE_ENDPOINT",
    "DASHSCOPE_PRIVATE_HOSTS",
    "DASHSCOPE_PRIVATE_DISABLE",
    "DASHSCOPE_PRIVATE_DISABLED_INTEGRATIONS",
    "DASHSCOPE_PRIVATE_LOG",
    "DASHSCOPE_PRIVATE_STRICT",
    "DASHSCOPE_PRIVATE_OSS",
    "DASHSCOPE_PRIVATE_ALLOW",
    "DASHSCOPE_PRIVATE_AUDIT",
    "DASHSCOPE_PRIVATE_PROPAGATE",
    "DASHSCOPE_PRIVATE_ROUTES",
    "DASHSCOPE_PRIVATE_CONFIG",
)
#: Class attribute of ``os._Environ`` holding the original ``__setitem__`` once the
#: watcher is installed; its presence means "installed", so there is only ever one.
ORIGINAL = "_dashscope_private_setitem"
#: The code of ``os._Environ.__setitem__`` on CPython 3.9 to 3.13, by the names it uses.
_STDLIB_SETITEM_NAMES = ("encodekey", "encodevalue", "putenv", "_data")


def boot():
    """What start-up runs: activate if the endpoint, a route list or a settings file is set; otherwise only watch."""
    environ = os.environ
    if not (environ.get("DASHSCOPE_PRIVATE_ENDPOINT") or environ.get("DASHSCOPE_PRIVATE_ROUTES") or environ.get("DASHSCOPE_PRIVATE_CONFIG")):
        watch_environ()
        return
    try:
        from dashscope_private._boot import boot as _boot
    except ImportError:  # a stale file whose package is gone: stay silent
        return
    _boot()


def watch_environ():
    """Call ``dashscope_private._environ.environ_changed`` whenever one of our variables is set.

    ``os._Environ.__setitem__`` is the one door every write goes through, for
    ``os.environ`` and ``os.environb`` alike (they share one dictionary):
    ``os.environ[k] = v``, ``update()``, ``setdefault()``, ``|=``, python-dotenv's
    ``load_dotenv()``, IPython's ``%env``. Where it is the standard library's
    four lines (3.9 to 3.13), the replacement is those same four lines run in
    ``os``'s namespace plus ``key in names``, a frozenset lookup whose hash the
    dictionary store just computed and cached in the key: the cheapest test
    found (``bench/environ_write.py``; a prefix or first-character test costs
    more). Anywhere else it calls the original first. Either
    way return values, exceptions, signature and mapping semantics are the
    original's, and nothing compares bytes with str (clean under ``python -bb``).
    Removing a key is not watched: removal changes no setting (see
    ``dashscope_private._boot.settings``).
    """
    environ_type = os._Environ
    if ORIGINAL in vars(environ_type):
        return
    original = environ_type.__setitem__
    environ = os.environ
    try:  # keys as the mapping stores them: bytes on POSIX, upper-case str on Windows
        names = frozenset(environ.encodekey(name) for name in VARIABLES)
    except Exception:
        return

    def notify(env, encoded_key):
        """One of our variables was written: tell the package, if it is the process environment."""
        if getattr(env, "_data", None) is not getattr(environ, "_data", environ):
            return  # another mapping built on os._Environ: not the process environment
        try:
            key = environ.decodekey(encoded_key)
        except Exception:
            return
        try:
            from dashscope_private._environ import environ_changed
        except ImportError:  # a stale file whose package is gone
            return
        environ_changed(key)

    code = getattr(original, "__code__", None)
    if code is not None and code.co_names == _STDLIB_SETITEM_NAMES and code.co_argcount == 3:
        factory = _inline_setitem
        setitem = type(factory)(factory.__code__, vars(os), "watch", None, factory.__closure__)(names, notify)
    else:

        def setitem(self, key, value):
            original(self, key, value)
            try:
                encoded = self.encodekey(key)
                ours = encoded in names
            except Exception:
                return
            if ours:
                notify(self, encoded)

    setitem.__name__ = "__setitem__"
    setitem.__qualname__ = original.__qualname__
    setitem.__doc__ = original.__doc__
    setitem.__wrapped__ = original
    setattr(environ_type, ORIGINAL, original)
    environ_type.__setitem__ = setitem


def _inline_setitem(names, notify):
    """``os._Environ.__setitem__`` plus the watcher's test; run with ``os``'s globals (``putenv``)."""

    def __setitem__(self, key, value):
        key = self.encodekey(key)
        value = self.encodevalue(value)
        putenv(key, value)  # noqa: F821 (os.putenv: this function runs in os's namespace)
        self._data[key] = value
        if key in names:  # the hash is cached in ``key`` by the store above
            notify(self, key)

    return __setitem__
