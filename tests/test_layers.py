"""The package's layout as the architecture document draws it: layers without an import circle,
small modules, a start-up path of builtins only, and one registry every consumer reads."""

from __future__ import annotations

import ast
import os
import re
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "dashscope_private")

#: Start-up with the variable set loads these (and only stdlib modules every interpreter has loaded).
START_UP = {"dashscope_private", "dashscope_private._boot", "dashscope_private.config", "dashscope_private.hosts"}


def _modules() -> dict:
    """Module name -> path, for every module of the package."""
    found = {}
    for folder, _dirs, files in os.walk(PACKAGE):
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(folder, file)
                parts = os.path.relpath(path, ROOT)[:-3].split(os.sep)
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                found[".".join(parts)] = path
    return found


def _imports(name: str, path: str, modules: dict) -> set:
    """Package modules ``name`` imports anywhere in its code (top level or inside functions)."""
    is_package = path.endswith("__init__.py")
    package = name if is_package else name.rpartition(".")[0]
    targets = set()
    tree = ast.parse(open(path, encoding="utf-8").read())
    type_only = {  # `if TYPE_CHECKING:` imports never run
        id(inner) for node in ast.walk(tree) if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                if candidate in modules:  # `from . import _state`: the submodule
                    targets.add(candidate)
                elif module in modules and module != name:
                    targets.add(module)
        elif isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names if alias.name in modules)
    targets.discard(name)
    return targets


def _graph() -> dict:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict) -> list:
    """Every import circle (each as the list of modules around it), by depth-first search."""
    found, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                found.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_no_import_circle_among_the_packages_modules():
    """Function-level imports count: a lazy import back up is still a circle."""
    graph = _graph()
    # The package's __init__ is the public API at the top: importing any submodule runs it first,
    # which is Python's doing, not an edge of ours.
    assert _cycles(graph) == []


def test_the_finder_of_cycles_sees_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_layers_point_down():
    """Start-up imports nothing above it; the state the request path reads imports no activation;
    integrations and the net read the state, never activation."""
    graph = _graph()
    above_start_up = {"dashscope_private._state", "dashscope_private._runtime", "dashscope_private._installer", "dashscope_private._environ", "dashscope_private.routing"}
    for module in START_UP - {"dashscope_private"}:
        assert not graph[module] & above_start_up, (module, graph[module])
    assert not graph["dashscope_private._state"] & {"dashscope_private._runtime", "dashscope_private._installer"}
    readers = [m for m in graph if m.startswith("dashscope_private.integrations.") or m.startswith("dashscope_private._egress")]
    for module in readers:
        assert "dashscope_private._runtime" not in graph[module], module
        assert "dashscope_private._installer" not in graph[module], module


def test_no_module_over_400_lines():
    long = {name: n for name, path in _modules().items() if (n := sum(1 for _ in open(path, encoding="utf-8"))) > 400}
    assert long == {}


def test_start_up_imports_only_builtins():
    """The start-up modules import only what every interpreter has loaded already (or lazily, in functions)."""
    allowed_stdlib = {"_thread", "os", "sys"}
    modules = _modules()
    for name in START_UP - {"dashscope_private"}:
        tree = ast.parse(open(modules[name], encoding="utf-8").read())
        for node in tree.body:  # module level only: function bodies run later, if at all
            if isinstance(node, ast.Import):
                assert {a.name for a in node.names} <= allowed_stdlib, (name, ast.dump(node))
            elif isinstance(node, ast.ImportFrom) and not node.level:
                assert node.module == "__future__" or node.module in allowed_stdlib, (name, node.module)


# ------------------------------------------------------------------ the registry is read by everyone


def test_every_row_has_its_integration_module_and_every_module_its_row():
    from dashscope_private import registry

    files = {f[:-3] for f in os.listdir(os.path.join(PACKAGE, "integrations")) if f.endswith(".py") and not f.startswith("_")}
    implementations = {row.implementation.rpartition(".")[2] for row in registry.INTEGRATIONS}
    assert implementations == files


def test_every_row_has_a_test_driver():
    """Step 3 of "Adding a stack": the zero-code matrix runs a driver for every integration that covers a
    stack; a cluster engine's row (no stack of its own) has its cluster tests instead."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        from stacks import drivers
    finally:
        sys.path.pop(0)
    from dashscope_private.registry import INTEGRATIONS

    driven = {driver.INTEGRATION for driver in drivers() if getattr(driver, "INTEGRATION", None)}
    assert {row.name for row in INTEGRATIONS if row.covers} <= driven
    clusters = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clusters")
    text = "".join(open(os.path.join(clusters, f), encoding="utf-8").read() for f in os.listdir(clusters) if f.endswith(".py"))
    for row in INTEGRATIONS:
        if not row.covers:
            assert f'engine("{row.modules[0]}")' in text, row.name  # tests/clusters/_cluster.engine: importorskip


def test_peer_suites_are_the_registrys_peers():
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))
    try:
        import suites
    finally:
        sys.path.pop(0)
    from dashscope_private.registry import INTEGRATIONS

    peers = {row.name: row.peer for row in INTEGRATIONS if row.peer}
    assert set(suites.SUITES) == set(peers)
    assert {name: f"{s['dist']}=={s['version']}" for name, s in suites.SUITES.items()} == peers


def test_ci_installs_the_registrys_pins():
    """.ci/run takes each leg's library requirements from the registry (ci_requirements)."""
    from dashscope_private import registry

    script = open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8").read()
    for leg in registry.LEGS:
        assert registry.ci_requirements(leg)
        if leg == "clusters":
            assert re.search(r"^\s*pins=\$\(registry_pins clusters\).*\n\s*\"\$UV\" pip install .*\$pins$", script, re.M)
        else:
            assert re.search(rf"^\s*pins=\$\(registry_pins {leg}\).*\n(.*\n){{0,2}}.*\bleg {leg} .*\$pins", script, re.M), leg
    with pytest.raises(ValueError):
        registry.ci_requirements("nightly")


def test_doctor_and_stacks_read_the_registry():
    from dashscope_private import stacks
    from dashscope_private.registry import INTEGRATIONS, STDLIB

    for row in INTEGRATIONS:
        table = stacks.STDLIB_STACKS if row.distribution == STDLIB else stacks.STACKS
        for stack, note in row.covers:
            assert table[stack] == (stacks.REDIRECTED, row.name, note)
