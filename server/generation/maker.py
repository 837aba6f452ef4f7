"""Making one image of one row, safely: never paying twice, never paying for an image that
cannot be kept, and waiting through provider outages instead of failing rows.

Before a paid call the worker holds the image's claim in Redis, finds no stored image of the
same fingerprint, and has checked that storage can take the result. Transient errors are
retried (an outage opens the account's circuit breaker) until the outage deadline; a failed
download is retried as a download, never as a new generation.
"""
from __future__ import annotations

import hashlib
import itertools
import logging
import os
import threading
import time
import uuid
from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

import redis

from server.batches.record import Batch
from server.batches.store import LEASE_SECONDS, Batches
from server.config import Settings
from server.generation.breaker import CircuitBreaker
from server.generation.concurrency import ConcurrencyLimit
from server.generation.providers import accounts_held, make_provider
from server.generation.providers._http import redact
from server.generation.providers.base import (
    AccountProviderError,
    GeneratedImage,
    ImageNotFetched,
    InflightLimited,
    PermanentProviderError,
    Provider,
    TransientProviderError,
)
from server.providers import api_keys
from server.retry import retry_delay
from server.sheet.columns import MAX_SEED
from server.sheet.request import ImageRequest
from server.sheet.statuses import RowStatus
from server.storage import StorageUnavailable, batch_storage

log = logging.getLogger(__name__)

MAX_WAIT_SECONDS = 60.0
STOP_CHECK_SECONDS = 0.5
PAUSED_UNPAID = ("The batch is paused and nothing more is paid: resume it (a command-line run: "
                 "run the same command again) once the account allows more images.")


def image_seed(seed: int | None, index: int) -> int | None:
    """Each image of a seeded row gets its own seed, so four images are not four copies."""
    return None if seed is None else (seed + index - 1) % (MAX_SEED + 1)


@lru_cache(maxsize=8)
def provider_for(name: str, settings: Settings) -> Provider:
    return make_provider(name, settings)


def what_failed(error: Exception) -> str:
    """An unexpected error in words fit for the person's sheet: an OSError's reason without the
    file name (our folders are none of their business), else the kind of error."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return type(error).__name__



def worker_name(settings: Settings) -> str:
    """This worker process, named by its machine: its RQ name and each image's `worker`."""
    return f"{settings.node}.{os.getpid()}"


class BatchStopped(Exception):
    pass


class OutageOutlasted(PermanentProviderError):
    """Transient errors went on past the outage deadline: the row fails, worth a retry later."""


