"""A concurrency limit shared by every worker on every machine: at most N calls in flight
per provider key, held in Redis.

Each holder is a member of a sorted set scored by when its lease runs out; the holder renews
the lease while it lives, so the slot of a worker killed mid-call frees itself within a lease.
"""
from __future__ import annotations

import threading
import time
import uuid
from contextlib import contextmanager
from typing import Iterator

import redis

from server.batches import keys

# Take a slot if fewer than the limit are held (expired leases are dropped first).
# KEYS[1] the sorted set of holders; ARGV[1] now, ARGV[2] the limit, ARGV[3] the lease's end,
# ARGV[4] the holder's token, ARGV[5] the set's own expiry (ms). Returns 1 if taken.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0
"""

POLL_SECONDS = 0.01


class ConcurrencyLimit:
    def __init__(self, connection: redis.Redis, key: str, limit: int, lease_seconds: float):
        self.connection = connection
        self.key = keys.in_flight(key)
        self.limit = limit
        self.lease_seconds = lease_seconds
        self._acquire = connection.register_script(_ACQUIRE)

    def try_acquire(self, token: str) -> bool:
        now = time.time()
        return bool(self._acquire(keys=[self.key], args=[
            now, self.limit, now + self.lease_seconds, token, int(self.lease_seconds * 2000)]))

    def in_flight(self) -> int:
        return self.connection.zcount(self.key, time.time(), "+inf")

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Wait for a free slot and hold it for the duration of the block, renewing the lease
        while this process lives."""
        token = uuid.uuid4().hex
        while not self.try_acquire(token):
            time.sleep(POLL_SECONDS)
        released = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(token, released), daemon=True)
        renewer.start()
        try:
            yield
        finally:
            released.set()
            try:
                self.connection.zrem(self.key, token)
            except redis.RedisError:
                pass  # Redis is gone: the slot's lease runs out on its own; what the block made
                # (a paid image) must still reach storage


    def _renew(self, token: str, released: threading.Event) -> None:
        while not released.wait(self.lease_seconds / 3):
            self.connection.zadd(self.key, {token: time.time() + self.lease_seconds}, xx=True)
