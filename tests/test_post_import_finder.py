"""The post-import finder itself: a hook never loses its module, and runs exactly once.

Each test imports real modules written to a temporary folder, with a finder
of its own (the process-wide one is left alone). The cases are the ones that
lost hooks before: a hook registered while its module is still executing —
from inside a nested import (``urllib.request`` imports ``http.client``,
whose hook registers one for ``urllib.request``), during the module's own
body, or from another thread while this one imports it.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading
import uuid

import pytest

from dashscope_private._boot import PostImportFinder


@pytest.fixture
def finder():
    finder = PostImportFinder()
    yield finder
    finder.clear(leave=True)


@pytest.fixture
def modules(tmp_path, monkeypatch):
    """Write modules ``{name: source}`` into a folder on sys.path; returns a unique-name factory."""
    monkeypatch.syspath_prepend(str(tmp_path))
    written = []

    def write(sources: dict) -> None:
        for name, source in sources.items():
            (tmp_path / f"{name}.py").write_text(source)
            written.append(name)
        importlib.invalidate_caches()

    yield write
    for name in written:
        sys.modules.pop(name, None)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def test_hook_registered_from_a_nested_import_runs_once_the_outer_module_completes(finder, modules):
    outer, inner = unique("outer"), unique("inner")
    modules({outer: f"import {inner}\nDONE = True\n", inner: "VALUE = 1\n"})
    seen = []

    def inner_hook(module):  # like the urllib integration: registers for the module importing this one
        finder.register(outer, lambda m: seen.append((m.__name__, getattr(m, "DONE", None))))

    finder.register(inner, inner_hook)
    importlib.import_module(outer)
    assert seen == [(outer, True)]  # ran, after the body finished
    importlib.import_module(outer)
    assert seen == [(outer, True)]  # once
    assert type(sys.modules[outer].__spec__).__name__ == "ModuleSpec" and "CompletionWatch" not in repr(type(sys.modules[outer].__spec__).__mro__)


def test_hook_registered_during_the_modules_own_body(finder, modules):
    name = unique("selfreg")
    modules({name: "import builtins\nbuiltins._dsp_test_register(__name__)\nLATE = 'set after the registration'\n"})
    seen = []
    import builtins

    builtins._dsp_test_register = lambda n: finder.register(n, lambda m: seen.append(getattr(m, "LATE", None)))
    try:
        importlib.import_module(name)
    finally:
        del builtins._dsp_test_register
    assert seen == ["set after the registration"]


@contextlib.contextmanager
def importing_in_another_thread(modules, prefix: str):
    """A module whose import, in another thread, holds half-way until the block ends; yields (name, thread)."""
    import builtins

    name = unique(prefix)
    modules({name: "import builtins\nbuiltins._dsp_started.set()\nbuiltins._dsp_release.wait(10)\nREADY = True\n"})
    builtins._dsp_started, builtins._dsp_release = threading.Event(), threading.Event()
    importer = threading.Thread(target=importlib.import_module, args=(name,))
    importer.start()
    try:
        assert builtins._dsp_started.wait(10), "the import never started"
        yield name, importer
    finally:
        builtins._dsp_release.set()
        importer.join(10)
        del builtins._dsp_started, builtins._dsp_release


def test_hook_registered_while_another_thread_imports_the_module(finder, modules):
    seen = []
    with importing_in_another_thread(modules, "slow") as (name, importer):
        finder.register(name, lambda m: seen.append((threading.current_thread() is importer, getattr(m, "READY", None))))
        assert seen == []  # not on a half-executed module
    assert seen == [(True, True)]  # once, in the importing thread, when the import completed


def test_many_threads_registering_during_one_import_each_run_once(finder, modules):
    seen = []
    with importing_in_another_thread(modules, "contended") as (name, _importer):
        registrars = [threading.Thread(target=finder.register, args=(name, lambda m, i=i: seen.append(i))) for i in range(8)]
        for thread in registrars:
            thread.start()
        for thread in registrars:
            thread.join(10)
        # all registered while the import is under way: each runs once when it completes
    assert sorted(seen) == list(range(8))


def test_hook_for_a_watched_module_fires_after_completion_not_mid_import(finder, modules):
    """A hook registered before the import runs once the module is complete (and in ``sys.modules``)."""
    name, inner = unique("watched"), unique("dep")
    modules({name: f"import {inner}\nAFTER = True\n", inner: "X = 1\n"})
    seen = []
    finder.register(name, lambda m: seen.append((getattr(m, "AFTER", None), sys.modules.get(name) is m)))
    importlib.import_module(name)
    assert seen == [(True, True)]


def test_a_failed_import_runs_no_hook_and_the_next_import_does(finder, modules, tmp_path):
    name = unique("flaky")
    modules({name: "raise RuntimeError('first try fails')\n"})
    seen = []
    finder.register(name, lambda m: seen.append(m.__name__))
    with pytest.raises(RuntimeError):
        importlib.import_module(name)
    assert seen == []
    (tmp_path / f"{name}.py").write_text("OK = True\n")
    importlib.invalidate_caches()
    sys.modules.pop(name, None)
    sys.dont_write_bytecode = True
    try:
        importlib.import_module(name)
    finally:
        sys.dont_write_bytecode = False
    assert seen == [name]


def test_an_already_imported_module_runs_the_hook_at_once(finder, modules):
    name = unique("done")
    modules({name: "X = 1\n"})
    importlib.import_module(name)
    seen = []
    finder.register(name, lambda m: seen.append(m.X))
    assert seen == [1]
