"""The statuses a person sees: of each image and row, and of a whole batch.

An image's state is spelled like a row status (a row is the sum of its images); the Lua scripts
in `server.batches.store` use the same spellings.
"""
from __future__ import annotations

from enum import StrEnum


class RowStatus(StrEnum):
    QUEUED = "queued"
    GENERATING = "generating"
    DONE = "done"
    FAILED = "failed"
    STOPPED = "stopped"


class BatchStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    COMPLETED = "completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors"
    FAILED = "failed"


SETTLED = frozenset({RowStatus.DONE, RowStatus.FAILED})  # image states that need nothing more
FINISHED = frozenset({BatchStatus.COMPLETED, BatchStatus.COMPLETED_WITH_ERRORS,
                      BatchStatus.FAILED, BatchStatus.STOPPED})
# Counts per batch (of rows, and of images); they always add up to total.
COUNT_NAMES = ("total", "done", "failed", "stopped", "pending")
