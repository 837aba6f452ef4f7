"""The batch store: every batch, its images and their leases, kept in Redis so every worker and
web process shares them. Statuses are derived from the image states on read (`status.py`).

Keys: a batch's own (its `Batch` record and its parts, `sb:b:<batch id>…`) are named by
`record.BatchKeys`; these sets and indexes by `server.batches.keys`:
  sb:active (set) batches with images still to make; sb:owner:<email> (zset) a person's batches
  sb:public:<email> (zset) the person's public images made, for their gallery: kept as images
                  are settled and batches deleted, so a gallery page costs the same whatever
                  the person's history
"""
from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any, Iterable

import redis

from server.batches import keys
from server.batches.queue import BatchQueue
from server.batches.record import Batch, BatchKeys, Control, SheetPlace, WriteBackState
from server.batches.status import BatchProgress, derive_status
from server.sheet.request import ImageRequest
from server.sheet.statuses import RowStatus

LEASE_SECONDS = 15
MAX_REAPS = 3
UNSAVED_SECONDS = 7 * 24 * 3600

# Claim an image for one worker.
# KEYS[1] batch hash, KEYS[2] :state hash, KEYS[3] the image's claim key, KEYS[4] sb:active
# ARGV[1] "row:index", ARGV[2] the worker's token, ARGV[3] lease seconds, ARGV[4] batch id
# Returns 'ok', or why not: 'stopped' (batch not active), the settled state, or 'busy'.
_CLAIM = """
if redis.call('HGET', KEYS[1], 'control') ~= 'active' then return 'stopped' end
local state = redis.call('HGET', KEYS[2], ARGV[1])
if state == 'done' or state == 'failed' or state == 'stopped' then return state end
if redis.call('SET', KEYS[3], ARGV[2], 'NX', 'EX', ARGV[3]) == false then return 'busy' end
redis.call('HSET', KEYS[2], ARGV[1], 'generating')
redis.call('SADD', KEYS[4], ARGV[4])
return 'ok'
"""

# Renew a lease while its holder lives.
# KEYS[1] the claim key; ARGV[1] the holder's token, ARGV[2] lease seconds. Returns 1 if renewed.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# Settle an image, only while holding its claim, so a worker whose lease was taken back cannot
# overwrite what the next worker recorded.
# KEYS[1] the claim key, KEYS[2] :state, KEYS[3] :img, KEYS[4] :dirty
# ARGV[1] token, ARGV[2] "row:index", ARGV[3] final state, ARGV[4] result JSON, ARGV[5] row
_SETTLE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])
redis.call('SADD', KEYS[4], ARGV[5])
redis.call('DEL', KEYS[1])
return 1
"""

# Stop a batch: queued images become stopped at once; images being made finish.
# KEYS[1] batch hash, KEYS[2] :state, KEYS[3] :dirty
_STOP = """
redis.call('HSET', KEYS[1], 'control', 'stopping')
local states = redis.call('HGETALL', KEYS[2])
for i = 1, #states, 2 do
  if states[i + 1] == 'queued' then
    redis.call('HSET', KEYS[2], states[i], 'stopped')
    local row = string.match(states[i], '^(%d+):')
    redis.call('SADD', KEYS[3], row)
  end
end
return 1
"""

# Take back an image whose worker died: its state says generating but nobody holds the lease.
# KEYS[1] :state, KEYS[2] the claim key, KEYS[3] :reaps, KEYS[4] batch hash
# ARGV[1] "row:index", ARGV[2] how many take-backs are allowed
# Returns 0 (alive or settled), 1 (queued again), 2 (stopped: batch not active), 3 (too many).
_REAP = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= 'generating' then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local reaps = redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
if redis.call('HGET', KEYS[4], 'control') ~= 'active' then
  redis.call('HSET', KEYS[1], ARGV[1], 'stopped')
  return 2
end
if reaps > tonumber(ARGV[2]) then return 3 end
redis.call('HSET', KEYS[1], ARGV[1], 'queued')
return 1
"""


def image_key(row: int, index: int) -> str:
    return f"{row}:{index}"


def _split(key: str) -> tuple[int, int]:
    row, index = key.split(":")
    return int(row), int(index)


class BatchNotFound(KeyError):
    pass


BATCH_ID = re.compile(r"[0-9a-f]{16}")  # what new_batch_id makes


