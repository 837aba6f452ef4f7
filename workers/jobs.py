"""RQ job functions: thin, they call into `server/`."""
from __future__ import annotations

import logging
from functools import lru_cache

from server import logs
from server.config import Settings
from server.services import Services

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def worker_services() -> Services:
    """This worker process's services, built once (jobs run in the worker process itself)."""
    return Services(Settings.from_env())


def generate_image(batch_id: str, row: int, index: int) -> str:
    owner = worker_services().batches.get(batch_id).owner
    with logs.scope(batch_id=batch_id, user=owner):
        outcome = worker_services().image_maker.make(batch_id, row, index)
        log.info("image %s row %s #%s: %s", batch_id, row, index, outcome,
                 extra={"row": row, "index": index, "outcome": outcome})
        return outcome
