"""The shape of the house: the domain folders stay free of infrastructure."""
from __future__ import annotations

import ast
import pkgutil
import re
import subprocess
import sys

import pytest

import server.money
import server.sheet
from server.providers import PROVIDERS
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


def _imported_modules(tree: ast.AST) -> set[str]:
    """Every module a file imports, wherever the import is (under `if TYPE_CHECKING` too)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_sheet_rules_import_no_money():
    """What a sheet costs is money/'s one rule: sheet/ is never the one to price it."""
    for path in (ROOT / "server" / "sheet").rglob("*.py"):
        imported = _imported_modules(ast.parse(path.read_text()))
        assert not {name for name in imported if name.startswith("server.money")}, path


# The result column "preview" shares the free provider's name: these modules compare columns.
PREVIEW_COLUMN_MODULES = ("server/sheet/results.py", "server/gsheets/anchors.py")


def test_provider_particulars_are_the_tables_alone():
    """No module but the provider table compares with a provider's name or spells its key
    variable: callers ask the table (`is_free`, `provider_named`, `available_providers`)."""
    table = ROOT / "server" / "providers.py"
    names = set(PROVIDERS)
    variables = {p.key_variable for p in PROVIDERS.values() if p.key_variable}
    for path in (ROOT / "server").rglob("*.py"):
        if path == table:
            continue
        where = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant):
                assert node.value not in variables, f"{where}:{node.lineno}"
            if isinstance(node, ast.Compare) and where not in PREVIEW_COLUMN_MODULES:
                compared = {c.value for c in (node.left, *node.comparators)
                            if isinstance(c, ast.Constant)}
                assert not compared & names, f"{where}:{node.lineno} {ast.unparse(node)}"
    for template in (ROOT / "server" / "web" / "templates").glob("*.html"):
        text = template.read_text()
        assert not re.search(r"""==\s*["'](%s)["']""" % "|".join(names), text), template
