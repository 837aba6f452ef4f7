"""Every setting `server.config` reads from the environment is in the README's table."""
from __future__ import annotations

import re

from server.config import Settings
from testkit import ROOT


class Recorded(dict):
    """An empty environment that notes every variable asked for."""

    def __init__(self):
        super().__init__()
        self.asked: set[str] = set()

    def get(self, name, default=None):
        self.asked.add(name)
        return default


def test_every_setting_is_documented():
    environ = Recorded()
    Settings.from_env(environ)
    read = environ.asked | {"XDG_DATA_HOME"}
    table = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))
    assert len(read) > 40 and read <= documented, sorted(read - documented)


def test_each_setting_is_one_row_of_the_table():
    rows = [line for line in (ROOT / "README.md").read_text().splitlines()
            if line.startswith("| `")]
    named = [name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`",
                                                           row.split("|")[1])]
    assert len(named) == len(set(named)), sorted({n for n in named if named.count(n) > 1})
