"""Per-user monthly budgets: a batch reserves its estimate atomically before it starts, and is
charged for what was actually made when it settles, giving back the rest. Each reservation keeps
its own record (a hash whose key the caller names: the batch store's `reservation` part), so the
batch's record is written by the batch store alone."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from server.batches import keys

# Reserve only if spent + reserved + amount stays within the limit; atomic, so two concurrent
# starts cannot both pass.
# KEYS[1] the person's budget hash for the month, KEYS[2] the reservation's record
# ARGV[1] the amount, ARGV[2] the monthly limit. Returns 1 if reserved.
_RESERVE = """
local spent = tonumber(redis.call('HGET', KEYS[1], 'spent') or '0')
local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0')
if spent + reserved + tonumber(ARGV[1]) > tonumber(ARGV[2]) + 1e-9 then return 0 end
redis.call('HINCRBYFLOAT', KEYS[1], 'reserved', ARGV[1])
redis.call('HINCRBYFLOAT', KEYS[2], 'reserved', ARGV[1])
redis.call('HSET', KEYS[2], 'budget_key', KEYS[1])
return 1
"""

# Charge what the batch made since its last settlement and release its reservation; the
# reservation's own counters make this safe to call any number of times.
# KEYS[1] the reservation's record (it names its budget hash); ARGV[1] the cost of what it made
# so far.
_SETTLE = """
local key = redis.call('HGET', KEYS[1], 'budget_key')
if not key then return 0 end
local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0')
local charged = tonumber(redis.call('HGET', KEYS[1], 'charged') or '0')
local delta = tonumber(ARGV[1]) - charged
redis.call('HINCRBYFLOAT', key, 'reserved', -reserved)
redis.call('HINCRBYFLOAT', key, 'spent', delta)
redis.call('HSET', KEYS[1], 'reserved', 0, 'charged', ARGV[1])
return 1
"""


@dataclass
class BudgetState:
    limit: float
    spent: float
    reserved: float
    currency: str = "USD"

    @property
    def available(self) -> float:
        return round(max(0.0, self.limit - self.spent - self.reserved), 4)

    def as_dict(self) -> dict:
        return {"limit": self.limit, "spent": round(self.spent, 4),
                "reserved": round(self.reserved, 4), "available": self.available,
                "currency": self.currency}


class Budgets:
    """The monthly ledger, kept in the Redis given (any redis-py connection)."""

    def __init__(self, connection, monthly_limit: float, currency: str = "USD"):
        self.redis = connection
        self.limit = monthly_limit
        self.currency = currency
        self._reserve = connection.register_script(_RESERVE)
        self._settle = connection.register_script(_SETTLE)

    @staticmethod
    def key(owner: str, month: str | None = None) -> str:
        return keys.budget(owner, month or dt.date.today().strftime("%Y-%m"))

    def state(self, owner: str) -> BudgetState:
        values = self.redis.hgetall(self.key(owner))
        return BudgetState(self.limit, float(values.get(b"spent", 0)),
                           float(values.get(b"reserved", 0)), self.currency)

    def spending(self, month: str | None = None) -> list[tuple[str, str, BudgetState]]:
        """(person, month, state) for everyone who reserved or spent, in one month or all."""
        found = []
        for key in self.redis.scan_iter(match=keys.budgets(month or "*"), count=500):
            owner, key_month = keys.budget_owner_month(key.decode())
            values = self.redis.hgetall(key)
            found.append((owner, key_month, BudgetState(
                self.limit, float(values.get(b"spent", 0)), float(values.get(b"reserved", 0)),
                self.currency)))
        return sorted(found, key=lambda item: (item[1], item[0]))

    def reserve(self, owner: str, reservation: str, amount: float) -> bool:
        """Reserve `amount` of the person's month in the record `reservation` (a Redis key),
        atomically, if it fits the limit."""
        return bool(self._reserve(keys=[self.key(owner), reservation], args=[amount, self.limit]))

    def settle(self, reservation: str, cost_so_far: float) -> None:
        self._settle(keys=[reservation], args=[cost_so_far])