def public_member(batch_id: str, name: str) -> str:
    return f"{batch_id}/{name}"


def _shown_publicly(state: str | None, result: dict[str, Any] | None,
                    request: ImageRequest) -> bool:
    """A made image of a public row: it belongs in the owner's public gallery."""
    return (state == RowStatus.DONE and bool((result or {}).get("name"))
            and request.visibility == "public")


def new_batch_id() -> str:
    return secrets.token_hex(8)


class Batches:
    """The batch store: every operation on batches goes through here."""

    def __init__(self, connection: redis.Redis, outage_deadline: float = 1800):
        self.redis = connection
        self.queue = BatchQueue(connection, outage_deadline)
        self._claim = connection.register_script(_CLAIM)
        self._renew = connection.register_script(_RENEW)
        self._settle = connection.register_script(_SETTLE)
        self._stop = connection.register_script(_STOP)
        self._reap = connection.register_script(_REAP)

    # -- creating and reading --------------------------------------------------------------

    def create(self, requests: dict[int, ImageRequest], *, owner: str, provider: str,
               account: str, title: str = "", storage_root: str = "",
               storage_key: str | None = None, sheet: SheetPlace | None = None,
               public_url: str = "", reused_cost: float = 0.0, batch_id: str | None = None,
               settled: dict[tuple[int, int], tuple[str, dict]] | None = None) -> str:
        """A batch of every image of these rows, paid by `account` (an id of the provider key,
        never the key), from `sheet` (or a file when None). Images in `settled` start in their
        given state and result (e.g. made by an earlier run); the rest are queued."""
        batch_id = batch_id or new_batch_id()
        parts = BatchKeys(batch_id)
        settled = settled or {}
        states = {(row, index): settled.get((row, index), (RowStatus.QUEUED, None))[0]
                  for row, request in requests.items()
                  for index in range(1, request.num_images + 1)}
        results = {image_key(*image): json.dumps(result) for image, (_, result) in settled.items()
                   if image in states}
        created = time.time()
        batch = Batch(batch_id, owner, provider, account, title, created,
                      storage_root=storage_root, storage_key=storage_key or batch_id, sheet=sheet,
                      public_url=public_url, reused_cost=reused_cost)
        public = {public_member(batch_id, result["name"]): -created
                  for (row, index), (state, result) in settled.items()
                  if (row, index) in states and _shown_publicly(state, result, requests[row])}
        with self.redis.pipeline() as pipe:
            pipe.hset(parts.record, mapping=batch.to_hash())
            pipe.hset(parts.part("req"), mapping={
                str(row): request.to_json() for row, request in requests.items()})
            pipe.hset(parts.part("state"),
                      mapping={image_key(*image): state for image, state in states.items()})
            if results:
                pipe.hset(parts.part("img"), mapping=results)
            if public:
                pipe.zadd(keys.public_images(owner), public)
            pipe.zadd(keys.owner_batches(owner), {batch_id: created})
            pipe.sadd(keys.ACTIVE_BATCHES, batch_id)
            pipe.execute()
        self.queue.enqueue(account, batch_id,
                           [image for image, state in states.items() if state == RowStatus.QUEUED])
        return batch_id

    def get(self, batch_id: str) -> Batch:
        raw = self.redis.hgetall(BatchKeys(batch_id).record)
        if not raw:
            raise BatchNotFound(batch_id)
        return Batch.from_hash(raw)

    def known(self, batch_id: str) -> bool:
        return bool(self.redis.exists(BatchKeys(batch_id).record))

    def note_writeback(self, batch_id: str, state: WriteBackState, message: str = "") -> None:
        """How writing the batch's status into its sheet is doing, for every surface to show."""
        self.redis.hset(BatchKeys(batch_id).record,
                        mapping={"writeback": state.value, "writeback_message": message})

    def owned_by(self, batch_id: str, owner: str) -> Batch:
        """The batch if `owner` created it; otherwise it does not exist for them. An id of
        another shape is not even looked up (it could name another kind of key)."""
        if not BATCH_ID.fullmatch(batch_id):
            raise BatchNotFound(batch_id)
        batch = self.get(batch_id)
        if not secrets.compare_digest(batch.owner.encode(), owner.encode()):
            raise BatchNotFound(batch_id)
        return batch

    def list_for(self, owner: str, limit: int = 50) -> list[str]:
        return [b.decode() for b in self.redis.zrevrange(keys.owner_batches(owner), 0, limit - 1)]

    def created_before(self, cutoff: float) -> list[str]:
        """Every person's batches created before `cutoff` (a Unix time)."""
        found = []
        for owner_key in self.redis.scan_iter(match=keys.owner_batches("*"), count=500):
            found += [b.decode() for b in self.redis.zrangebyscore(owner_key, "-inf", cutoff)]
        return found

    def request(self, batch_id: str, row: int) -> ImageRequest:
        raw = self.redis.hget(BatchKeys(batch_id).part("req"), str(row))
        return ImageRequest.from_json(raw)

    def requests(self, batch_id: str) -> dict[int, ImageRequest]:
        """Every row's request, in one round trip."""
        raw = self.redis.hgetall(BatchKeys(batch_id).part("req"))
        return {int(row): ImageRequest.from_json(value) for row, value in raw.items()}

    def states(self, batch_id: str) -> dict[tuple[int, int], str]:
        raw = self.redis.hgetall(BatchKeys(batch_id).part("state"))
        return {_split(k.decode()): v.decode() for k, v in raw.items()}

    def billed(self, batch_id: str) -> list[tuple[int, int]]:
        """The images the provider account paid for: every one made, and those it made but did
        not hand over (withheld by its safety check, which bills all the same)."""
        parts = BatchKeys(batch_id)
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(parts.part("state"))
            pipe.hgetall(parts.part("img"))
            states, results = pipe.execute()
        return [_split(key.decode()) for key, state in states.items()
                if state.decode() == RowStatus.DONE or (
                    state.decode() == RowStatus.FAILED
                    and json.loads(results.get(key, b"{}")).get("billed"))]

    def status(self, batch_id: str) -> BatchProgress:
        """Counts and per-row results; one round trip, cheap enough to poll every second."""
        parts = BatchKeys(batch_id)
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(parts.record)
            pipe.hgetall(parts.part("state"))
            pipe.hgetall(parts.part("img"))
            record, states, results = pipe.execute()
        if not record:
            raise BatchNotFound(batch_id)
        states = {_split(k.decode()): v.decode() for k, v in states.items()}
        results = {_split(k.decode()): json.loads(v) for k, v in results.items()}
        return derive_status(Batch.from_hash(record), states, results)

    # -- the worker's side -------------------------------------------------------------------

    def claim(self, batch_id: str, row: int, index: int, token: str) -> str:
        """'ok' when this worker now owns the image; else why not (done, busy, stopped…)."""
        parts = BatchKeys(batch_id)
        result = self._claim(keys=[parts.record, parts.part("state"),
                                   parts.claim(row, index), keys.ACTIVE_BATCHES],
                             args=[image_key(row, index), token, LEASE_SECONDS, batch_id])
        return result.decode() if isinstance(result, bytes) else str(result)

    def renew(self, batch_id: str, row: int, index: int, token: str) -> bool:
        return bool(self._renew(keys=[BatchKeys(batch_id).claim(row, index)],
                                args=[token, LEASE_SECONDS]))

    def settle(self, batch_id: str, row: int, index: int, token: str, state: str,
               result: dict[str, Any]) -> bool:
        parts = BatchKeys(batch_id)
        settled = bool(self._settle(
            keys=[parts.claim(row, index), parts.part("state"),
                  parts.part("img"), parts.part("dirty")],
            args=[token, image_key(row, index), state, json.dumps(result), row]))
        if settled and state == RowStatus.DONE:
            self._index_public(batch_id, row, result)
        return settled

    # -- the public index ------------------------------------------------------------------

    def _index_public(self, batch_id: str, row: int, result: dict[str, Any]) -> None:
        parts = BatchKeys(batch_id)
        owner, created = self.redis.hmget(parts.record, "owner", "created")
        raw = self.redis.hget(parts.part("req"), str(row))
        if owner and raw and _shown_publicly(RowStatus.DONE, result, ImageRequest.from_json(raw)):
            self.redis.zadd(keys.public_images(owner.decode()),
                            {public_member(batch_id, result["name"]): -float(created or 0)})

    def public_count(self, owner: str) -> int:
        self._index_earlier_batches(owner)
        return self.redis.zcard(keys.public_images(owner))

    def public_images(self, owner: str, start: int, count: int
                      ) -> list[tuple[str, str, ImageRequest]]:
        """`count` (at least 1) of the person's public images from `start`, newest batch first:
        (batch id, file name, the row's request). A constant cost: one index read, one
        request read a picture, whatever the person's history."""
        self._index_earlier_batches(owner)
        members = [m.decode().split("/", 1) for m in self.redis.zrange(
            keys.public_images(owner), start, start + max(1, count) - 1)]
        with self.redis.pipeline() as pipe:
            for batch_id, name in members:
                pipe.hget(BatchKeys(batch_id).part("req"), str(int(name[:4])))
            raws = pipe.execute()
        return [(batch_id, name, ImageRequest.from_json(raw))
                       for (batch_id, name), raw in zip(members, raws) if raw]

    def _index_earlier_batches(self, owner: str) -> None:
        """Once per person: batches made before the index existed join it (their newest 500)."""
        if not self.redis.set(keys.public_indexed(owner), 1, nx=True):
            return
        for batch_id in self.list_for(owner, limit=500):
            parts = BatchKeys(batch_id)
            created = self.redis.hget(parts.record, "created")
            requests = self.requests(batch_id)
            results = self.redis.hgetall(parts.part("img"))
            states = self.states(batch_id)
            public = {}
            for key, raw in results.items():
                row, index = _split(key.decode())
                result = json.loads(raw)
                if row in requests and _shown_publicly(states.get((row, index)), result,
                                                       requests[row]):
                    public[public_member(batch_id, result["name"])] = -float(created or 0)
            if public:
                self.redis.zadd(keys.public_images(owner), public)

    def wanted(self, batch_id: str) -> bool:
        """Whether the batch's images are still to be made (one field read: checked before
        every paid call). A deleted batch is not."""
        value = self.redis.hget(BatchKeys(batch_id).record, "control")
        return value is not None and value.decode() == Control.ACTIVE

    # -- lifecycle ------------------------------------------------------------------------------

    def stop(self, batch_id: str) -> None:
        """Queued images stop at once; images being made finish and are kept."""
        parts = BatchKeys(batch_id)
        self.get(batch_id)
        self._stop(keys=[parts.record, parts.part("state"),
                         parts.part("dirty")])
        self.queue.cancel(batch_id)

    def pause(self, batch_id: str, reason: str) -> None:
        """Stop the batch because it cannot go on (e.g. its images cannot be stored); the
        reason is shown until it is resumed."""
        self.redis.hset(BatchKeys(batch_id).record, "paused", reason)
        self.stop(batch_id)

    def resume(self, batch_id: str, account: str | None = None) -> int:
        """Queue again every image that is neither made nor failed; returns how many. With
        `account`, the batch pays with that account from now on (e.g. after a key rotation)."""
        return self._requeue(batch_id, (RowStatus.QUEUED, RowStatus.STOPPED), account)

    def retry_failed(self, batch_id: str, account: str | None = None) -> int:
        return self._requeue(batch_id, (RowStatus.FAILED,), account)

    def _requeue(self, batch_id: str, from_states: tuple[str, ...], account: str | None) -> int:
        parts = BatchKeys(batch_id)
        account = account or self.get(batch_id).account
        states = self.states(batch_id)
        again = {image_key(*key): RowStatus.QUEUED
                 for key, state in states.items() if state in from_states}
        with self.redis.pipeline() as pipe:
            pipe.hset(parts.record,
                      mapping={"control": Control.ACTIVE.value, "account": account})
            pipe.hdel(parts.record, "paused")
            if again:
                pipe.hset(parts.part("state"), mapping=again)
                pipe.hdel(parts.part("img"), *again)
                pipe.hdel(parts.part("reaps"), *again)
                pipe.sadd(parts.part("dirty"), *{key.split(":")[0] for key in again})
            pipe.sadd(keys.ACTIVE_BATCHES, batch_id)
            pipe.execute()
        self.queue.enqueue(account, batch_id, [_split(key) for key in again])
        return len(again)

    def delete(self, batch_id: str) -> None:
        """Forget the batch: its hash and parts, and its place in every set (images are the
        caller's to delete first)."""
        parts = BatchKeys(batch_id)
        owner = self.get(batch_id).owner
        names = [json.loads(raw).get("name") for raw in
                 self.redis.hvals(parts.part("img"))]
        with self.redis.pipeline() as pipe:
            shown = [public_member(batch_id, name) for name in names if name]
            if shown:
                pipe.zrem(keys.public_images(owner), *shown)
            pipe.delete(*parts.every_key())
            pipe.zrem(keys.owner_batches(owner), batch_id)
            for members in (keys.ACTIVE_BATCHES, keys.BUDGETED_BATCHES, keys.SHEET_BATCHES):
                pipe.srem(members, batch_id)
            pipe.execute()

    def take_dirty_rows(self, batch_id: str) -> set[int]:
        """Rows changed since the last call (for write-back), emptied atomically."""
        parts = BatchKeys(batch_id)
        with self.redis.pipeline() as pipe:
            pipe.smembers(parts.part("dirty"))
            pipe.delete(parts.part("dirty"))
            rows, _ = pipe.execute()
        return {int(row) for row in rows}

    def has_rows_to_write(self, batch_id: str) -> bool:
        return bool(self.redis.exists(BatchKeys(batch_id).part("dirty")))

    def mark_dirty(self, batch_id: str, rows: Iterable[int]) -> None:
        rows = list(rows)
        if rows:
            self.redis.sadd(BatchKeys(batch_id).part("dirty"), *rows)

    def reap(self) -> int:
        """Take back images whose worker died (lease gone); returns how many were queued again."""
        requeued = 0
        for raw_id in self.redis.smembers(keys.ACTIVE_BATCHES):
            batch_id = raw_id.decode()
            account = self.get(batch_id).account
            states = self.states(batch_id)
            if not any(state in (RowStatus.QUEUED, RowStatus.GENERATING)
                       for state in states.values()):
                self.redis.srem(keys.ACTIVE_BATCHES, batch_id)
                self.queue.retire(account, batch_id)
                continue
            again = [(row, index) for (row, index), state in states.items()
                     if state == RowStatus.GENERATING and self._reap_one(batch_id, row, index) == 1]
            self.queue.enqueue(account, batch_id, again)
            requeued += len(again)
        return requeued

    def _reap_one(self, batch_id: str, row: int, index: int) -> int:
        parts = BatchKeys(batch_id)
        outcome = self._reap(keys=[parts.part("state"), parts.claim(row, index),
                                   parts.part("reaps"), parts.record],
                             args=[image_key(row, index), MAX_REAPS])
        if outcome == 3:
            self._force_fail(batch_id, row, index,
                             "A worker stopped unexpectedly every time it made this image.")
        if outcome in (2, 3):
            self.mark_dirty(batch_id, [row])
        return outcome

    def _force_fail(self, batch_id: str, row: int, index: int, reason: str) -> None:
        parts = BatchKeys(batch_id)
        with self.redis.pipeline() as pipe:
            pipe.hset(parts.part("state"), image_key(row, index), RowStatus.FAILED)
            pipe.hset(parts.part("img"), image_key(row, index),
                      json.dumps({"error": reason, "retryable": True}))
            pipe.execute()

    # -- images paid for but not stored --------------------------------------------------------

    def keep_unsaved(self, place: str, row: int, index: int, image: dict[str, Any]) -> None:
        """Keep a paid image that storage refused, so the next attempt stores it for free."""
        key = keys.unsaved(place, row, index)
        with self.redis.pipeline() as pipe:
            pipe.hset(key, mapping={name: value if name == "data" else json.dumps(value)
                                    for name, value in image.items()})
            pipe.expire(key, UNSAVED_SECONDS)
            pipe.execute()

    def unsaved(self, place: str, row: int, index: int) -> dict[str, Any] | None:
        raw = self.redis.hgetall(keys.unsaved(place, row, index))
        if not raw:
            return None
        return {name.decode(): value if name == b"data" else json.loads(value)
                for name, value in raw.items()}

    def count_unsaved(self, place: str) -> int:
        """How many paid images wait here to be stored in that folder."""
        return sum(1 for _ in self.redis.scan_iter(match=keys.unsaved_pattern(place)))

    def drop_unsaved(self, place: str, row: int, index: int) -> None:
        self.redis.delete(keys.unsaved(place, row, index))
