"""Child processes that die with the process that started them, however it dies (kill -9
included): no orphaned worker or Redis ever goes on calling a paid API for a run that is gone."""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import threading
import time
from typing import Any

PR_SET_PDEATHSIG = 1  # linux/prctl.h
WAIT_STEP_SECONDS = 0.1


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


def stop_children(children: list[subprocess.Popen], grace: float,
                  give_up: threading.Event | None = None) -> None:
    """SIGTERM each child (a worker then finishes the image it is making), wait at most `grace`
    seconds for all of them (less if `give_up` is set meanwhile), then SIGKILL whatever is left
    with its process group: no stop of ours waits on a child for ever, whatever a library does
    on its way out."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + grace
    for child in children:
        while child.poll() is None and time.monotonic() < deadline and not (
                give_up is not None and give_up.is_set()):
            try:
                child.wait(timeout=min(WAIT_STEP_SECONDS, max(0.0, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                pass
        if child.poll() is None:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            child.wait()
