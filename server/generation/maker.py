"""Making one image of one row, safely: never paying twice, retrying only what is transient."""
from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import uuid
from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

from server.batches.store import LEASE_SECONDS, Batches
from server.config import Settings
from server.generation.concurrency import ConcurrencyLimit
from server.generation.providers import make_provider
from server.generation.providers.base import (
    PermanentProviderError,
    Provider,
    TransientProviderError,
)
from server.retry import retry_delay
from server.sheet.columns import MAX_SEED
from server.sheet.statuses import RowStatus
from server.storage import batch_storage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
MAX_WAIT_SECONDS = 60.0


def image_seed(seed: int | None, index: int) -> int | None:
    """Each image of a seeded row gets its own seed, so four images are not four copies."""
    return None if seed is None else (seed + index - 1) % (MAX_SEED + 1)


@lru_cache(maxsize=8)
def provider_for(name: str, settings: Settings) -> Provider:
    return make_provider(name, settings)


def limit_key(name: str, settings: Settings) -> str:
    """Calls are limited per provider key; the key itself never reaches Redis."""
    secret = {"ideogram": settings.ideogram_api_key, "openai": settings.openai_api_key}.get(name)
    return hashlib.sha256(f"{name}:{secret or ''}".encode()).hexdigest()[:16]


def worker_name(settings: Settings) -> str:
    """This worker process, named by its machine: its RQ name and each image's `worker`."""
    return f"{settings.node}.{os.getpid()}"


class BatchStopped(Exception):
    pass


class ImageMaker:
    def __init__(self, batches: Batches, settings: Settings):
        self.batches = batches
        self.settings = settings

    def make(self, batch_id: str, row: int, index: int) -> str:
        """Run one image job; returns what happened (for the job's result)."""
        fields = self.batches.fields(batch_id)
        storage, key = batch_storage(fields, self.settings)
        token = uuid.uuid4().hex
        outcome = self.batches.claim(batch_id, row, index, token)
        if outcome != "ok":
            return outcome
        with self._lease(batch_id, row, index, token):
            stored = storage.find(key, row, index)
            if stored is None:
                try:
                    stored = self._generate(fields, storage, key, row, index)
                except PermanentProviderError as error:
                    self.batches.settle(batch_id, row, index, token, RowStatus.FAILED,
                                        {"error": error.reason})
                    return RowStatus.FAILED
                except BatchStopped:
                    self.batches.settle(batch_id, row, index, token, RowStatus.STOPPED, {})
                    return RowStatus.STOPPED
            self.batches.settle(batch_id, row, index, token, RowStatus.DONE, {
                "name": stored.name, "seed": stored.seed, "prompt": stored.prompt,
                "preview": stored.preview, "worker": worker_name(self.settings)})
        return RowStatus.DONE

    def _generate(self, fields, storage, key, row, index):
        request = self.batches.request(fields["id"], row)
        provider = provider_for(fields["provider"], self.settings)
        seed = image_seed(request.seed_number, index)
        limit = ConcurrencyLimit(self.batches.redis, limit_key(fields["provider"], self.settings),
                                 self.settings.provider_concurrency, LEASE_SECONDS)
        for attempt in range(MAX_ATTEMPTS):
            if attempt and self.batches.control(fields["id"]) != "active":
                raise BatchStopped()  # stopped while waiting to retry: nothing paid, nothing lost
            try:
                with limit.slot():
                    image = provider.generate(request, seed)
                break
            except TransientProviderError as error:
                if attempt == MAX_ATTEMPTS - 1:
                    raise PermanentProviderError(
                        f"{error.reason} (gave up after {MAX_ATTEMPTS} tries)") from error
                time.sleep(retry_delay(attempt, error.retry_after, base=0.5, max_wait=30.0,
                                       max_asked=MAX_WAIT_SECONDS))
        return storage.save(key, row, index, request.prompt, image.data, seed=image.seed,
                            used_prompt=image.prompt, media_type=image.media_type,
                            preview=image.preview)

    @contextmanager
    def _lease(self, batch_id: str, row: int, index: int, token: str) -> Iterator[None]:
        """Keep the claim alive while this worker lives; a killed worker's lease runs out."""
        done = threading.Event()

        def renew() -> None:
            while not done.wait(LEASE_SECONDS / 3):
                self.batches.renew(batch_id, row, index, token)

        thread = threading.Thread(target=renew, daemon=True)
        thread.start()
        try:
            yield
        except Exception as error:
            log.exception("image %s row %s #%s failed unexpectedly", batch_id, row, index)
            self.batches.settle(batch_id, row, index, token, RowStatus.FAILED,
                                {"error": f"Something went wrong on our side: {error}"})
            raise
        finally:
            done.set()
