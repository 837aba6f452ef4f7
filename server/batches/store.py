"""The batch store: every batch, its images and their leases, kept in Redis so every worker and
web process shares them. Statuses are derived from the image states on read (`status.py`).

Keys (built in `server.batches.keys`; all under `sb:b:<batch id>`):
  (hash)          the batch's fields: owner, control (active/stopping/stopped), provider, …
  :req (hash)     row → the row's ImageRequest as JSON
  :state (hash)   "row:index" → a RowStatus (queued | generating | done | failed | stopped)
  :img (hash)     "row:index" → JSON result of a settled image (name, seed, prompt, error)
  :reaps (hash)   "row:index" → how often a dead worker's image was taken back
  :dirty (set)    rows changed since the last write-back
  :jobs (set)     RQ job ids that may still be queued (cancelled on stop)
  sb:claim:<batch>:<row>:<index>   the lease of the worker making that image
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
               storage_key: str | None = None, extra: dict[str, str] | None = None,
               batch_id: str | None = None,
               settled: dict[tuple[int, int], tuple[str, dict]] | None = None) -> str:
        """A batch of every image of these rows, paid by `account` (an id of the provider key,
        never the key). Images in `settled` start in their given state and result (e.g. made
        by an earlier run); the rest are queued."""
        batch_id = batch_id or new_batch_id()
        settled = settled or {}
        states = {(row, index): settled.get((row, index), (RowStatus.QUEUED, None))[0]
                  for row, request in requests.items()
                  for index in range(1, request.num_images + 1)}
        results = {image_key(*image): json.dumps(result) for image, (_, result) in settled.items()
                   if image in states}
        created = time.time()
        public = {public_member(batch_id, result["name"]): -created
                  for (row, index), (state, result) in settled.items()
                  if (row, index) in states and _shown_publicly(state, result, requests[row])}
        with self.redis.pipeline() as pipe:
            pipe.hset(keys.batch(batch_id), mapping={
                "id": batch_id, "owner": owner, "provider": provider, "account": account,
                "title": title, "control": "active", "created": created,
                "storage_root": storage_root, "storage_key": storage_key or batch_id,
                **(extra or {})})
            pipe.hset(keys.batch(batch_id, "req"), mapping={
                str(row): request.to_json() for row, request in requests.items()})
            pipe.hset(keys.batch(batch_id, "state"),
                      mapping={image_key(*image): state for image, state in states.items()})
            if results:
                pipe.hset(keys.batch(batch_id, "img"), mapping=results)
            if public:
                pipe.zadd(keys.public_images(owner), public)
            pipe.zadd(keys.owner_batches(owner), {batch_id: created})
            pipe.sadd(keys.ACTIVE_BATCHES, batch_id)
            pipe.execute()
        self.queue.enqueue(account, batch_id,
                           [image for image, state in states.items() if state == RowStatus.QUEUED])
        return batch_id

    def fields(self, batch_id: str) -> dict[str, str]:
        fields = self.redis.hgetall(keys.batch(batch_id))
        if not fields:
            raise BatchNotFound(batch_id)
        return {k.decode(): v.decode() for k, v in fields.items()}

    def known(self, batch_id: str) -> bool:
        return bool(self.redis.exists(keys.batch(batch_id)))

    def note(self, batch_id: str, **fields: str) -> None:
        """Set some of the batch's fields (e.g. how its sheet write-back is doing)."""
        self.redis.hset(keys.batch(batch_id), mapping=fields)

    def owned_by(self, batch_id: str, owner: str) -> dict[str, str]:
        """The batch's fields if `owner` created it; otherwise it does not exist for them. An id
        of another shape is not even looked up (it could name another kind of key)."""
        if not BATCH_ID.fullmatch(batch_id):
            raise BatchNotFound(batch_id)
        fields = self.fields(batch_id)
        if not secrets.compare_digest(fields.get("owner", "").encode(), owner.encode()):
            raise BatchNotFound(batch_id)
        return fields

    def list_for(self, owner: str, limit: int = 50) -> list[str]:
        return [b.decode() for b in self.redis.zrevrange(keys.owner_batches(owner), 0, limit - 1)]

    def created_before(self, cutoff: float) -> list[str]:
        """Every person's batches created before `cutoff` (a Unix time)."""
        found = []
        for owner_key in self.redis.scan_iter(match=keys.owner_batches("*"), count=500):
            found += [b.decode() for b in self.redis.zrangebyscore(owner_key, "-inf", cutoff)]
        return found

    def request(self, batch_id: str, row: int) -> ImageRequest:
        raw = self.redis.hget(keys.batch(batch_id, "req"), str(row))
        return ImageRequest.from_json(raw)

    def requests(self, batch_id: str) -> dict[int, ImageRequest]:
        """Every row's request, in one round trip."""
        raw = self.redis.hgetall(keys.batch(batch_id, "req"))
        return {int(row): ImageRequest.from_json(value) for row, value in raw.items()}

    def states(self, batch_id: str) -> dict[tuple[int, int], str]:
        raw = self.redis.hgetall(keys.batch(batch_id, "state"))
        return {_split(k.decode()): v.decode() for k, v in raw.items()}

    def billed(self, batch_id: str) -> list[tuple[int, int]]:
        """The images the provider account paid for: every one made, and those it made but did
        not hand over (withheld by its safety check, which bills all the same)."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.batch(batch_id, "state"))
            pipe.hgetall(keys.batch(batch_id, "img"))
            states, results = pipe.execute()
        return [_split(key.decode()) for key, state in states.items()
                if state.decode() == RowStatus.DONE or (
                    state.decode() == RowStatus.FAILED
                    and json.loads(results.get(key, b"{}")).get("billed"))]

    def status(self, batch_id: str) -> BatchProgress:
        """Counts and per-row results; one round trip, cheap enough to poll every second."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.batch(batch_id))
            pipe.hgetall(keys.batch(batch_id, "state"))
            pipe.hgetall(keys.batch(batch_id, "img"))
            fields, states, results = pipe.execute()
        if not fields:
            raise BatchNotFound(batch_id)
        fields = {k.decode(): v.decode() for k, v in fields.items()}
        states = {_split(k.decode()): v.decode() for k, v in states.items()}
        results = {_split(k.decode()): json.loads(v) for k, v in results.items()}
        return derive_status(batch_id, fields, states, results)

    # -- the worker's side -------------------------------------------------------------------

    def claim(self, batch_id: str, row: int, index: int, token: str) -> str:
        """'ok' when this worker now owns the image; else why not (done, busy, stopped…)."""
        result = self._claim(keys=[keys.batch(batch_id), keys.batch(batch_id, "state"),
                                   keys.claim(batch_id, row, index), keys.ACTIVE_BATCHES],
                             args=[image_key(row, index), token, LEASE_SECONDS, batch_id])
        return result.decode() if isinstance(result, bytes) else str(result)

    def renew(self, batch_id: str, row: int, index: int, token: str) -> bool:
        return bool(self._renew(keys=[keys.claim(batch_id, row, index)],
                                args=[token, LEASE_SECONDS]))

    def settle(self, batch_id: str, row: int, index: int, token: str, state: str,
               result: dict[str, Any]) -> bool:
        settled = bool(self._settle(
            keys=[keys.claim(batch_id, row, index), keys.batch(batch_id, "state"),
                  keys.batch(batch_id, "img"), keys.batch(batch_id, "dirty")],
            args=[token, image_key(row, index), state, json.dumps(result), row]))
        if settled and state == RowStatus.DONE:
            self._index_public(batch_id, row, result)
        return settled

    # -- the public index ------------------------------------------------------------------

    def _index_public(self, batch_id: str, row: int, result: dict[str, Any]) -> None:
        owner, created = self.redis.hmget(keys.batch(batch_id), "owner", "created")
        raw = self.redis.hget(keys.batch(batch_id, "req"), str(row))
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
                pipe.hget(keys.batch(batch_id, "req"), str(int(name[:4])))
            raws = pipe.execute()
        return [(batch_id, name, ImageRequest.from_json(raw))
                       for (batch_id, name), raw in zip(members, raws) if raw]

    def _index_earlier_batches(self, owner: str) -> None:
        """Once per person: batches made before the index existed join it (their newest 500)."""
        if not self.redis.set(keys.public_indexed(owner), 1, nx=True):
            return
        for batch_id in self.list_for(owner, limit=500):
            created = self.redis.hget(keys.batch(batch_id), "created")
            requests = self.requests(batch_id)
            results = self.redis.hgetall(keys.batch(batch_id, "img"))
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

    def control(self, batch_id: str) -> str | None:
        value = self.redis.hget(keys.batch(batch_id), "control")
        return value.decode() if value else None

    # -- lifecycle ------------------------------------------------------------------------------

    def stop(self, batch_id: str) -> None:
        """Queued images stop at once; images being made finish and are kept."""
        self.fields(batch_id)
        self._stop(keys=[keys.batch(batch_id), keys.batch(batch_id, "state"),
                         keys.batch(batch_id, "dirty")])
        self.queue.cancel(batch_id)

    def pause(self, batch_id: str, reason: str) -> None:
        """Stop the batch because it cannot go on (e.g. its images cannot be stored); the
        reason is shown until it is resumed."""
        self.redis.hset(keys.batch(batch_id), "paused", reason)
        self.stop(batch_id)

    def resume(self, batch_id: str, account: str | None = None) -> int:
        """Queue again every image that is neither made nor failed; returns how many. With
        `account`, the batch pays with that account from now on (e.g. after a key rotation)."""
        return self._requeue(batch_id, (RowStatus.QUEUED, RowStatus.STOPPED), account)

    def retry_failed(self, batch_id: str, account: str | None = None) -> int:
        return self._requeue(batch_id, (RowStatus.FAILED,), account)

    def _requeue(self, batch_id: str, from_states: tuple[str, ...], account: str | None) -> int:
        account = account or self.fields(batch_id)["account"]
        states = self.states(batch_id)
        again = {image_key(*key): RowStatus.QUEUED
                 for key, state in states.items() if state in from_states}
        with self.redis.pipeline() as pipe:
            pipe.hset(keys.batch(batch_id), mapping={"control": "active", "account": account})
            pipe.hdel(keys.batch(batch_id), "paused")
            if again:
                pipe.hset(keys.batch(batch_id, "state"), mapping=again)
                pipe.hdel(keys.batch(batch_id, "img"), *again)
                pipe.hdel(keys.batch(batch_id, "reaps"), *again)
                pipe.sadd(keys.batch(batch_id, "dirty"), *{key.split(":")[0] for key in again})
            pipe.sadd(keys.ACTIVE_BATCHES, batch_id)
            pipe.execute()
        self.queue.enqueue(account, batch_id, [_split(key) for key in again])
        return len(again)

    def delete(self, batch_id: str) -> None:
        """Forget the batch: its hash and parts, and its place in every set (images are the
        caller's to delete first)."""
        fields = self.fields(batch_id)
        names = [json.loads(raw).get("name") for raw in
                 self.redis.hvals(keys.batch(batch_id, "img"))]
        with self.redis.pipeline() as pipe:
            shown = [public_member(batch_id, name) for name in names if name]
            if shown:
                pipe.zrem(keys.public_images(fields.get("owner", "")), *shown)
            pipe.delete(keys.batch(batch_id),
                        *(keys.batch(batch_id, part) for part in keys.BATCH_PARTS))
            pipe.zrem(keys.owner_batches(fields.get("owner", "")), batch_id)
            for members in (keys.ACTIVE_BATCHES, keys.BUDGETED_BATCHES, keys.SHEET_BATCHES):
                pipe.srem(members, batch_id)
            pipe.execute()

    def take_dirty_rows(self, batch_id: str) -> set[int]:
        """Rows changed since the last call (for write-back), emptied atomically."""
        with self.redis.pipeline() as pipe:
            pipe.smembers(keys.batch(batch_id, "dirty"))
            pipe.delete(keys.batch(batch_id, "dirty"))
            rows, _ = pipe.execute()
        return {int(row) for row in rows}

    def mark_dirty(self, batch_id: str, rows: Iterable[int]) -> None:
        rows = list(rows)
        if rows:
            self.redis.sadd(keys.batch(batch_id, "dirty"), *rows)

    def reap(self) -> int:
        """Take back images whose worker died (lease gone); returns how many were queued again."""
        requeued = 0
        for raw_id in self.redis.smembers(keys.ACTIVE_BATCHES):
            batch_id = raw_id.decode()
            account = self.fields(batch_id)["account"]
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
        outcome = self._reap(keys=[keys.batch(batch_id, "state"), keys.claim(batch_id, row, index),
                                   keys.batch(batch_id, "reaps"), keys.batch(batch_id)],
                             args=[image_key(row, index), MAX_REAPS])
        if outcome == 3:
            self._force_fail(batch_id, row, index,
                             "A worker stopped unexpectedly every time it made this image.")
        if outcome in (2, 3):
            self.mark_dirty(batch_id, [row])
        return outcome

    def _force_fail(self, batch_id: str, row: int, index: int, reason: str) -> None:
        with self.redis.pipeline() as pipe:
            pipe.hset(keys.batch(batch_id, "state"), image_key(row, index), RowStatus.FAILED)
            pipe.hset(keys.batch(batch_id, "img"), image_key(row, index),
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
