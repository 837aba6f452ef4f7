"""The shape of the house: the domain folders stay free of infrastructure."""
from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import server.money
import server.sheet
from testkit import ROOT

INFRASTRUCTURE = ("flask", "rq", "redis", "gspread")


@pytest.mark.processes
def test_domain_folders_import_no_infrastructure():
    modules = [f"{package.__name__}.{info.name}" for package in (server.sheet, server.money)
               for info in pkgutil.iter_modules(package.__path__)]
    code = ("import sys\n" + "".join(f"import {name}\n" for name in modules)
            + f"print([m for m in {INFRASTRUCTURE!r} if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert len(modules) >= 8 and result.stdout.strip() == "[]"


def test_every_package_says_what_lives_there():
    for init in (ROOT / "server").rglob("__init__.py"):
        first = init.read_text().lstrip().splitlines()[0]
        assert first.startswith('"""') and len(first) > 10, init
