"""Batches and their lifecycle, kept in Redis so every worker and web process shares them.

A batch is a set of images, one per (row, image index). Each image has a state; the status of a
row and of the batch is derived from those states on every read, so no second copy can drift.

Keys (all under `sb:b:<batch id>`):
  (hash)          the batch's fields: owner, control (active/stopping/stopped), provider, …
  :req (hash)     row → the row's ImageRequest as JSON
  :state (hash)   "row:index" → queued | generating | done | failed | stopped
  :img (hash)     "row:index" → JSON result of a settled image (name, seed, prompt, error)
  :reaps (hash)   "row:index" → how often a dead worker's image was taken back
  :dirty (set)    rows changed since the last write-back
  :jobs (set)     RQ job ids that may still be queued (cancelled on stop)
  sb:claim:<batch>:<row>:<index>   the lease of the worker making that image
"""
from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

import redis
from rq import Queue
from rq.job import Job

from server.schema import ImageRequest

QUEUE_NAME = "sheetbatch"
LEASE_SECONDS = 15
MAX_REAPS = 3
JOB_TIMEOUT = 1800
SETTLED = ("done", "failed")  # image states that need nothing more
FINISHED = ("completed", "completed_with_errors", "failed", "stopped")  # batch statuses, ditto

_CLAIM = """
if redis.call('HGET', KEYS[1], 'control') ~= 'active' then return 'stopped' end
local state = redis.call('HGET', KEYS[2], ARGV[1])
if state == 'done' or state == 'failed' or state == 'stopped' then return state end
if redis.call('SET', KEYS[3], ARGV[2], 'NX', 'EX', ARGV[3]) == false then return 'busy' end
redis.call('HSET', KEYS[2], ARGV[1], 'generating')
redis.call('SADD', KEYS[4], ARGV[4])
return 'ok'
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# Settle only while holding the claim, so a worker whose lease was taken back cannot
# overwrite what the next worker recorded.
_SETTLE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])
redis.call('SADD', KEYS[4], ARGV[5])
redis.call('DEL', KEYS[1])
return 1
"""

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


@dataclass
class RowResult:
    row: int
    status: str
    images: list[dict] = field(default_factory=list)  # settled images, by index
    error: str | None = None

    @property
    def seeds(self) -> str:
        return ", ".join(str(image["seed"]) for image in self.images
                         if image.get("seed") is not None)

    @property
    def used_prompt(self) -> str | None:
        return next((image["prompt"] for image in self.images if image.get("prompt")), None)


@dataclass
class BatchStatus:
    id: str
    status: str
    counts: dict[str, int]
    images: dict[str, int]
    rows: dict[int, RowResult]
    fields: dict[str, str]

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def as_dict(self, with_rows: bool = True) -> dict[str, Any]:
        data = {"id": self.id, "status": self.status, "counts": self.counts,
                "images": self.images, "provider": self.fields.get("provider"),
                "title": self.fields.get("title"), "created": float(self.fields.get("created", 0))}
        if with_rows:
            data["rows"] = [{"row": r.row, "status": r.status, "error": r.error,
                             "images": [image.get("name") for image in r.images if image.get("name")],
                             "used_seed": r.seeds or None, "used_prompt": r.used_prompt}
                            for r in self.rows.values()]
        return data


class BatchNotFound(KeyError):
    pass


