"""Every Redis key sheetbatch uses, in one place (all under the `sb:` prefix).

A batch's own keys (its record and parts under `sb:b:<batch id>`, and its image leases) are
named by `server.batches.record.BatchKeys`; the rest belong to the module named beside each.
"""
from __future__ import annotations

ACTIVE_BATCHES = "sb:active"              # set: batches with images still to make (store, reaper)
BUDGETED_BATCHES = "sb:budgeted"          # set: batches whose reservation is not yet settled
SHEET_BATCHES = "sb:sheet-batches"        # set: batches with rows to write back into a sheet
ANCHORS_TO_CLEAR = "sb:anchors-to-clear"  # sorted set: finished sheet batches, by when their row
                                          # anchors are to be deleted (gsheets.writeback)
SHEETS_REQUESTS = "sb:sheets-requests"    # sorted set: write-back's Sheets requests of the last
                                          # minute, all sheets together (gsheets.pacing)


def unsaved(place: str, row: int, index: int) -> str:
    """Hash: an image paid for but not stored (data, media_type, seed, …, fingerprint), by where
    it belongs (`place` names the storage folder), so the next attempt — of this batch or of a
    rerun into the same folder — stores it instead of paying again."""
    return f"sb:unsaved:{place}:{row}:{index}"


def unsaved_pattern(place: str) -> str:
    """Matches every `unsaved` hash of one storage folder."""
    return f"sb:unsaved:{place}:*"


def batch_queue(account: str, batch_id: str) -> str:
    """The RQ queue (name) of one batch's jobs; workers serve only their accounts' batches."""
    return f"sheetbatch:{account}:{batch_id}"


def account_queues(account: str) -> str:
    """Set of the RQ queue names of one provider account's active batches."""
    return f"sb:queues:{account}"


def breaker(account: str) -> str:
    """Hash: the circuit breaker of one provider account (failures, open_until, opened)."""
    return f"sb:breaker:{account}"


def breaker_probe(account: str) -> str:
    """Who may send the one probe call while the breaker is open."""
    return f"sb:breaker-probe:{account}"


def owner_batches(owner: str) -> str:
    """Sorted set of the person's batches, scored by creation time."""
    return f"sb:owner:{owner}"


def public_images(owner: str) -> str:
    """Sorted set of the person's public images made ("<batch id>/<file name>"), newest batch
    first, in sheet order: what their public gallery shows (batches.store)."""
    return f"sb:public:{owner}"


def public_indexed(owner: str) -> str:
    """Set once the person's batches made before the public index are in it (batches.store)."""
    return f"sb:public-indexed:{owner}"


def web_session(session_id: str) -> str:
    """The email a signed-in browser session stands for, until it ends or the person signs out
    (web.signin): deleting it signs out every copy of the session cookie."""
    return f"sb:session:{session_id}"


def public_handle(handle: str) -> str:
    """The email behind a public gallery's handle (web.pages)."""
    return f"sb:handle:{handle}"


def budget(owner: str, month: str) -> str:
    """Hash of the person's spending in one month: spent, reserved (money.budget)."""
    return f"sb:budget:{owner}:{month}"


def in_flight(limit_key: str) -> str:
    """Sorted set of calls in flight to one provider account (generation.concurrency)."""
    return f"sb:inflight:{limit_key}"


def in_flight_cap(limit_key: str) -> str:
    """The lower limit the provider account showed us it has (its in-flight refusals), for a
    while (generation.concurrency)."""
    return f"sb:inflight-cap:{limit_key}"


def sheets_token(owner: str) -> str:
    """The person's Google access token, for write-back (gsheets.tokens)."""
    return f"sb:token:{owner}"


def marks(spreadsheet_id: str, sheet_id: int) -> str:
    """JSON: what our validation marks on one sheet covered, to undo them (gsheets.marks)."""
    return f"sb:marks:{spreadsheet_id}:{sheet_id}"


def start_request(owner: str, request_id: str) -> str:
    """The batch a client's start request made ("starting" while it runs), so a retried
    POST /api/batches never starts a second batch (web.api)."""
    return f"sb:start:{owner}:{request_id}"


def upload_start(owner: str, upload_id: str) -> str:
    """The batch an uploaded file started ("starting" while it starts), so Start pressed again
    (browser Back, a double click) opens that batch instead of paying twice (batches.launcher)."""
    return f"sb:start-upload:{owner}:{upload_id}"


def upload(upload_id: str) -> str:
    """An uploaded file: owner and path (uploads.store)."""
    return f"sb:upload:{upload_id}"


def owner_uploads(owner: str) -> str:
    """Sorted set of the person's pending uploads, scored by arrival (uploads.store)."""
    return f"sb:uploads:{owner}"


def upload_count(owner: str) -> str:
    """How many files the person uploaded in the current hour (uploads.store)."""
    return f"sb:upload-count:{owner}"


def busy(person: str) -> str:
    """Sorted set of the person's requests in progress, scored by start (web.limits)."""
    return f"sb:busy:{person}"


def duty(name: str) -> str:
    """Whose turn a housekeeping duty is (workers.housekeeping)."""
    return f"sb:duty:{name}"


def sheets_requests(owner: str) -> str:
    """Sorted set: write-back's Sheets requests of the last minute for one person (pacing)."""
    return f"sb:sheets-requests:{owner}"


def flush(spreadsheet_id: str, part: str) -> str:
    """Write-back pacing for one spreadsheet: `turn`, `lock`, `backoff`, `failures`, `last`
    (when it was last written), `idle` (when it was last checked for finished batches)."""
    return f"sb:flush-{part}:{spreadsheet_id}"


def budget_owner_month(key: str) -> tuple[str, str]:
    """The person and month a `budget` key is for (months have no colon; emails may)."""
    owner, _, month = key.removeprefix("sb:budget:").rpartition(":")
    return owner, month


def budgets(month: str = "*") -> str:
    """A SCAN pattern matching every person's budget hash for the month (or every month)."""
    return budget("*", month)
def result_columns(spreadsheet_id: str, sheet_id: str) -> str:
    """Where write-back last knew one sheet's result columns (JSON name → column)."""
    return f"sb:result-columns:{spreadsheet_id}:{sheet_id}"
