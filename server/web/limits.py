"""At most MAX_REQUESTS_IN_PROGRESS requests per person at a time, across every web process: one
person's burst of slow calls (each may wait on Google) cannot take every thread from the rest."""
from __future__ import annotations

import secrets
import time

import redis

from server.batches import keys

MAX_REQUESTS_IN_PROGRESS = 4
STALE_SECONDS = 300  # a request still listed after this died without saying so


class TooBusy(Exception):
    """The person already has MAX_REQUESTS_IN_PROGRESS requests running."""

    retry_after = 2


def enter(connection: redis.Redis, person: str) -> str:
    """Count one more request of the person's; returns its ticket for `leave`, or raises TooBusy."""
    ticket, now, key = secrets.token_hex(8), time.time(), keys.busy(person)
    with connection.pipeline() as pipe:  # MULTI/EXEC: forget the dead, join, count, at once
        pipe.zremrangebyscore(key, "-inf", now - STALE_SECONDS)
        pipe.zadd(key, {ticket: now})
        pipe.expire(key, STALE_SECONDS)
        pipe.zrank(key, ticket)
        rank = pipe.execute()[-1]
    if rank >= MAX_REQUESTS_IN_PROGRESS:
        connection.zrem(key, ticket)
        raise TooBusy(f"You already have {MAX_REQUESTS_IN_PROGRESS} requests in progress; "
                      "wait for one to finish and try again.")
    return ticket


def leave(connection: redis.Redis, person: str, ticket: str) -> None:
    connection.zrem(keys.busy(person), ticket)
