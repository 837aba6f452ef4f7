"""A fresh install is the tested one: scripts/setup installs exactly uv.lock, and refuses to
install anything when pyproject.toml asks for what the lock does not hold."""
from __future__ import annotations

import os
import shutil
import subprocess
import tomllib

import pytest

from testkit import ROOT

pytestmark = pytest.mark.processes  # runs uv and scripts/setup

UV = ROOT / ".tools" / "bin" / "uv"  # scripts/setup bootstraps it (pinned, hash-checked)


def test_the_lock_holds_what_pyproject_asks_for():
    checked = subprocess.run([UV, "lock", "--check", "--project", str(ROOT)],
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stderr


def test_every_locked_package_carries_hashes():
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    for package in lock["package"]:
        if package.get("source", {}).get("editable") or package.get("source", {}).get("virtual"):
            continue  # sheetbatch itself
        files = package.get("wheels", []) + ([package["sdist"]] if "sdist" in package else [])
        assert files and all(file.get("hash", "").startswith("sha256:") for file in files), \
            package["name"]


def test_setup_refuses_a_pyproject_the_lock_does_not_match(tmp_path):
    copy = tmp_path / "checkout"
    copy.mkdir()
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(ROOT / name, copy / name)
    for folder in ("scripts", "server", "workers"):
        shutil.copytree(ROOT / folder, copy / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    (copy / ".tools").symlink_to(ROOT / ".tools")
    pyproject = copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        'dependencies = [\n', 'dependencies = [\n    "six>=1.16",\n', 1))
    setup = subprocess.run(["bash", "scripts/setup"], cwd=copy, capture_output=True, text=True,
                           timeout=300, env=dict(os.environ, UV_OFFLINE="1"))
    assert setup.returncode != 0
    assert "uv.lock" in setup.stderr and "--locked" in setup.stderr, setup.stderr
    installed = copy / ".venv" / "lib"
    assert not list(installed.glob("python3*/site-packages/six.py"))  # nothing installed


def test_the_main_job_installs_no_test_tool():
    runtime = subprocess.run([UV, "export", "--locked", "--no-dev", "--no-emit-project",
                              "--project", str(ROOT), "--format", "requirements-txt"],
                             capture_output=True, text=True, check=True, timeout=120).stdout
    names = {line.split("==")[0] for line in runtime.splitlines() if "==" in line}
    test_tools = {"pytest", "hypothesis", "moto", "playwright", "schemathesis", "boto3", "honcho"}
    assert names and not names & test_tools, names & test_tools
    assert "--test" not in (ROOT / "scripts" / "main-job").read_text()
