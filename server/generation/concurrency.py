"""A concurrency limit shared by every worker on every machine: at most N images in progress
per provider key, held in Redis (each of our calls makes one image, so a call is a slot).

Each holder is a member of a sorted set scored by when its lease runs out; the holder renews
the lease while it lives, so the slot of a worker killed mid-call frees itself within a lease.

The account's real limit may be lower than the setting: Ideogram counts every image its
organization has in progress, across all endpoints and apps. When the service refuses a call
for that (`inflight_limit`), `narrow()` lowers the limit by one below what we hold, for
CAP_SECONDS after the last refusal: a few refusals find the real figure, then calls wait here
instead of being refused, and once the cap lapses the setting is tried again.
"""
from __future__ import annotations

import threading
import time
import uuid
from contextlib import contextmanager
from typing import Iterator

import redis

from server.batches import keys

# Take a slot if fewer than the limit (or the account's cap, if lower) are held; expired
# leases are dropped first.
# KEYS[1] the sorted set of holders, KEYS[2] the cap; ARGV[1] now, ARGV[2] the limit, ARGV[3]
# the lease's end, ARGV[4] the holder's token, ARGV[5] the set's own expiry (ms). Returns 1
# if taken.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local limit = tonumber(ARGV[2])
local cap = tonumber(redis.call('GET', KEYS[2]) or limit)
if redis.call('ZCARD', KEYS[1]) < math.min(limit, cap) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0
"""

# One refusal for too many in flight: the cap becomes one less than the smaller of the cap and
# what we hold now (the refused call included), never below 1, nor above the service's own figure.
# KEYS[1] the holders, KEYS[2] the cap; ARGV[1] now, ARGV[2] the limit, ARGV[3] the service's
# figure (0 = not said), ARGV[4] the cap's life (s). Returns the new cap.
_NARROW = """
local held = redis.call('ZCOUNT', KEYS[1], ARGV[1], '+inf')
local cap = tonumber(redis.call('GET', KEYS[2]) or ARGV[2])
cap = math.max(1, math.min(cap, held) - 1)
if tonumber(ARGV[3]) > 0 then cap = math.min(cap, tonumber(ARGV[3])) end
redis.call('SET', KEYS[2], cap, 'EX', ARGV[4])
return cap
"""

POLL_SECONDS = 0.01
CAP_SECONDS = 60


class ConcurrencyLimit:
    def __init__(self, connection: redis.Redis, key: str, limit: int, lease_seconds: float):
        self.connection = connection
        self.key = keys.in_flight(key)
        self.cap_key = keys.in_flight_cap(key)
        self.limit = limit
        self.lease_seconds = lease_seconds
        self._acquire = connection.register_script(_ACQUIRE)
        self._narrow = connection.register_script(_NARROW)

    def try_acquire(self, token: str) -> bool:
        now = time.time()
        return bool(self._acquire(keys=[self.key, self.cap_key], args=[
            now, self.limit, now + self.lease_seconds, token, int(self.lease_seconds * 2000)]))

    def narrow(self, service_limit: int | None = None) -> int:
        """The service refused a call we hold a slot for (too many in flight): hold fewer for a
        while. Returns the limit now in force."""
        return int(self._narrow(keys=[self.key, self.cap_key], args=[
            time.time(), self.limit, service_limit or 0, CAP_SECONDS]))

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
