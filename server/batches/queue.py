"""The RQ side of a batch: one queue per batch, named after the provider account that pays for
it, so a worker serves only batches whose key it holds, and serves the active batches in turn
(`workers/worker.py`). A job only names its image; the claim in Redis decides whether it runs,
so a duplicate or stale job is harmless."""
from __future__ import annotations

import secrets

import redis
from rq import Queue, Worker
from rq.exceptions import InvalidJobOperation
from rq.job import Job

from server.batches import keys
from server.batches.record import BatchKeys
from server.batches.status import BatchProgress
from server.sheet.statuses import BatchStatus

# What a person is told while their batch waits and no worker is there to make it (web page,
# sidebar status): nothing else would ever say why "0 done" does not move.
NO_WORKER = ("The server has no worker running, so nothing is being made yet. Start one with "
             "the command sheetbatch worker, on any machine using the same Redis.")
SHARED_QUEUE = "sheetbatch"  # always served; jobs there are checked against the worker's accounts
JOB_FUNCTION = "workers.jobs.generate_image"
JOB_TIMEOUT_MARGIN = 600  # a job may wait out a provider outage (the deadline) and then some


def worker_running(connection: redis.Redis) -> bool:
    """Whether any worker is registered: RQ keeps one registered only while it heartbeats."""
    return bool(Worker.all(connection=connection))


def waits_for_worker(status: BatchProgress) -> bool:
    """Whether the batch has images waiting for a worker to make them."""
    return status.status in (BatchStatus.QUEUED, BatchStatus.RUNNING) \
        and status.images["pending"] > 0


def waiting_notice(status: BatchProgress, connection: redis.Redis) -> str | None:
    """NO_WORKER while the batch has images waiting that no worker is there to make."""
    return NO_WORKER if waits_for_worker(status) and not worker_running(connection) else None


class BatchQueue:
    def __init__(self, connection: redis.Redis, outage_deadline: float):
        self.redis = connection
        self.job_timeout = int(outage_deadline) + JOB_TIMEOUT_MARGIN

    def enqueue(self, account: str, batch_id: str, images: list[tuple[int, int]]) -> None:
        """One job per (row, index), in sheet order, on the batch's own queue."""
        if not images:
            return
        name = keys.batch_queue(account, batch_id)
        attempt = secrets.token_hex(3)  # a fresh job id per attempt; the image key stays the same
        jobs = [Queue.prepare_data(JOB_FUNCTION, args=(batch_id, row, index),
                                   job_id=f"{batch_id}-{row}-{index}-{attempt}",
                                   timeout=self.job_timeout, result_ttl=60, failure_ttl=86400)
                for row, index in sorted(images)]
        enqueued = Queue(name, connection=self.redis).enqueue_many(jobs)
        with self.redis.pipeline() as pipe:
            pipe.sadd(BatchKeys(batch_id).part("jobs"), *(job.id for job in enqueued))
            pipe.sadd(keys.account_queues(account), name)
            pipe.execute()

    def job_ids(self, batch_id: str) -> list[str]:
        return [j.decode() for j in self.redis.smembers(BatchKeys(batch_id).part("jobs"))]

    def delete_jobs(self, job_ids: list[str]) -> None:
        """Delete these jobs' records from RQ (for a deleted batch; none of them is running)."""
        for job in Job.fetch_many(job_ids, connection=self.redis):
            if job is not None:
                job.delete()

    def cancel(self, batch_id: str) -> None:
        """Cancel the batch's jobs that are still waiting in the queue."""
        job_ids = self.job_ids(batch_id)
        for job in Job.fetch_many(job_ids, connection=self.redis):
            if job is not None and job.get_status(refresh=False) == "queued":
                try:
                    job.cancel()
                except (InvalidJobOperation, ValueError):
                    # Cancelled meanwhile by another stop of the same batch, or taken by a worker
                    # between the two lines (RQ then raises ValueError: "Execution … not found");
                    # either way the claim in Redis decides, and a stopped batch claims nothing.
                    pass
        self.redis.delete(BatchKeys(batch_id).part("jobs"))

    def retire(self, account: str, batch_id: str) -> None:
        """A finished batch's queue is no longer served."""
        name = keys.batch_queue(account, batch_id)
        self.redis.srem(keys.account_queues(account), name)

    def every_queue(self) -> list[Queue]:
        """The shared queue and every active batch's queue, of every account (for operators)."""
        names = {SHARED_QUEUE}
        for key in self.redis.scan_iter(match=keys.account_queues("*")):
            names |= {name.decode() for name in self.redis.smembers(key)}
        return [Queue(name, connection=self.redis) for name in sorted(names)]

    def active(self, accounts: list[str]) -> list[str]:
        """The queue names of every active batch of these accounts."""
        if not accounts:
            return []
        return sorted(name.decode() for name in
                      self.redis.sunion([keys.account_queues(a) for a in accounts]))
