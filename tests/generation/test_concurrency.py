"""The shared in-flight limit on a real Redis: it follows the account's real limit once the
service says `inflight_limit`, and goes back to the setting when the refusals stop."""
from __future__ import annotations

from server.batches import keys
from server.generation.concurrency import CAP_SECONDS, ConcurrencyLimit


def held(limit: ConcurrencyLimit, count: int) -> list[str]:
    tokens = [f"call-{n}" for n in range(count)]
    assert all(limit.try_acquire(token) for token in tokens)
    return tokens


def test_each_refusal_lowers_the_limit_below_what_is_held(redis_conn):
    limit = ConcurrencyLimit(redis_conn, "account-a", limit=8, lease_seconds=15)
    tokens = held(limit, 8)
    # 8 calls at once against an organization with 5 free places: 3 are refused.
    assert [limit.narrow() for _ in range(3)] == [7, 6, 5]
    for token in tokens[:3]:  # the refused calls give their slots back
        redis_conn.zrem(keys.in_flight("account-a"), token)
    assert not limit.try_acquire("one-more")  # 5 held, 5 allowed: it waits instead of a 429
    assert 0 < redis_conn.ttl(keys.in_flight_cap("account-a")) <= CAP_SECONDS


def test_the_services_own_figure_bounds_the_limit(redis_conn):
    limit = ConcurrencyLimit(redis_conn, "account-b", limit=20, lease_seconds=15)
    held(limit, 12)
    assert limit.narrow(service_limit=10) == 10


def test_the_setting_returns_when_the_cap_lapses(redis_conn):
    limit = ConcurrencyLimit(redis_conn, "account-c", limit=4, lease_seconds=15)
    tokens = held(limit, 2)
    limit.narrow()
    redis_conn.zrem(keys.in_flight("account-c"), *tokens)
    assert held(limit, 1) and not limit.try_acquire("second")
    redis_conn.delete(keys.in_flight_cap("account-c"))  # what its expiry does after a minute
    assert limit.try_acquire("second") and limit.try_acquire("third")


def test_a_refusal_never_stops_every_call(redis_conn):
    limit = ConcurrencyLimit(redis_conn, "account-d", limit=3, lease_seconds=15)
    held(limit, 1)
    assert [limit.narrow() for _ in range(3)] == [1, 1, 1]
