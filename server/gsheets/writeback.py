"""Status write-back into Google Sheets, coalesced: workers only mark rows dirty in Redis; one
flusher per spreadsheet sends ONE request per interval (values:batchUpdateByDataFilter, each row
found by its anchor), whatever the worker count; the interval stretches as more sheets are
active, so that all of them keep within a shared request budget (`pacing`).

A write that fails puts its rows back to dirty and backs off, so nothing is lost. Without a
live token of the person's (and no service account), rows wait, and the batch says so
(`writeback` = waiting_for_person) until the add-in sends a fresh token. A sheet that is gone or
no longer shared (403/404) is permanent: write-back stops for the batch, with a message.
"""
from __future__ import annotations

import json
import logging
import time
from collections import Counter
from typing import Any, Callable

import gspread
import redis

from server.batches import keys
from server.batches.record import BatchKeys, WriteBackState
from server.batches.store import Batches, BatchNotFound
from server.config import Settings
from server.gsheets.cells import within_cell
from server.gsheets.client import (
    RETRY_AFTER_CAP,
    SheetAccessError,
    retry_after,
    service_account_client,
    sheets_client,
    status_of,
)
from server.gsheets.grid import SheetGrid
from server.gsheets.pacing import SheetsPacing
from server.gsheets.tokens import forget_token, token_for
from server.links import Signer
from server.sheet.results import result_cells
from server.sheet.statuses import BatchStatus

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60.0
# Row anchors (developer metadata, limited per sheet) go when a batch finishes: at once when
# every row is done, after a day when rows may still be resumed or retried into their rows.
RESUMABLE_ANCHOR_SECONDS = 86400
ANCHOR_GIVE_UP_SECONDS = 30 * 86400  # no token came back for this long: leave them
WAITING_MESSAGE = ("Status is waiting for you: open the sheet's Batch images sidebar (or keep the "
                   "sheet's hourly refresh installed) so we can write it.")
ROW_REFUSED = "Status could not be written to this row: Google Sheets refused it"
FLUSH_LOCK_SECONDS = 300  # longer than any one Sheets request; frees itself if a flusher dies
COLUMNS_MEMORY = 300  # seconds the result columns' places are trusted without a new look-up
IDLE_CHECK_SECONDS = 2.0  # how often a sheet with nothing to write is checked for finished batches
LAST_FLUSH_MEMORY = 3600  # seconds a sheet's last flush time orders it among the waiting


