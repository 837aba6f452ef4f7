"""The Sheets request budget of write-back, shared in Redis by every worker process on every
machine: all sheets together keep under a share of the project's quota (Google: 300 writes a
minute per project), each person's sheets under a share of that person's (60 a minute per user,
which the sidebar and validation share), and the interval between two flushes of one sheet
stretches evenly as more sheets are active."""
from __future__ import annotations

import uuid

from redis import Redis

from server.batches import keys

WINDOW_MS = 60_000
# Of a person's 60 requests a minute, write-back leaves 20 for the sidebar, validation and starts.
PERSON_REQUESTS_PER_MINUTE = 40

# Sliding one-minute windows (sorted sets of request ids scored by Redis time in ms): take
# ARGV[3] requests only if both windows have room for them, so no process can overspend.
# KEYS[1] the project's window, KEYS[2] the person's window.
# ARGV[1] project limit, ARGV[2] person limit, ARGV[3] how many, ARGV[4] window ms, ARGV[5] an id.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[3])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - tonumber(ARGV[4]))
  if redis.call('ZCARD', key) + n > tonumber(ARGV[i]) then return 0 end
end
for _, key in ipairs(KEYS) do
  for i = 1, n do redis.call('ZADD', key, now, ARGV[5] .. ':' .. i) end
  redis.call('PEXPIRE', key, ARGV[4])
end
return 1
"""


class SheetsPacing:
    def __init__(self, redis: Redis, project_per_minute: int, floor_seconds: float):
        self.redis = redis
        self.project_per_minute = project_per_minute
        self.floor_seconds = floor_seconds  # the shortest interval, with few sheets active
        self._take = redis.register_script(_TAKE)

    def take(self, owner: str, requests: int = 1) -> bool:
        """Book `requests` Sheets requests for `owner` now, if the project's and the person's
        last minute leave room for them."""
        return bool(self._take(keys=[keys.SHEETS_REQUESTS, keys.sheets_requests(owner)],
                               args=[self.project_per_minute, PERSON_REQUESTS_PER_MINUTE,
                                     requests, WINDOW_MS, uuid.uuid4().hex]))

    def interval(self, active_sheets: int, owner_sheets: int) -> float:
        """Seconds between two flushes of one sheet: each active sheet gets an equal share of
        the project's budget, and of its owner's."""
        return max(self.floor_seconds, 60.0 * active_sheets / self.project_per_minute,
                   60.0 * owner_sheets / PERSON_REQUESTS_PER_MINUTE)
