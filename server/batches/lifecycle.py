"""Deleting batches: by their owner, or by the operator's retention setting. A batch goes with
its images, thumbnails and records; what it made is charged to the budget first."""
from __future__ import annotations

import time

from server.batches.launcher import Launcher
from server.batches.store import Batches
from server.config import Settings
from server.sheet.statuses import RowStatus
from server.storage import batch_storage

DAY_SECONDS = 86400


class BatchBusy(Exception):
    """Images are being made right now; they finish first."""


def delete_batch(batches: Batches, launcher: Launcher, settings: Settings, batch_id: str) -> None:
    """Stop, settle and delete one batch; `BatchBusy` while images are being made (a worker
    would store its image after the folder is gone)."""
    batch = batches.get(batch_id)
    job_ids = batches.queue.job_ids(batch_id)
    batches.stop(batch_id)
    if RowStatus.GENERATING in batches.states(batch_id).values():
        raise BatchBusy("Images are being made right now; the batch is stopping. "
                        "Delete it again in a moment.")
    batches.queue.delete_jobs(job_ids)
    launcher.settle(batch_id)
    # `sheetbatch run` keeps images in the person's own --out folder: never ours to delete.
    if not batch.in_own_folder:
        storage, key = batch_storage(batch, settings)
        storage.delete_batch(key)
    batches.delete(batch_id)


def delete_expired(batches: Batches, launcher: Launcher, settings: Settings,
                   now: float | None = None) -> list[str]:
    """Delete every batch older than the retention setting (none when it is 0); a batch with
    images in the making is left for the next pass."""
    if settings.retention_days <= 0:
        return []
    cutoff = (now or time.time()) - settings.retention_days * DAY_SECONDS
    deleted = []
    for batch_id in batches.created_before(cutoff):
        try:
            delete_batch(batches, launcher, settings, batch_id)
        except BatchBusy:
            continue
        deleted.append(batch_id)
    return deleted
