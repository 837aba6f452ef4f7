"""Child processes that die with the process that started them, however it dies (kill -9
included): no orphaned worker or Redis ever goes on calling a paid API for a run that is gone."""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from typing import Any

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with(parent: int):
    def arm() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the line above
            os.kill(os.getpid(), signal.SIGTERM)
    return arm


def start_child(command: list[str], **options: Any) -> subprocess.Popen:
    """Popen in its own session (the terminal's Ctrl-C goes to the parent, which stops the
    child in order), sent SIGTERM when the parent dies."""
    return subprocess.Popen(command, start_new_session=True, preexec_fn=_die_with(os.getpid()),
                            **options)
