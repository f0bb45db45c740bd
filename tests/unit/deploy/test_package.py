"""The wheel installs one top-level package, `newsmon`, and works outside the checkout.

`collectors/`, `streams/`, `schemas/` and `bench/` are top-level folders of the repository but
install as `newsmon.collectors` and so on; the Kibana saved objects, templates and rules ship as
package data. Built for real with pip, then run from a folder that is not the checkout.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.xdist_group("wheel")  # one build at a time: two builds of one tree share its build/ folder


@pytest.fixture(scope="module")
def unpacked_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    source = out / "source"  # a copy: builds never share the checkout's build/ and egg-info folders
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".venv", ".git", ".newsmon", "build", "*.egg-info", "__pycache__"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(source)],
        capture_output=True, text=True,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = out.glob("newsmon-*.whl")
    target = out / "site"
    zipfile.ZipFile(wheel).extractall(target)
    return target


def test_the_wheel_holds_one_top_level_package(unpacked_wheel: Path) -> None:
    top = {p.name for p in unpacked_wheel.iterdir() if not p.name.endswith(".dist-info")}
    assert top == {"newsmon"}
    for data in ("schemas/kibana/newsmon.ndjson", "schemas/topics.yaml", "web/static/index.html"):
        assert (unpacked_wheel / "newsmon" / data).is_file(), data


@pytest.mark.parametrize(
    "argv",
    [["kibana", "import", "--help"], ["bench", "--help"], ["rules", "test"]],
)
def test_commands_run_from_the_installed_package_outside_the_checkout(
    unpacked_wheel: Path, tmp_path: Path, argv: list[str]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env["PYTHONPATH"] = str(unpacked_wheel)
    probe = "import newsmon, runpy, sys; print(newsmon.__file__, file=sys.stderr); " \
            "sys.argv = ['newsmon', *sys.argv[1:]]; runpy.run_module('newsmon.cli', run_name='__main__')"
    result = subprocess.run([sys.executable, "-c", probe, *argv], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert str(unpacked_wheel) in result.stderr.splitlines()[0]
