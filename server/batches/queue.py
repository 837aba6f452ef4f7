"""The RQ side of a batch: one job per image on the shared queue, and cancelling what is still
queued when a batch stops. A job only names its image; the claim in Redis decides whether it
runs, so a duplicate or stale job is harmless."""
from __future__ import annotations

import secrets

import redis
from rq import Queue
from rq.job import Job

from server.batches import keys

QUEUE_NAME = "sheetbatch"
JOB_FUNCTION = "workers.jobs.generate_image"
JOB_TIMEOUT = 1800


class BatchQueue:
    def __init__(self, connection: redis.Redis):
        self.redis = connection
        self.queue = Queue(QUEUE_NAME, connection=connection)

    def enqueue(self, batch_id: str, images: list[tuple[int, int]]) -> None:
        """One job per (row, index), in sheet order."""
        if not images:
            return
        attempt = secrets.token_hex(3)  # a fresh job id per attempt; the image key stays the same
        jobs = [Queue.prepare_data(JOB_FUNCTION, args=(batch_id, row, index),
                                   job_id=f"{batch_id}-{row}-{index}-{attempt}",
                                   timeout=JOB_TIMEOUT, result_ttl=60, failure_ttl=86400)
                for row, index in sorted(images)]
        enqueued = self.queue.enqueue_many(jobs)
        self.redis.sadd(keys.batch(batch_id, "jobs"), *(job.id for job in enqueued))

    def job_ids(self, batch_id: str) -> list[str]:
        return [j.decode() for j in self.redis.smembers(keys.batch(batch_id, "jobs"))]

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
                job.cancel()
        self.redis.delete(keys.batch(batch_id, "jobs"))
