"""`sheetbatch serve` says first, in plain words, where to open it, to a person at a terminal;
its JSON logs come after. Where nobody reads (a pipe, honcho, systemd) every line is JSON
(tests/deploy/test_procfile.py checks that)."""
from __future__ import annotations

import json
import os
import signal
import sys

import pytest

from testkit.chaos import Terminal
from testkit.processes import free_port

pytestmark = pytest.mark.processes


def test_the_first_line_on_a_terminal_says_where_to_open_it(backend_env):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    terminal = Terminal([sys.executable, "-m", "server", "serve", "--port", str(port)],
                        dict(backend_env, SHEETBATCH_PUBLIC_URL=url))
    try:
        terminal.wait_for_text('"logger": "sheetbatch.start"', timeout=60)
    finally:
        os.killpg(terminal.process.pid, signal.SIGTERM)
        terminal.finish(timeout=30)
    lines = terminal.text().splitlines()
    assert lines[0] == f"sheetbatch is serving: open {url}/ (Ctrl-C stops it)", lines[:3]
    json.loads(lines[1])  # then the logs, one JSON object a line
