"""``DASHSCOPE_PRIVATE_CONFIG``: the settings in a TOML file, read only when that variable is set.

Serverless runtimes cap the environment (Function Compute: 4 KB), so a long
route list belongs in a file. This module reads the file (``tomllib``, or
``tomli`` before Python 3.11) and turns its keys into the text the matching
variables would hold; ``config.load`` merges them under the environment and
validates them, naming the file and the key in any error. It is the only
configuration code that does I/O, and it is imported only when the variable is set.

The file::

    strict = true
    allow = ["dashscope-us.aliyuncs.com"]

    [routes]
    "dashscope.aliyuncs.com" = "http://ep-xxxx.dashscope.cn-beijing.privatelink.aliyuncs.com"
    "dashscope-intl.aliyuncs.com" = "http://ep-yyyy.dashscope.ap-southeast-1.privatelink.aliyuncs.com"
    "*.cn-beijing.maas.aliyuncs.com" = "http://ep-xxxx.dashscope.cn-beijing.privatelink.aliyuncs.com"
"""

from .errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, List, Mapping, Tuple

__all__ = ["read_settings", "read_into", "ROUTES_TABLE"]

#: The table of ``"public-host-pattern" = "endpoint"`` entries.
ROUTES_TABLE = "routes"
_BOOLEANS = ("strict", "propagate", "disable")
_LISTS = ("hosts", "allow", "disabled_integrations")


def read_settings(path: str, keys: "Mapping[str, str]", variable: str) -> "Tuple[Dict[str, str], Dict[str, str], List[Tuple[str, str, str]]]":
    """Read ``path``; returns ``(values, labels, routes)``.

    ``keys`` maps each key the file may hold to its variable. ``values`` maps
    variables to their text as the environment would hold it, ``labels`` maps
    them to how an error names them (``variable (path, key 'strict')``), and
    ``routes`` lists ``(pattern, endpoint, label)`` from the ``[routes]`` table.
    Raises :class:`ConfigError` naming ``variable``, the file and the key.
    """
    data = _parse(path, variable)
    values: "Dict[str, str]" = {}
    labels: "Dict[str, str]" = {}
    routes: "List[Tuple[str, str, str]]" = []
    for key, value in data.items():
        label = f"{variable} ({path!r}, key {key!r})"
        if key == ROUTES_TABLE:
            if not isinstance(value, dict):
                raise ConfigError(label, "must be a table", 'write [routes] followed by lines such as "dashscope.aliyuncs.com" = "http://ep-xxxx..."')
            for pattern, endpoint in value.items():
                route_label = f"{variable} ({path!r}, [routes] key {pattern!r})"
                if not isinstance(endpoint, str):
                    raise ConfigError(route_label, f"the endpoint must be a string, not {_kind(endpoint)}")
                routes.append((pattern, endpoint, route_label))
            continue
        if key not in keys:
            raise ConfigError(label, "is not a setting", "known keys: " + ", ".join(sorted(keys)) + ", [" + ROUTES_TABLE + "]")
        values[keys[key]] = _text(label, key, value)
        labels[keys[key]] = label
    return values, labels, routes


def read_into(values: "Dict[str, str]", sources: "Dict[str, str]", path: str, keys: "Mapping[str, str]", variable: str) -> "Tuple[Dict[str, str], List[Tuple[str, str, str]]]":
    """Add the file's values to ``values`` where a variable does not set them already (``sources`` says
    ``file <path>``); returns the labels of those it added and the file's routes (see :func:`read_settings`)."""
    file_values, file_labels, routes = read_settings(path, keys, variable)
    labels = {}
    for name, text in file_values.items():
        if name not in values:
            values[name], sources[name], labels[name] = text, f"file {path}", file_labels[name]
    return labels, routes


def _parse(path: str, variable: str) -> "Dict[str, Any]":
    try:
        import tomllib  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # Python < 3.11
        try:
            import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]
        except ImportError:
            raise ConfigError(variable, f"reading {path!r} needs tomli on Python < 3.11", "pip install tomli (dashscope-private requires it there)") from None
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)  # type: ignore[no-any-return]
    except OSError as exc:
        raise ConfigError(variable, f"cannot read {path!r}: {exc.strerror or type(exc).__name__}", "give the path of a readable TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(variable, f"{path!r} is not valid TOML: " + " ".join(str(exc).split()), "") from None


def _text(label: str, key: str, value: "Any") -> str:
    """A file value as the text its variable would hold."""
    if key in _BOOLEANS:
        if isinstance(value, bool):
            return "1" if value else "0"
        raise ConfigError(label, f"must be true or false, not {_kind(value)}")
    if key in _LISTS and isinstance(value, list):
        if not all(isinstance(item, str) for item in value):
            raise ConfigError(label, "must be a list of strings")
        return ",".join(value)
    if isinstance(value, str):
        return value
    raise ConfigError(label, f"must be a string{' or a list of strings' if key in _LISTS else ''}, not {_kind(value)}")


def _kind(value: "Any") -> str:
    return {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "a table"}.get(type(value), type(value).__name__)