class ImageMaker:
    def __init__(self, batches: Batches, settings: Settings):
        self.batches = batches
        self.settings = settings
        self.accounts = accounts_held(settings)
        self.keys = api_keys(settings)

    def scrubbed(self, text: str) -> str:
        """Whatever a provider said, as we may store and show it: no API key in it, whatever
        its case (an answer, an error or a host name could carry one)."""
        return redact(text, *self.keys)

    def make(self, batch_id: str, row: int, index: int) -> str:
        """Run one image job; returns what happened (for the job's result)."""
        batch = self.batches.get(batch_id)
        if batch.account not in self.accounts:
            return "not this worker's account"  # the batch's own queue holds the real job
        token = uuid.uuid4().hex
        outcome = self.batches.claim(batch_id, row, index, token)
        if outcome != "ok":
            return outcome
        with self._lease(batch_id, row, index, token):
            state, result = self._make(batch, row, index)
            self.batches.settle(batch_id, row, index, token, state, result)
        return state

    def _make(self, batch: Batch, row: int, index: int) -> tuple[str, dict]:
        """The image's final state and its result record."""
        batch_id = batch.id
        storage, key = batch_storage(batch, self.settings)
        request = self.batches.request(batch_id, row)
        fingerprint = request.fingerprint(index, batch.provider)
        stored = storage.find(key, row, index)
        if stored is not None and stored.fingerprint == fingerprint:
            return RowStatus.DONE, stored.result()
        place = storage_place(batch)
        try:
            image = self._paid_image(batch, storage, key, request, fingerprint, row, index)
        except AccountProviderError as error:
            # No row is at fault and no call can pay: the image waits with the rest of the batch.
            self.batches.pause(batch_id, f"{self.scrubbed(error.reason)} {PAUSED_UNPAID}")
            return RowStatus.STOPPED, {}
        except PermanentProviderError as error:
            return RowStatus.FAILED, {"error": self.scrubbed(error.reason),
                                      "retryable": isinstance(error, OutageOutlasted),
                                      **({"billed": True} if error.billed else {})}
        except (BatchStopped, StorageUnavailable) as error:
            if isinstance(error, StorageUnavailable):
                self.batches.pause(batch_id, str(error))
            return RowStatus.STOPPED, {}
        try:
            stored = storage.save(key, row, index, request.prompt, image.data, seed=image.seed,
                                  used_prompt=self.scrubbed(image.prompt),
                                  media_type=image.media_type,
                                  preview=image.preview, fingerprint=fingerprint,
                                  dimensions=image.size)
        except OSError as error:
            # Paid for: keep it in Redis so the resumed batch stores it without paying again.
            self.batches.keep_unsaved(place, row, index, _unsaved(image, fingerprint))
            self.batches.pause(batch_id, str(StorageUnavailable.explain(error)))
            return RowStatus.STOPPED, {}
        with _tolerating_redis():  # the image is stored; a leftover copy only expires
            self.batches.drop_unsaved(place, row, index)
        return RowStatus.DONE, stored.result() | {"worker": worker_name(self.settings)}

    def _paid_image(self, batch: Batch, storage, key, request: ImageRequest, fingerprint: str,
                    row: int, index: int) -> GeneratedImage:
        """An image already paid for but not stored, or a new one: storage is checked first."""
        unsaved = self.batches.unsaved(storage_place(batch), row, index)
        if unsaved is not None and unsaved.pop("fingerprint") == fingerprint:
            return GeneratedImage(**unsaved)
        storage.check_room(key, self.settings.min_free_bytes)
        provider = provider_for(batch.provider, self.settings)
        try:
            return self._generate(batch, provider, request, image_seed(request.seed_number, index))
        except ImageNotFetched as pending:
            return self._fetch(provider, pending.image)

    def _generate(self, batch: Batch, provider: Provider, request: ImageRequest,
                  seed: int | None) -> GeneratedImage:
        """One paid generation, retried through transient errors until the outage deadline."""
        breaker = CircuitBreaker(self.batches.redis, batch.account,
                                 self.settings.provider_timeout)
        limit = ConcurrencyLimit(self.batches.redis, batch.account,
                                 self.settings.provider_concurrency, LEASE_SECONDS)
        first_failure, last_error = None, None
        for attempt in itertools.count():
            while (wait := breaker.wait_seconds()) > 0:
                if last_error is not None:  # the deadline counts while the breaker waits too
                    self._give_up_after_deadline(last_error, first_failure)
                self._sleep_unless_stopped(batch.id, min(wait, STOP_CHECK_SECONDS * 2))
            try:
                with limit.slot():
                    self._check_wanted(batch.id)  # a stop while we waited for the slot
                    try:
                        image = provider.generate(request, seed)
                    except InflightLimited as error:
                        limit.narrow(error.limit)  # while this call still counts as held
                        raise
            except ImageNotFetched:
                breaker.succeeded()  # the API answered; only the download failed
                raise
            except InflightLimited as error:  # not an outage: the breaker stays as it is
                first_failure, last_error = first_failure or time.monotonic(), error
                self._give_up_after_deadline(error, first_failure)
                self._sleep_unless_stopped(batch.id, retry_delay(
                    attempt, None, base=0.5, max_wait=30.0, max_asked=MAX_WAIT_SECONDS))
                continue
            except TransientProviderError as error:
                breaker.failed(self.scrubbed(error.reason))
                first_failure, last_error = first_failure or time.monotonic(), error
                self._give_up_after_deadline(error, first_failure)
                self._sleep_unless_stopped(batch.id, retry_delay(
                    attempt, error.retry_after, base=0.5, max_wait=30.0,
                    max_asked=MAX_WAIT_SECONDS))
                continue
            breaker.succeeded()
            return image

    def _fetch(self, provider: Provider, image: GeneratedImage) -> GeneratedImage:
        """Download an image that is already paid for, retrying until the outage deadline (a
        stop does not interrupt it: the image is already bought)."""
        first_failure = time.monotonic()
        for attempt in itertools.count():
            try:
                return provider.fetch(image)
            except ImageNotFetched as error:
                self._give_up_after_deadline(error, first_failure)
                time.sleep(retry_delay(attempt, None, base=0.5, max_wait=30.0,
                                       max_asked=MAX_WAIT_SECONDS))

    def _give_up_after_deadline(self, error: TransientProviderError, since: float) -> None:
        waited = time.monotonic() - since
        if waited >= self.settings.outage_deadline:
            raise OutageOutlasted(
                f"{error.reason} (still failing after {_duration(waited)}; gave up)") from error

    def _sleep_unless_stopped(self, batch_id: str, seconds: float) -> None:
        """Wait, checking that the batch is still wanted: nothing is paid after a stop."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self._check_wanted(batch_id)
            time.sleep(min(STOP_CHECK_SECONDS, left))
        self._check_wanted(batch_id)

    def _check_wanted(self, batch_id: str) -> None:
        """Raise BatchStopped once the batch was stopped or paused: checked right before every
        paid call, so a stop pays for nothing that had not started."""
        if not self.batches.wanted(batch_id):
            raise BatchStopped()

    @contextmanager
    def _lease(self, batch_id: str, row: int, index: int, token: str) -> Iterator[None]:
        """Keep the claim alive while this worker lives; a killed worker's lease runs out."""
        done = threading.Event()

        def renew() -> None:
            while not done.wait(LEASE_SECONDS / 3):
                try:
                    self.batches.renew(batch_id, row, index, token)
                except redis.RedisError:
                    pass  # Redis is gone for now; the job itself notices when it settles

        thread = threading.Thread(target=renew, daemon=True)
        thread.start()
        try:
            yield
        except redis.RedisError:
            raise  # nothing can be recorded now; the image, if made, is in storage
        except Exception as error:
            log.exception("image %s row %s #%s failed unexpectedly", batch_id, row, index)
            self.batches.settle(batch_id, row, index, token, RowStatus.FAILED,
                                {"error": self.scrubbed(f"Something went wrong on our side "
                                                        f"({what_failed(error)})."),
                                 "retryable": True})
            raise
        finally:
            done.set()


def _unsaved(image: GeneratedImage, fingerprint: str) -> dict:
    return {"data": image.data, "media_type": image.media_type, "seed": image.seed,
            "prompt": image.prompt, "preview": image.preview, "size": image.size,
            "fingerprint": fingerprint}


def storage_place(batch: Batch) -> str:
    """Names the storage folder a batch's images go to (a rerun into it shares it)."""
    where = f"{batch.storage_root}|{batch.storage_key}"
    return hashlib.sha256(where.encode()).hexdigest()[:16]


@contextmanager
def _tolerating_redis() -> Iterator[None]:
    try:
        yield
    except redis.RedisError:
        pass


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} minutes" if seconds >= 120 else f"{seconds:.0f} seconds"