class WriteBack:
    def __init__(self, batches: Batches, settings: Settings, signer: Signer,
                 client_factory: Callable[[str | None], gspread.Client] | None = None):
        self.batches = batches
        self.redis = batches.redis
        self.settings = settings
        self.signer = signer
        self.client_factory = client_factory or self._client
        self.pacing = SheetsPacing(self.redis, settings.sheets_requests_per_minute,
                                   settings.flush_interval)

    def _client(self, token: str | None) -> gspread.Client:
        """The owner's token while it lasts, then the service account: only sheet batches are
        registered here, and starting one took the owner's own token (`SheetBatches.start`)."""
        return sheets_client(token, self.settings) if token else \
            service_account_client(self.settings)

    def register(self, batch_id: str) -> None:
        self.redis.sadd(keys.SHEET_BATCHES, batch_id)
        self.redis.zrem(keys.ANCHORS_TO_CLEAR, batch_id)

    def started(self, batch_id: str, columns: dict[str, int]) -> None:
        """A new batch writes into its sheet, its result columns where its start put them: its
        first flush, like every other, is ONE request."""
        self.register(batch_id)
        sheet = self.batches.get(batch_id).sheet
        self.redis.set(keys.result_columns(sheet.spreadsheet_id, sheet.tab_key),
                       json.dumps(columns), ex=COLUMNS_MEMORY)

    def flush_due(self) -> None:
        """Flush the spreadsheets with rows to write whose turn has come, longest-waiting first
        (a sheet whose batch just started or changed after a quiet spell goes first), as long
        as the shared request budget (`pacing`) has room; the others wait for a later pass."""
        sheets = self._sheets()
        per_owner = Counter(owner for _, _, owner in sheets)
        waiting = []
        for sheet, batch_ids in sheets.items():
            if any(self.batches.has_rows_to_write(b) for b in batch_ids):
                waiting.append(sheet)
            elif self.redis.set(keys.flush(sheet[0], "idle"), 1, nx=True,
                                px=int(IDLE_CHECK_SECONDS * 1000)):
                self._locked(sheet[0], lambda: self._forget_finished(batch_ids, {}))
        last = self.redis.mget([keys.flush(s[0], "last") for s in waiting]) if waiting else []
        for (spreadsheet_id, sheet_id, owner), _ in sorted(zip(waiting, last),
                                                          key=lambda pair: float(pair[1] or 0)):
            interval = self.pacing.interval(len(sheets), per_owner[owner])
            if self._take_turn(spreadsheet_id, sheet_id, owner, interval):
                batch_ids = sheets[(spreadsheet_id, sheet_id, owner)]
                self._locked(spreadsheet_id,
                             lambda: self.flush(spreadsheet_id, sheet_id, owner, batch_ids))

    def _locked(self, spreadsheet_id: str, duty: Callable[[], Any]) -> None:
        """Do `duty` unless another process holds the spreadsheet's flush lock. One flush at a
        time per spreadsheet, even when one outlasts the interval: a write computed earlier
        must never land after, and over, a newer one; and a batch is never forgotten while a
        flush of its rows is out (if that fails, the rows come back and must still be written)."""
        lock = self.redis.lock(keys.flush(spreadsheet_id, "lock"), timeout=FLUSH_LOCK_SECONDS)
        if lock.acquire(blocking=False):
            try:
                duty()
            finally:
                lock.release()

    def _sheets(self) -> dict[tuple[str, str, str], list[str]]:
        """(spreadsheet, sheet, owner) → the batches writing into it."""
        by_sheet: dict[tuple[str, str, str], list[str]] = {}
        for raw in self.redis.smembers(keys.SHEET_BATCHES):
            batch_id = raw.decode()
            batch = self.batches.get(batch_id)
            key = (batch.sheet.spreadsheet_id, batch.sheet.tab_key, batch.owner)
            by_sheet.setdefault(key, []).append(batch_id)
        return by_sheet

    def _take_turn(self, spreadsheet_id: str, sheet_id: str, owner: str,
                   interval: float) -> bool:
        """At most one flush per spreadsheet per interval, across all processes, and only with
        room in the request budget (two requests when the result columns must be looked up);
        the turn key is left to expire, which is what spaces the writes."""
        if self.redis.exists(keys.flush(spreadsheet_id, "backoff"),
                             keys.flush(spreadsheet_id, "turn")):
            return False
        cost = 1 if self.redis.exists(keys.result_columns(spreadsheet_id, sheet_id)) else 2
        if not self.pacing.take(owner, cost):
            return False
        return bool(self.redis.set(keys.flush(spreadsheet_id, "turn"), 1, nx=True,
                                   px=int(interval * 1000)))

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
            # No retries inside a flush: a failed write waits for the next turn (with back-off,
            # at least as long as a 429's Retry-After) and is then sent with fresh values.
            grid = SheetGrid(client, spreadsheet_id, int(sheet_id) if sheet_id else None,
                             retry={"attempts": 1})
            try:
                grid.write_results(results, self._columns(grid, sheet_id))
            except gspread.exceptions.APIError as error:
                if status_of(error) != 400:
                    raise
                # The person may have moved or deleted columns: look them up again first.
                self.redis.delete(keys.result_columns(spreadsheet_id, sheet_id))
                columns = self._columns(grid, sheet_id)
                try:
                    grid.write_results(results, columns)
                except gspread.exceptions.APIError as refusal:
                    if status_of(refusal) != 400:
                        raise
                    self._write_around_refused(grid, results, columns, refusal)
        except SheetAccessError as error:
            if error.status == 401:  # the token died early (revoked): ask for a fresh one
                forget_token(self.redis, owner)
                return self._wait_for_person(dirty)
            return self._stop(dirty, str(error))
        except Exception as error:  # keep every row for the next turn, whatever went wrong
            self._put_back(dirty)
            self.redis.delete(keys.result_columns(spreadsheet_id, sheet_id))
            self._back_off(spreadsheet_id, error)
            return 0
        self.redis.delete(keys.flush(spreadsheet_id, "failures"))
        self.redis.set(keys.flush(spreadsheet_id, "last"), time.time(), ex=LAST_FLUSH_MEMORY)
        for batch_id in dirty:
            if self.batches.get(batch_id).writeback is not WriteBackState.OK:
                self.batches.note_writeback(batch_id, WriteBackState.OK)
        return sum(len(rows) for rows in dirty.values())

    def _write_around_refused(self, grid: SheetGrid, results: dict[str, dict[int, dict]],
                              columns: dict[str, int],
                              refusal: gspread.exceptions.APIError) -> None:
        """Google refused the flush as a whole (a 400: one row it will not take fails every
        row, on every retry): find the refused rows by halves, write every other row, and put
        on each refused row why its status is missing. Never retried: a row whose explanation
        is refused too is left as it is (and logged)."""
        for batch_id, row, reason in _refused_rows(grid, results, columns, refusal):
            explanation = {"error": within_cell(f"{ROW_REFUSED} ({reason})")}
            try:
                grid.write_results({batch_id: {row: explanation}}, columns)
            except gspread.exceptions.APIError as error:
                if status_of(error) != 400:
                    raise
                log.warning("sheet write-back: Google refused row %s of batch %s, and its "
                            "explanation (%s)", row, batch_id, reason)

    def _columns(self, grid: SheetGrid, sheet_id: str) -> dict[str, int]:
        """Where the result columns are: as the batch's start placed them, else looked up (one
        request), and kept, so that each flush is ONE request; forgotten when a write fails and
        after COLUMNS_MEMORY (in case the person moved columns)."""
        key = keys.result_columns(grid.spreadsheet_id, sheet_id)
        cached = self.redis.get(key)
        if cached is not None:
            return json.loads(cached)
        columns = grid.result_columns()
        self.redis.set(key, json.dumps(columns), ex=COLUMNS_MEMORY)
        return columns

    def _put_back(self, dirty: dict[str, set[int]]) -> None:
        for batch_id, rows in dirty.items():
            self.batches.mark_dirty(batch_id, rows)

    def _wait_for_person(self, dirty: dict[str, set[int]]) -> int:
        """No back-off: the first flush after a fresh token arrives writes everything."""
        self._put_back(dirty)
        for batch_id in dirty:
            self.batches.note_writeback(batch_id, WriteBackState.WAITING, WAITING_MESSAGE)
        return 0

    def _stop(self, dirty: dict[str, set[int]], message: str) -> int:
        for batch_id in dirty:
            self.batches.note_writeback(
                batch_id, WriteBackState.STOPPED,
                f"Status is no longer written to the sheet: {message}")
            self.redis.srem(keys.SHEET_BATCHES, batch_id)
        log.warning("sheet write-back stopped for %s: %s", ", ".join(dirty), message)
        return 0

    def cells(self, batch_id: str, rows: set[int]) -> dict[int, dict[str, Any]]:
        status = self.batches.status(batch_id)
        base = status.batch.public_url.rstrip("/")
        requests = self.batches.requests(batch_id)
        cells = {}
        for row in rows:
            if row not in status.rows:
                continue
            private = requests[row].visibility == "private"
            cells[row] = result_cells(
                status.rows[row],
                link=lambda image: self.signer.image_url(base, batch_id, image["name"], private),
                preview=lambda image: self.signer.thumb_url(base, batch_id, image["name"]))
        return cells

    def _forget_finished(self, batch_ids: list[str], dirty: dict) -> None:
        """A finished batch whose rows are all written leaves write-back; its anchors are
        due to be cleared."""
        for batch_id in batch_ids:
            if batch_id not in dirty:
                self._forget_if_finished(batch_id)

    def _forget_if_finished(self, batch_id: str) -> None:
        """Only while no row is waiting: a row marked dirty meanwhile (the last image of the
        batch, say) aborts the transaction, and the batch stays for the next pass."""
        with self.redis.pipeline() as pipe:
            try:
                pipe.watch(BatchKeys(batch_id).part("dirty"))
                if pipe.exists(BatchKeys(batch_id).part("dirty")):
                    return
                status = self.batches.status(batch_id)
                if not status.finished:
                    return
                wait = 0 if status.status == BatchStatus.COMPLETED else RESUMABLE_ANCHOR_SECONDS
                pipe.multi()
                pipe.srem(keys.SHEET_BATCHES, batch_id)
                pipe.zadd(keys.ANCHORS_TO_CLEAR, {batch_id: time.time() + wait})
                pipe.execute()
            except redis.WatchError:
                return

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
            batch = self.batches.get(batch_id)
        except BatchNotFound:
            return True
        token = token_for(self.redis, batch.owner)
        if token is None and not self.settings.service_account_file:
            return False
        if not self.pacing.take(batch.owner):
            return False  # no room in the request budget now: the next sweep
        spreadsheet_id = batch.sheet.spreadsheet_id
        grid = SheetGrid(self.client_factory(token), spreadsheet_id, retry={"attempts": 1})
        try:
            grid.clear_batch_anchors(batch_id, columns_too=not self._others_on(
                spreadsheet_id, batch_id))
        except SheetAccessError as error:
            return error.status != 401
        except Exception as error:  # transient: the next sweep tries again
            log.warning("clearing row anchors of %s failed (%s)", batch_id, type(error).__name__)
            return False
        return True

    def _others_on(self, spreadsheet_id: str, batch_id: str) -> bool:
        """Whether another batch still writes into, or may resume on, this spreadsheet (and so
        needs its result columns' anchors). A batch started meanwhile finds its columns by
        their headers (SheetGrid.result_columns)."""
        others = {raw.decode() for raw in self.redis.smembers(keys.SHEET_BATCHES)}
        others |= {raw.decode() for raw in self.redis.zrange(keys.ANCHORS_TO_CLEAR, 0, -1)}
        others.discard(batch_id)
        for other in others:
            try:
                sheet = self.batches.get(other).sheet
                if sheet is not None and sheet.spreadsheet_id == spreadsheet_id:
                    return True
            except BatchNotFound:
                continue
        return False

    def _back_off(self, spreadsheet_id: str, error: Exception) -> None:
        """Wait before the next flush of this sheet: exponential, and never less than what a
        429's Retry-After asks. Nobody sleeps: the sheet's turn is simply not taken."""
        failures = self.redis.incr(keys.flush(spreadsheet_id, "failures"))
        self.redis.expire(keys.flush(spreadsheet_id, "failures"), 3600)
        wait = min(MAX_BACKOFF_SECONDS, self.settings.flush_interval * 2 ** failures)
        wait = max(wait, min(retry_after(error) or 0, RETRY_AFTER_CAP))
        self.redis.set(keys.flush(spreadsheet_id, "backoff"), 1, px=int(wait * 1000))
        log.warning("sheet write-back failed (%s); retrying in %.0f s",
                    type(error).__name__, wait)


def _refused_rows(grid: SheetGrid, results: dict[str, dict[int, dict]], columns: dict[str, int],
                  refusal: gspread.exceptions.APIError) -> list[tuple[str, int, str]]:
    """(batch, row, Google's reason) of each row Google refuses, found by writing halves of a
    refused flush (about 2·log2(rows) requests per refused row); every other row is written
    on the way."""
    refused = []
    pending = [([(batch_id, row) for batch_id, rows in results.items() for row in rows], refusal)]
    while pending:
        rows, why = pending.pop()
        if len(rows) == 1:
            refused.append((*rows[0], str(why.error.get("message") or "HTTP 400")))
            continue
        half = len(rows) // 2
        for part in (rows[:half], rows[half:]):
            try:
                grid.write_results(_only(results, part), columns)
            except gspread.exceptions.APIError as error:
                if status_of(error) != 400:
                    raise
                pending.append((part, error))
    return refused


def _only(results: dict[str, dict[int, dict]], rows: list[tuple[str, int]]
          ) -> dict[str, dict[int, dict]]:
    chosen: dict[str, dict[int, dict]] = {}
    for batch_id, row in rows:
        chosen.setdefault(batch_id, {})[row] = results[batch_id][row]
    return chosen