class Batches:
    """The batch store: every operation on batches goes through here."""

    def __init__(self, connection: redis.Redis):
        self.redis = connection
        self.queue = Queue(QUEUE_NAME, connection=connection)
        self._claim = connection.register_script(_CLAIM)
        self._renew = connection.register_script(_RENEW)
        self._settle = connection.register_script(_SETTLE)
        self._stop = connection.register_script(_STOP)
        self._reap = connection.register_script(_REAP)

    @staticmethod
    def key(batch_id: str, part: str = "") -> str:
        return f"sb:b:{batch_id}" + (f":{part}" if part else "")

    # -- creating and reading --------------------------------------------------------------

    def create(self, requests: dict[int, ImageRequest], *, owner: str, provider: str,
               title: str = "", storage_root: str = "", storage_key: str | None = None,
               extra: dict[str, str] | None = None, batch_id: str | None = None) -> str:
        batch_id = batch_id or secrets.token_hex(8)
        storage_key = storage_key or batch_id
        states = {image_key(row, index): "queued"
                  for row, request in requests.items()
                  for index in range(1, request.num_images + 1)}
        with self.redis.pipeline() as pipe:
            pipe.hset(self.key(batch_id), mapping={
                "id": batch_id, "owner": owner, "provider": provider, "title": title,
                "control": "active", "created": time.time(), "storage_root": storage_root,
                "storage_key": storage_key, **(extra or {})})
            pipe.hset(self.key(batch_id, "req"), mapping={
                str(row): json.dumps(request.__dict__) for row, request in requests.items()})
            pipe.hset(self.key(batch_id, "state"), mapping=states)
            pipe.zadd(f"sb:owner:{owner}", {batch_id: time.time()})
            pipe.sadd("sb:active", batch_id)
            pipe.execute()
        self._enqueue(batch_id, states)
        return batch_id

    def fields(self, batch_id: str) -> dict[str, str]:
        fields = self.redis.hgetall(self.key(batch_id))
        if not fields:
            raise BatchNotFound(batch_id)
        return {k.decode(): v.decode() for k, v in fields.items()}

    def owned_by(self, batch_id: str, owner: str) -> dict[str, str]:
        """The batch's fields if `owner` created it; otherwise it does not exist for them."""
        fields = self.fields(batch_id)
        if not secrets.compare_digest(fields.get("owner", ""), owner):
            raise BatchNotFound(batch_id)
        return fields

    def list_for(self, owner: str, limit: int = 50) -> list[str]:
        return [b.decode() for b in self.redis.zrevrange(f"sb:owner:{owner}", 0, limit - 1)]

    def request(self, batch_id: str, row: int) -> ImageRequest:
        raw = self.redis.hget(self.key(batch_id, "req"), str(row))
        return ImageRequest(**json.loads(raw))

    def requests(self, batch_id: str) -> dict[int, ImageRequest]:
        """Every row's request, in one round trip."""
        raw = self.redis.hgetall(self.key(batch_id, "req"))
        return {int(row): ImageRequest(**json.loads(value)) for row, value in raw.items()}

    def states(self, batch_id: str) -> dict[tuple[int, int], str]:
        raw = self.redis.hgetall(self.key(batch_id, "state"))
        return {_split(k.decode()): v.decode() for k, v in raw.items()}

    def status(self, batch_id: str, rows: Iterable[int] | None = None) -> BatchStatus:
        """Counts and per-row results; one round trip, cheap enough to poll every second."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.key(batch_id))
            pipe.hgetall(self.key(batch_id, "state"))
            pipe.hgetall(self.key(batch_id, "img"))
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
        result = self._claim(keys=[self.key(batch_id), self.key(batch_id, "state"),
                                   self.claim_key(batch_id, row, index), "sb:active"],
                             args=[image_key(row, index), token, LEASE_SECONDS, batch_id])
        return result.decode() if isinstance(result, bytes) else str(result)

    def renew(self, batch_id: str, row: int, index: int, token: str) -> bool:
        return bool(self._renew(keys=[self.claim_key(batch_id, row, index)],
                                args=[token, LEASE_SECONDS]))

    def settle(self, batch_id: str, row: int, index: int, token: str, state: str,
               result: dict[str, Any]) -> bool:
        return bool(self._settle(
            keys=[self.claim_key(batch_id, row, index), self.key(batch_id, "state"),
                  self.key(batch_id, "img"), self.key(batch_id, "dirty")],
            args=[token, image_key(row, index), state, json.dumps(result), row]))

    def control(self, batch_id: str) -> str | None:
        value = self.redis.hget(self.key(batch_id), "control")
        return value.decode() if value else None

    @staticmethod
    def claim_key(batch_id: str, row: int, index: int) -> str:
        return f"sb:claim:{batch_id}:{row}:{index}"

    # -- lifecycle ------------------------------------------------------------------------------

    def stop(self, batch_id: str) -> None:
        """Queued images stop at once; images being made finish and are kept."""
        self.fields(batch_id)
        self._stop(keys=[self.key(batch_id), self.key(batch_id, "state"),
                         self.key(batch_id, "dirty")])
        self._cancel_jobs(batch_id)

    def resume(self, batch_id: str) -> int:
        """Queue again every image that is neither made nor failed; returns how many."""
        return self._requeue(batch_id, ("queued", "stopped"))

    def retry_failed(self, batch_id: str) -> int:
        return self._requeue(batch_id, ("failed",))

    def _requeue(self, batch_id: str, from_states: tuple[str, ...]) -> int:
        self.fields(batch_id)
        states = self.states(batch_id)
        again = {image_key(*key): "queued" for key, state in states.items() if state in from_states}
        with self.redis.pipeline() as pipe:
            pipe.hset(self.key(batch_id), "control", "active")
            if again:
                pipe.hset(self.key(batch_id, "state"), mapping=again)
                pipe.hdel(self.key(batch_id, "img"), *again)
                pipe.hdel(self.key(batch_id, "reaps"), *again)
                pipe.sadd(self.key(batch_id, "dirty"), *{key.split(":")[0] for key in again})
            pipe.sadd("sb:active", batch_id)
            pipe.execute()
        self._enqueue(batch_id, again)
        return len(again)

    def take_dirty_rows(self, batch_id: str) -> set[int]:
        """Rows changed since the last call (for write-back), emptied atomically."""
        with self.redis.pipeline() as pipe:
            pipe.smembers(self.key(batch_id, "dirty"))
            pipe.delete(self.key(batch_id, "dirty"))
            rows, _ = pipe.execute()
        return {int(row) for row in rows}

    def mark_dirty(self, batch_id: str, rows: Iterable[int]) -> None:
        rows = list(rows)
        if rows:
            self.redis.sadd(self.key(batch_id, "dirty"), *rows)

    def reap(self) -> int:
        """Take back images whose worker died (lease gone); returns how many were queued again."""
        requeued = 0
        for raw_id in self.redis.smembers("sb:active"):
            batch_id = raw_id.decode()
            states = self.states(batch_id)
            if not any(state in ("queued", "generating") for state in states.values()):
                self.redis.srem("sb:active", batch_id)
                continue
            again = {}
            for (row, index), state in states.items():
                if state == "generating":
                    outcome = self._reap_one(batch_id, row, index)
                    if outcome == 1:
                        again[image_key(row, index)] = "queued"
            self._enqueue(batch_id, again)
            requeued += len(again)
        return requeued

    def _reap_one(self, batch_id: str, row: int, index: int) -> int:
        outcome = self._reap(keys=[self.key(batch_id, "state"), self.claim_key(batch_id, row, index),
                                   self.key(batch_id, "reaps"), self.key(batch_id)],
                             args=[image_key(row, index), MAX_REAPS])
        if outcome == 3:
            self._force_fail(batch_id, row, index,
                             "A worker stopped unexpectedly every time it made this image.")
        if outcome in (2, 3):
            self.mark_dirty(batch_id, [row])
        return outcome

    def _force_fail(self, batch_id: str, row: int, index: int, reason: str) -> None:
        with self.redis.pipeline() as pipe:
            pipe.hset(self.key(batch_id, "state"), image_key(row, index), "failed")
            pipe.hset(self.key(batch_id, "img"), image_key(row, index),
                      json.dumps({"error": reason}))
            pipe.execute()

    # -- RQ ---------------------------------------------------------------------------------------

    def _enqueue(self, batch_id: str, images: dict[str, str]) -> None:
        if not images:
            return
        attempt = secrets.token_hex(3)  # a fresh job id per attempt; the image key stays the same
        jobs = [Queue.prepare_data("workers.jobs.generate_image", args=(batch_id, row, index),
                                   job_id=f"{batch_id}-{row}-{index}-{attempt}",
                                   timeout=JOB_TIMEOUT, result_ttl=60, failure_ttl=86400)
                for row, index in sorted(_split(key) for key in images)]
        enqueued = self.queue.enqueue_many(jobs)
        self.redis.sadd(self.key(batch_id, "jobs"), *(job.id for job in enqueued))

    def _cancel_jobs(self, batch_id: str) -> None:
        job_ids = [j.decode() for j in self.redis.smembers(self.key(batch_id, "jobs"))]
        for job in Job.fetch_many(job_ids, connection=self.redis):
            if job is not None and job.get_status(refresh=False) == "queued":
                job.cancel()
        self.redis.delete(self.key(batch_id, "jobs"))


def derive_status(batch_id: str, fields: dict[str, str], states: dict[tuple[int, int], str],
                  results: dict[tuple[int, int], dict]) -> BatchStatus:
    by_row: dict[int, list[int]] = {}
    for row, index in sorted(states):
        by_row.setdefault(row, []).append(index)
    rows = {row: _row_result(row, [(i, states[(row, i)], results.get((row, i), {}))
                                   for i in indexes])
            for row, indexes in by_row.items()}
    counts = {name: 0 for name in ("total", "done", "failed", "stopped", "pending")}
    for result in rows.values():
        counts["total"] += 1
        counts[result.status if result.status in counts else "pending"] += 1
    images = {name: 0 for name in ("total", "done", "failed", "stopped", "pending")}
    for state in states.values():
        images["total"] += 1
        images[state if state in images else "pending"] += 1
    return BatchStatus(batch_id, _batch_status(fields.get("control"), states, counts),
                       counts, images, rows, fields)


def _row_result(row: int, images: list[tuple[int, str, dict]]) -> RowResult:
    states = {state for _, state, _ in images}
    if states <= {"done"}:
        status = "done"
    elif states <= {"done", "failed"}:
        status = "failed"
    elif "generating" in states:
        status = "generating"
    elif "stopped" in states and not states & {"queued"}:
        status = "stopped"
    else:
        status = "queued"
    settled = [dict(result, index=index) for index, state, result in images if state in SETTLED]
    error = next((image["error"] for image in settled if image.get("error")), None)
    return RowResult(row, status, [image for image in settled if image.get("name")], error)


def _batch_status(control: str | None, states: dict, counts: dict[str, int]) -> str:
    values = set(states.values())
    if values <= set(SETTLED):
        if counts["failed"] == 0:
            return "completed"
        return "failed" if counts["done"] == 0 else "completed_with_errors"
    if control in ("stopping", "stopped"):
        return "stopping" if "generating" in values else "stopped"
    return "running" if values - {"queued"} else "queued"
