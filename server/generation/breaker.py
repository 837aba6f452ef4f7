"""A circuit breaker per provider account, shared by every worker through Redis.

After repeated transient failures (an outage) calls pause for a while; then one probe call at a
time tests the provider, and the first success closes the breaker again. Rows wait through an
outage instead of failing, and a down provider is not hammered by every worker at once.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import redis

from server.batches import keys

FAILURES_TO_OPEN = 5
FIRST_OPEN_SECONDS = 2.0
MAX_OPEN_SECONDS = 30.0
WAIT_FOR_PROBE_SECONDS = 1.0
FORGET_AFTER_SECONDS = 2 * MAX_OPEN_SECONDS
REASON_MAX = 200


@contextmanager
def _after_a_call() -> Iterator[None]:
    """Bookkeeping after a call must not lose what the call made (a paid image) when Redis is
    gone; the next call's check finds Redis missing soon enough."""
    try:
        yield
    except redis.RedisError:
        pass


class CircuitBreaker:
    def __init__(self, connection: redis.Redis, account: str, probe_seconds: float):
        self.redis = connection
        self.key = keys.breaker(account)
        self.probe_key = keys.breaker_probe(account)
        self.probe_ms = int(probe_seconds * 1000)

    def wait_seconds(self) -> float:
        """0 when a call may go now (closed, or this caller is the probe); else how long to wait
        before asking again."""
        state = self.redis.hgetall(self.key)
        if int(state.get(b"failures", 0)) < FAILURES_TO_OPEN:
            return 0.0
        still_open = float(state.get(b"open_until", 0)) - time.time()
        if still_open > 0:
            return still_open
        if self.redis.set(self.probe_key, 1, nx=True, px=self.probe_ms):
            return 0.0
        return WAIT_FOR_PROBE_SECONDS

    def succeeded(self) -> None:
        with _after_a_call():
            with self.redis.pipeline() as pipe:
                pipe.delete(self.key)
                pipe.delete(self.probe_key)
                pipe.execute()

    def failed(self, reason: str = "") -> None:
        with _after_a_call():
            failures = self.redis.hincrby(self.key, "failures", 1)
            if reason:
                self.redis.hset(self.key, "reason", reason[:REASON_MAX])
            if failures >= FAILURES_TO_OPEN:
                opened = self.redis.hincrby(self.key, "opened", 1)
                seconds = min(MAX_OPEN_SECONDS, FIRST_OPEN_SECONDS * 2 ** (opened - 1))
                self.redis.hset(self.key, "open_until", time.time() + seconds)
            # An outage nobody has called into for a while is forgotten: the next call tests it.
            self.redis.expire(self.key, int(FORGET_AFTER_SECONDS))
            self.redis.delete(self.probe_key)

    def outage(self) -> Outage | None:
        """What a person watching should know while calls fail: the last reason, and how long
        until the next try while the breaker is open (None when calls go through)."""
        state = self.redis.hgetall(self.key)
        if not state:
            return None
        retry_in = max(0.0, float(state.get(b"open_until", 0)) - time.time())
        return Outage(state.get(b"reason", b"").decode(), retry_in)


@dataclass(frozen=True)
class Outage:
    reason: str
    retry_in: float  # seconds until the next call; 0 while the calls are being retried

    def describe(self, provider: str) -> str:
        when = f"retrying in {self.retry_in:.0f} s" if self.retry_in >= 1 else "retrying"
        return f"{provider} is not answering ({self.reason}); {when}" if self.reason else \
            f"{provider} is not answering; {when}"
