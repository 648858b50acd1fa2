"""``Patcher``: the one undo mechanism for everything patched (functions, wrappers, a module's class)."""

from __future__ import annotations

import types

from dashscope_private._patching import Patcher, is_patched


def _module() -> types.ModuleType:
    module = types.ModuleType("patch_target")
    exec("def greet(name):\n    return 'hello ' + name\nVALUE = 1\n", module.__dict__)
    return module


def test_replace_wrap_and_class_swap_undo_together_newest_first():
    module = _module()
    original_greet = module.greet
    patcher = Patcher("example")
    patcher.replace(module, "greet", lambda original: lambda name: original(name.upper()))
    patcher.swap_class(module, lambda base: type("Swapped", (base,), {"EXTRA": property(lambda self: 42)}))
    patcher.swap_class(module, lambda base: type("Twice", (base,), {}))  # idempotent: one swap
    assert module.greet("x") == "hello X" and is_patched(module, "greet")
    assert type(module).__name__ == "Swapped" and module.EXTRA == 42 and isinstance(module, types.ModuleType)
    assert patcher.undo() == []
    assert module.greet is original_greet and type(module) is types.ModuleType
    assert not patcher.active


def test_a_class_swapped_again_on_top_of_ours_is_left_in_place():
    module = _module()
    patcher = Patcher("example")
    patcher.swap_class(module, lambda base: type("Ours", (base,), {}))
    theirs = type("Theirs", (type(module),), {})
    module.__class__ = theirs  # someone else's instrumentation, after ours
    assert patcher.undo() == ["patch_target.__class__"]
    assert type(module) is theirs
