"""Release artefacts: build the sdist and the wheel the way the release workflow does, and check them.

The same script the workflow runs (.ci/check_dist.py): the start-up files in the
wheel, the sdist complete enough to build from, and a wheel built from the sdist
identical in content to one built directly from the checkout. Plus `twine check`
where twine is installed (the release workflow always runs it).
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import zipfile

import pytest

from venvs import ROOT, tool

pytestmark = pytest.mark.slow

CHECK = os.path.join(ROOT, ".ci", "check_dist.py")


@pytest.fixture(scope="module")
def dists(wheel, tmp_path_factory) -> tuple:
    """The sdist and the wheel built from it, and the session's wheel (built directly from the checkout)."""
    out = tmp_path_factory.mktemp("release")
    tool("build", "-q", "-o", str(out / "dist"), ROOT, timeout=300)  # the sdist, then the wheel FROM the sdist
    return str(out / "dist"), wheel


def test_sdist_and_wheel_check_out(dists):
    dist, direct = dists
    result = subprocess.run([sys.executable, CHECK, dist, "--compare", direct], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the direct wheel is identical" in result.stdout


def test_wheel_holds_the_start_up_files_at_its_root(dists):
    (wheel,) = glob.glob(os.path.join(dists[0], "*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert {"dashscope_private.pth", "dashscope_private.start", "_dashscope_private_start.py"} <= names
        assert archive.read("dashscope_private.pth") == open(os.path.join(ROOT, "activation", "dashscope_private.pth"), "rb").read()


def test_check_dist_catches_a_bad_artefact(dists, tmp_path):
    """The checker is not a rubber stamp: a wheel without the .pth and a wrong tag both fail."""
    dist, direct = dists
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in glob.glob(os.path.join(dist, "*")):
        target = broken / os.path.basename(path)
        if path.endswith(".whl"):
            with zipfile.ZipFile(path) as src, zipfile.ZipFile(target, "w") as dst:
                for item in src.infolist():
                    if item.filename != "dashscope_private.pth":
                        dst.writestr(item, src.read(item.filename))
        else:
            target.write_bytes(open(path, "rb").read())
    result = subprocess.run([sys.executable, CHECK, str(broken), "--compare", direct, "--tag", "v999.0.0"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "wheel: dashscope_private.pth is missing" in result.stdout
    assert "the tag v999.0.0 does not match" in result.stdout
    assert "differ in files" in result.stdout


def test_twine_check(dists):
    pytest.importorskip("twine", reason="twine is not installed here; the release workflow runs `twine check --strict`")
    files = sorted(glob.glob(os.path.join(dists[0], "*")))
    result = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *files], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2
