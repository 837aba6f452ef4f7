"""Waiting before a retry, as both our HTTP clients (image providers and Sheets) do it."""
from __future__ import annotations

import email.utils
import random
import time


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retry_delay(attempt: int, asked: float | None, *, base: float, max_wait: float,
                max_asked: float) -> float:
    """Seconds to wait before retry number `attempt` (0-based): what the server asked for (never
    more than `max_asked`), else truncated exponential backoff with jitter, as Google
    recommends: base * 2^attempt plus up to one `base` of random spread, at most `max_wait`."""
    if asked is not None:
        return min(asked, max_asked)
    return min(max_wait, base * 2 ** attempt + random.uniform(0, base))
