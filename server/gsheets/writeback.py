"""Status write-back into Google Sheets, coalesced: workers only mark rows dirty in Redis; one
flusher per spreadsheet sends one batched write per interval, whatever the worker count.

A write that fails puts its rows back to dirty and backs off, so nothing is lost. Without a
live token of the person's (and no service account), rows wait, and the batch says so
(`writeback` = waiting_for_person) until the add-in sends a fresh token. A sheet that is gone or
no longer shared (403/404) is permanent: write-back stops for the batch, with a message.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

import gspread

from server.batches import keys
from server.batches.store import BatchNotFound, Batches
from server.config import Settings
from server.gsheets.client import SheetAccessError, service_account_client, sheets_client
from server.gsheets.grid import SheetGrid
from server.gsheets.tokens import forget_token, token_for
from server.sheet.results import result_cells
from server.sheet.statuses import BatchStatus
from server.web.links import Signer

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60.0
WRITING, WAITING, STOPPED = "ok", "waiting_for_person", "stopped"  # the batch's `writeback`
# Row anchors (developer metadata, limited per sheet) go when a batch finishes: at once when
# every row is done, after a day when rows may still be resumed or retried into their rows.
RESUMABLE_ANCHOR_SECONDS = 86400
ANCHOR_GIVE_UP_SECONDS = 30 * 86400  # no token came back for this long: leave them
WAITING_MESSAGE = ("Status is waiting for you: open the sheet's Batch images sidebar (or keep the "
                   "sheet's hourly refresh installed) so we can write it.")
FLUSH_LOCK_SECONDS = 300  # longer than any one Sheets request; frees itself if a flusher dies


class WriteBack:
    def __init__(self, batches: Batches, settings: Settings, signer: Signer,
                 client_factory: Callable[[str | None], gspread.Client] | None = None):
        self.batches = batches
        self.redis = batches.redis
        self.settings = settings
        self.signer = signer
        self.client_factory = client_factory or self._client

    def _client(self, token: str | None) -> gspread.Client:
        """The owner's token while it lasts, then the service account: only sheet batches are
        registered here, and starting one took the owner's own token (`SheetBatches.start`)."""
        return sheets_client(token, self.settings) if token else \
            service_account_client(self.settings)

    def register(self, batch_id: str) -> None:
        self.redis.sadd(keys.SHEET_BATCHES, batch_id)
        self.redis.zrem(keys.ANCHORS_TO_CLEAR, batch_id)

    def flush_due(self) -> None:
        """Flush every spreadsheet whose interval has passed and that no one else is flushing."""
        by_sheet: dict[tuple[str, str, str], list[str]] = {}
        for raw in self.redis.smembers(keys.SHEET_BATCHES):
            batch_id = raw.decode()
            fields = self.batches.fields(batch_id)
            key = (fields["spreadsheet_id"], fields.get("sheet_id", ""), fields["owner"])
            by_sheet.setdefault(key, []).append(batch_id)
        for (spreadsheet_id, sheet_id, owner), batch_ids in by_sheet.items():
            if not self._take_turn(spreadsheet_id):
                continue
            # One flush at a time per spreadsheet, even when one outlasts the interval: a write
            # computed earlier must never land after, and over, a newer one.
            lock = self.redis.lock(keys.flush(spreadsheet_id, "lock"), timeout=FLUSH_LOCK_SECONDS)
            if lock.acquire(blocking=False):
                try:
                    self.flush(spreadsheet_id, sheet_id, owner, batch_ids)
                finally:
                    lock.release()

    def _take_turn(self, spreadsheet_id: str) -> bool:
        """At most one flush per spreadsheet per interval, across all processes; the lock is
        left to expire, which is what spaces the writes."""
        if self.redis.exists(keys.flush(spreadsheet_id, "backoff")):
            return False
        interval_ms = int(self.settings.flush_interval * 1000)
        return bool(self.redis.set(keys.flush(spreadsheet_id, "turn"), 1, nx=True, px=interval_ms))

    def flush(self, spreadsheet_id: str, sheet_id: str, owner: str, batch_ids: list[str]) -> int:
        dirty = {batch_id: self.batches.take_dirty_rows(batch_id) for batch_id in batch_ids}
        dirty = {batch_id: rows for batch_id, rows in dirty.items() if rows}
        self._forget_finished(batch_ids, dirty)
        if not dirty:
            return 0
        results = {batch_id: self.cells(batch_id, rows) for batch_id, rows in dirty.items()}
        token = token_for(self.redis, owner)
        if token is None and not self.settings.service_account_file:
            return self._wait_for_person(dirty)
        try:
            client = self.client_factory(token)
            # No retries inside a flush: a failed write waits for the next turn (with back-off)
            # and is then sent with fresh values.
            grid = SheetGrid(client, spreadsheet_id, int(sheet_id) if sheet_id else None,
                             retry={"attempts": 1})
            grid.write_results(results)
        except SheetAccessError as error:
            if error.status == 401:  # the token died early (revoked): ask for a fresh one
                forget_token(self.redis, owner)
                return self._wait_for_person(dirty)
            return self._stop(dirty, str(error))
        except Exception as error:  # keep every row for the next turn, whatever went wrong
            self._put_back(dirty)
            self._back_off(spreadsheet_id, error)
            return 0
        self.redis.delete(keys.flush(spreadsheet_id, "failures"))
        for batch_id in dirty:
            if self.batches.fields(batch_id).get("writeback", WRITING) != WRITING:
                self.batches.note(batch_id, writeback=WRITING, writeback_message="")
        return sum(len(rows) for rows in dirty.values())

    def _put_back(self, dirty: dict[str, set[int]]) -> None:
        for batch_id, rows in dirty.items():
            self.batches.mark_dirty(batch_id, rows)

    def _wait_for_person(self, dirty: dict[str, set[int]]) -> int:
        """No back-off: the first flush after a fresh token arrives writes everything."""
        self._put_back(dirty)
        for batch_id in dirty:
            self.batches.note(batch_id, writeback=WAITING, writeback_message=WAITING_MESSAGE)
        return 0

    def _stop(self, dirty: dict[str, set[int]], message: str) -> int:
        for batch_id in dirty:
            self.batches.note(batch_id, writeback=STOPPED,
                              writeback_message=f"Status is no longer written to the sheet: "
                                                f"{message}")
            self.redis.srem(keys.SHEET_BATCHES, batch_id)
        log.warning("sheet write-back stopped for %s: %s", ", ".join(dirty), message)
        return 0

    def cells(self, batch_id: str, rows: set[int]) -> dict[int, dict[str, Any]]:
        status = self.batches.status(batch_id)
        base = status.fields.get("public_url", "").rstrip("/")
        requests = self.batches.requests(batch_id)
        cells = {}
        for row in rows:
            if row not in status.rows:
                continue
            private = requests[row].visibility == "private"
            cells[row] = result_cells(
                status.rows[row],
                link=lambda image: self.image_url(base, batch_id, image["name"], private),
                preview=lambda image: self.thumbnail_url(base, batch_id, image["name"]))
        return cells

    def image_url(self, base: str, batch_id: str, name: str, private: bool) -> str:
        return f"{base}/images/{self.signer.image_token(batch_id, name, private)}"

    def thumbnail_url(self, base: str, batch_id: str, name: str) -> str:
        """Inside =IMAGE() a link must not expire: a lasting signature."""
        return f"{base}/thumbs/{self.signer.image_token(batch_id, name, private=False)}"

    def _forget_finished(self, batch_ids: list[str], dirty: dict) -> None:
        """A finished batch whose rows are all written leaves write-back; its anchors are
        due to be cleared."""
        for batch_id in batch_ids:
            status = self.batches.status(batch_id)
            if batch_id not in dirty and status.finished:
                self.redis.srem(keys.SHEET_BATCHES, batch_id)
                wait = 0 if status.status == BatchStatus.COMPLETED else RESUMABLE_ANCHOR_SECONDS
                self.redis.zadd(keys.ANCHORS_TO_CLEAR, {batch_id: time.time() + wait})

    def clear_due_anchors(self, now: float | None = None) -> int:
        """Delete the row anchors of finished batches that are due (ONE write per batch);
        returns how many batches were cleared."""
        now = time.time() if now is None else now
        cleared = 0
        for raw, due in self.redis.zrangebyscore(keys.ANCHORS_TO_CLEAR, 0, now, withscores=True):
            batch_id = raw.decode()
            if self._clear_anchors(batch_id) or now - due > ANCHOR_GIVE_UP_SECONDS:
                self.redis.zrem(keys.ANCHORS_TO_CLEAR, batch_id)
                cleared += 1
        return cleared

    def _clear_anchors(self, batch_id: str) -> bool:
        """True when done with (cleared, or the sheet or batch is gone); False to try later."""
        try:
            fields = self.batches.fields(batch_id)
        except BatchNotFound:
            return True
        token = token_for(self.redis, fields["owner"])
        if token is None and not self.settings.service_account_file:
            return False
        grid = SheetGrid(self.client_factory(token), fields["spreadsheet_id"],
                         retry={"attempts": 1})
        try:
            grid.clear_batch_anchors(batch_id)
        except SheetAccessError as error:
            return error.status != 401
        except Exception as error:  # transient: the next sweep tries again
            log.warning("clearing row anchors of %s failed (%s)", batch_id, type(error).__name__)
            return False
        return True

    def _back_off(self, spreadsheet_id: str, error: Exception) -> None:
        failures = self.redis.incr(keys.flush(spreadsheet_id, "failures"))
        self.redis.expire(keys.flush(spreadsheet_id, "failures"), 3600)
        wait = min(MAX_BACKOFF_SECONDS, self.settings.flush_interval * 2 ** failures)
        self.redis.set(keys.flush(spreadsheet_id, "backoff"), 1, px=int(wait * 1000))
        log.warning("sheet write-back failed (%s); retrying in %.0f s",
                    type(error).__name__, wait)
