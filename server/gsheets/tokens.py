"""The person's Google access token, kept (briefly) so status can be written into their sheet
while the batch runs. It lives in Redis only until it expires and never reaches a log."""
from __future__ import annotations

import redis

from server.batches import keys

MAX_SECONDS = 3600


def store_token(connection: redis.Redis, owner: str, token: str, seconds: float) -> None:
    ttl = int(min(max(seconds, 1), MAX_SECONDS))
    connection.set(keys.sheets_token(owner), token, ex=ttl)


def token_for(connection: redis.Redis, owner: str) -> str | None:
    value = connection.get(keys.sheets_token(owner))
    return value.decode() if value else None


def forget_token(connection: redis.Redis, owner: str) -> None:
    connection.delete(keys.sheets_token(owner))
