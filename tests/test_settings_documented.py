"""Every setting `server.config` reads from the environment is in the README's table."""
from __future__ import annotations

import re

from testkit import ROOT


def test_every_setting_is_documented():
    config = (ROOT / "server" / "config.py").read_text()
    read = set(re.findall(r'\benv(?:_list)?\("([A-Z0-9_]+)"', config)) | {"XDG_DATA_HOME"}
    table = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))
    assert read and read <= documented, sorted(read - documented)
