"""`sheetbatch serve` says first, in plain words, where to open it; its JSON logs come after."""
from __future__ import annotations

import json

import pytest

from tests.conftest import serving

pytestmark = pytest.mark.processes


def test_the_first_line_says_where_to_open_it(backend_env, tmp_path):
    output = tmp_path / "serve.out"
    with output.open("wb") as sink, serving(backend_env, sink) as url:
        pass
    lines = output.read_text().splitlines()
    assert lines[0] == f"sheetbatch is serving: open {url}/ (Ctrl-C stops it)", lines[:3]
    json.loads(lines[1])  # then the logs, one JSON object a line
