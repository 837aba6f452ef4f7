"""The shape of the house: the domain folders stay free of infrastructure, and nothing outside
the web side imports it."""
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
    for init in [init for folder in ("server", "testkit", "bench")
                 for init in (ROOT / folder).rglob("__init__.py")]:
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


def test_bench_and_testkit_import_no_test_module():
    """Benchmarks and tests share `testkit`; neither bench/ nor testkit/ reaches into tests/."""
    for path in [*(ROOT / "bench").rglob("*.py"), *(ROOT / "testkit").rglob("*.py")]:
        tests = {name for name in imported_modules(path) if name.split(".")[0] == "tests"}
        assert not tests, f"{path.relative_to(ROOT)} imports {sorted(tests)}"


def test_no_bench_script_touches_sys_path():
    """Benchmarks run as `python -m bench.NAME` from the checkout root: no path tricks."""
    for path in (ROOT / "bench").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                assert (node.value.id, node.attr) != ("sys", "path"), path.relative_to(ROOT)


def fixtures_defined(body) -> set[str]:
    def is_fixture(decorator) -> bool:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        return isinstance(target, ast.Attribute) and target.attr == "fixture"
    return {node.name for node in body if isinstance(node, ast.FunctionDef)
            and any(is_fixture(decorator) for decorator in node.decorator_list)}


def test_no_fixture_shadows_another():
    """A fixture is defined once where tests see it: a module adds to a shared one through its
    own `app_settings` / `backend_settings`, never by redefining it."""
    conftests = {path.parent: fixtures_defined(ast.parse(path.read_text()).body)
                 for path in (ROOT / "tests").rglob("conftest.py")}
    for path in (ROOT / "tests").rglob("*.py"):
        tree = ast.parse(path.read_text())
        above = [names for folder, names in conftests.items()
                 if folder in path.parents and not (path.name == "conftest.py"
                                                    and folder == path.parent)]
        inherited = set().union(*above)
        module = fixtures_defined(tree.body)
        classes = set().union(*(fixtures_defined(node.body) for node in tree.body
                                if isinstance(node, ast.ClassDef)))
        shadowed = (module & inherited) | (classes & (module | inherited))
        assert not shadowed, f"{path.relative_to(ROOT)} redefines {sorted(shadowed)}"


def test_the_sheet_rules_import_no_money():
    """What a sheet costs is money/'s one rule: sheet/ is never the one to price it."""
    for path in (ROOT / "server" / "sheet").rglob("*.py"):
        imported = imported_modules(path)
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
