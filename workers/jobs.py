"""RQ job functions: thin, they call into `server/`."""
from __future__ import annotations

from functools import lru_cache

from server.config import Settings
from server.services import Services


@lru_cache(maxsize=1)
def worker_services() -> Services:
    """This worker process's services, built once (jobs run in the worker process itself)."""
    return Services(Settings.from_env())


def generate_image(batch_id: str, row: int, index: int) -> str:
    return worker_services().image_maker.make(batch_id, row, index)
