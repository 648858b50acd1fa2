#!/usr/bin/env python3
"""Check the release artefacts before they are published.

    python .ci/check_dist.py DIST_DIR [--compare DIRECT_WHEEL] [--tag vX.Y.Z]

DIST_DIR holds exactly one sdist and one wheel, the wheel built FROM the sdist
(what `uv build` and `python -m build` do by default). Checked:

* the wheel holds the start-up files at its root (``dashscope_private.pth``, one
  line, byte for byte the checkout's; ``dashscope_private.start`` naming
  ``_dashscope_private_start:boot``; that module), the package with ``py.typed``
  and the demo's examples, and the console script;
* the sdist holds what building a wheel needs (``pyproject.toml``,
  ``hatch_build.py``, ``activation/``, ``examples/``, ``README.md``);
* both carry the package's ``__version__`` (and the tag's, with ``--tag``);
* with ``--compare``: a wheel built directly from the checkout has exactly the
  same files with exactly the same bytes.

``twine check`` is separate (the release workflow and tests/test_release.py run it).
Stdlib only. Exit status 0 when every check passes, 1 otherwise (each failure printed).
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import sys
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STARTUP_FILES = ("dashscope_private.pth", "dashscope_private.start", "_dashscope_private_start.py")
WHEEL_FILES = STARTUP_FILES + (
    "dashscope_private/__init__.py",
    "dashscope_private/_boot.py",
    "dashscope_private/py.typed",
    "dashscope_private/_examples/guide_openai.py",
)
SDIST_FILES = ("pyproject.toml", "hatch_build.py", "README.md", "PKG-INFO", "activation/dashscope_private.pth",
               "activation/dashscope_private.start", "activation/_dashscope_private_start.py", "examples/guide_openai.py",
               "dashscope_private/__init__.py")


def package_version() -> str:
    text = open(os.path.join(ROOT, "dashscope_private", "__init__.py"), encoding="utf-8").read()
    match = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    assert match, "no __version__ in dashscope_private/__init__.py"
    return match.group(1)


def wheel_contents(path: str) -> dict:
    with zipfile.ZipFile(path) as wheel:
        return {name: wheel.read(name) for name in wheel.namelist() if not name.endswith("/")}


def check(dist: str, compare: str | None, tag: str | None) -> list:
    failures = []
    sdists = glob.glob(os.path.join(dist, "*.tar.gz"))
    wheels = glob.glob(os.path.join(dist, "*.whl"))
    if len(sdists) != 1 or len(wheels) != 1:
        return [f"{dist} must hold one sdist and one wheel, found {sorted(os.listdir(dist))}"]
    sdist, wheel = sdists[0], wheels[0]
    version = package_version()
    if tag is not None and tag.lstrip("v") != version:
        failures.append(f"the tag {tag} does not match __version__ {version}")
    for path, expected in ((sdist, f"dashscope_private-{version}.tar.gz"), (wheel, f"dashscope_private-{version}-py3-none-any.whl")):
        if os.path.basename(path) != expected:
            failures.append(f"{os.path.basename(path)}: expected {expected}")

    files = wheel_contents(wheel)
    for name in WHEEL_FILES:
        if name not in files:
            failures.append(f"wheel: {name} is missing")
    pth = files.get("dashscope_private.pth", b"")
    if pth != open(os.path.join(ROOT, "activation", "dashscope_private.pth"), "rb").read():
        failures.append("wheel: dashscope_private.pth differs from activation/dashscope_private.pth")
    if pth.count(b"\n") != 1 or not pth.startswith(b"import os;"):
        failures.append("wheel: dashscope_private.pth must be one line starting with 'import os;'")
    if files.get("dashscope_private.start", b"").strip() != b"_dashscope_private_start:boot":
        failures.append("wheel: dashscope_private.start must name _dashscope_private_start:boot")
    dist_info = f"dashscope_private-{version}.dist-info/"
    metadata = files.get(dist_info + "METADATA", b"").decode("utf-8", "replace")
    if f"\nVersion: {version}\n" not in metadata or "Requires-Dist: wrapt" not in metadata:
        failures.append("wheel: METADATA lacks the version or the wrapt requirement")
    if b"dashscope-private = dashscope_private.cli:main" not in files.get(dist_info + "entry_points.txt", b""):
        failures.append("wheel: the dashscope-private console script is missing")
    stray = sorted(n for n in files if not n.startswith(("dashscope_private/", dist_info)) and n not in STARTUP_FILES)
    if stray:
        failures.append(f"wheel: unexpected files at the root: {stray}")

    with tarfile.open(sdist) as archive:
        prefix = f"dashscope_private-{version}/"
        names = {m.name[len(prefix):] for m in archive.getmembers() if m.name.startswith(prefix)}
    for name in SDIST_FILES:
        if name not in names:
            failures.append(f"sdist: {name} is missing")

    if compare:
        direct = wheel_contents(compare)
        if sorted(direct) != sorted(files):
            failures.append(f"the wheel built from the sdist and the direct wheel differ in files: "
                            f"only from sdist {sorted(set(files) - set(direct))}, only direct {sorted(set(direct) - set(files))}")
        else:
            differing = sorted(n for n in files if files[n] != direct[n])
            if differing:
                failures.append(f"the wheel built from the sdist and the direct wheel differ in content: {differing}")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dist", help="folder with the sdist and the wheel built from it")
    parser.add_argument("--compare", help="a wheel built directly from the checkout: must be identical in content")
    parser.add_argument("--tag", help="the release tag (vX.Y.Z): must match __version__")
    args = parser.parse_args()
    failures = check(args.dist, args.compare, args.tag or None)
    for failure in failures:
        print(f"✗ {failure}")
    if not failures:
        print(f"✓ {args.dist}: sdist and wheel check out" + (" (the direct wheel is identical)" if args.compare else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
