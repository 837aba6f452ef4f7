"""Every Redis key sheetbatch uses, in one place (all under the `sb:` prefix).

Batch keys (hashes and sets under `sb:b:<batch id>`) are listed in `server.batches.store`; the
rest belong to the module named beside each.
"""
from __future__ import annotations

PREFIX = "sb:"

ACTIVE_BATCHES = "sb:active"              # set: batches with images still to make (store, reaper)
BUDGETED_BATCHES = "sb:budgeted"          # set: batches whose reservation is not yet settled
SHEET_BATCHES = "sb:sheet-batches"        # set: batches with rows to write back into a sheet


BATCH_PARTS = ("req", "state", "img", "reaps", "dirty", "jobs")


def batch(batch_id: str, part: str = "") -> str:
    """The batch's hash, or one of its parts (`req`, `state`, `img`, `reaps`, `dirty`, `jobs`)."""
    return f"sb:b:{batch_id}" + (f":{part}" if part else "")


def claim(batch_id: str, row: int, index: int) -> str:
    """The lease of the worker making that image (a string: the worker's token)."""
    return f"sb:claim:{batch_id}:{row}:{index}"


def owner_batches(owner: str) -> str:
    """Sorted set of the person's batches, scored by creation time."""
    return f"sb:owner:{owner}"


def budget(owner: str, month: str) -> str:
    """Hash of the person's spending in one month: spent, reserved (money.budget)."""
    return f"sb:budget:{owner}:{month}"


def in_flight(limit_key: str) -> str:
    """Sorted set of calls in flight to one provider account (generation.concurrency)."""
    return f"sb:inflight:{limit_key}"


def sheets_token(owner: str) -> str:
    """The person's Google access token, for write-back (gsheets.tokens)."""
    return f"sb:token:{owner}"


def upload(upload_id: str) -> str:
    """An uploaded file: owner and path (web.upload_store)."""
    return f"sb:upload:{upload_id}"


def duty(name: str) -> str:
    """Whose turn a housekeeping duty is (workers.housekeeping)."""
    return f"sb:duty:{name}"


def flush(spreadsheet_id: str, part: str) -> str:
    """Write-back pacing for one spreadsheet: `turn`, `lock`, `backoff`, `failures`."""
    return f"sb:flush-{part}:{spreadsheet_id}"


def budget_owner_month(key: str) -> tuple[str, str]:
    """The person and month a `budget` key is for (months have no colon; emails may)."""
    owner, _, month = key.removeprefix("sb:budget:").rpartition(":")
    return owner, month


def budgets(month: str = "*") -> str:
    """A SCAN pattern matching every person's budget hash for the month (or every month)."""
    return budget("*", month)
