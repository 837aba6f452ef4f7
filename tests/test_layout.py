"""The shape of the house: the domain folders stay free of infrastructure, and nothing outside
the web side imports it."""
from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys

import pytest

import server.money
import server.sheet
from tests.conftest import ROOT

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


def imported_modules(path) -> set[str]:
    """Every module `path` imports, at its top or inside a function, relative imports resolved
    (`from server.web import x` names `server.web.x` as well as `server.web`)."""
    found = set()
    here = path.relative_to(ROOT).with_suffix("").parts  # ends with the module, or "__init__"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = absolute(here, node)
            found |= {module} | {f"{module}.{alias.name}" for alias in node.names}
    return found


def absolute(here: tuple[str, ...], node: ast.ImportFrom) -> str:
    """The module a `from … import` in the module at `here` names (`from ..web import app`)."""
    if not node.level:
        return node.module
    package = here[:len(here) - node.level]
    return ".".join([*package, node.module] if node.module else package)


def test_nothing_outside_the_web_side_imports_it():
    web = ROOT / "server" / "web"
    found = {(str(path.relative_to(ROOT)), name)
             for path in (ROOT / "server").rglob("*.py") if web not in path.parents
             for name in imported_modules(path)
             if name == "server.web" or name.startswith("server.web.")}
    assert found == set()
