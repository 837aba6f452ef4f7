"""RQ job functions: thin, they call into `server/`."""
from __future__ import annotations

from rq import get_current_job

from server.batches import Batches
from server.config import Settings
from server.generation import ImageMaker


def generate_image(batch_id: str, row: int, index: int) -> str:
    connection = get_current_job().connection
    return ImageMaker(Batches(connection), Settings.from_env()).make(batch_id, row, index)
