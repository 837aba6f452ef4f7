"""A batch's status, derived from its image states on every read (pure: no Redis), so no
second copy can drift: each row's status and result, counts that always add up, and what the
person may do with the batch now — every surface (the web list, the API, the add-in's sidebar)
shows the actions computed here and spells no status itself."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from server.batches.record import Batch, Control
from server.sheet.results import RowResult
from server.sheet.statuses import COUNT_NAMES, FINISHED, SETTLED, BatchStatus, RowStatus

COMPACT_FAILED_ROWS = 50  # a poll's answer stays under 2 KB whatever the batch size
COMPACT_ERROR_CHARS = 200


class Action(StrEnum):
    """What a person may do with a batch (the API's and the web's action names)."""
    STOP = "stop"
    RESUME = "resume"  # make what a stop left
    RETRY = "retry"  # make the failed images again
    DELETE = "delete"
    DOWNLOAD = "download"  # the ZIP, the gallery


REFUSALS = {
    Action.STOP: "This batch has finished: there is nothing to stop.",
    Action.RESUME: "This batch has nothing to resume: only a stopped batch with images left "
                   "to make can be resumed.",
    Action.RETRY: "This batch has no failed images to retry (or is still running).",
    Action.DELETE: "Stop the batch first: a batch is deleted once it has finished or stopped.",
    Action.DOWNLOAD: "This batch has no images to download yet.",
}

# How each status reads and looks, and what its end says (the sidebar and the web show these).
LABELS = {status: status.replace("_", " ").capitalize() for status in BatchStatus}
TONES = {BatchStatus.COMPLETED: "ok", BatchStatus.FAILED: "bad",
         BatchStatus.COMPLETED_WITH_ERRORS: "warn", BatchStatus.STOPPING: "warn",
         BatchStatus.STOPPED: "idle", BatchStatus.QUEUED: "run", BatchStatus.RUNNING: "run"}


@dataclass
class BatchProgress:
    id: str
    status: BatchStatus
    counts: dict[str, int]  # rows
    images: dict[str, int]
    rows: dict[int, RowResult]
    batch: Batch

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def paused(self) -> str | None:
        """Why the batch stopped on its own (storage, the provider account), in one line for
        every surface; None once resumed."""
        return self.batch.paused

    @property
    def actions(self) -> list[Action]:
        """What the person may do with the batch now, in the order surfaces show them."""
        allowed = {
            Action.STOP: self.status in (BatchStatus.QUEUED, BatchStatus.RUNNING),
            Action.RESUME: self.status == BatchStatus.STOPPED
            and self.images["stopped"] + self.images["pending"] > 0,
            Action.RETRY: self.finished and self.images["failed"] > 0,
            Action.DOWNLOAD: self.images["done"] > 0,
            Action.DELETE: self.finished,
        }
        return [action for action, yes in allowed.items() if yes]

    def refusal(self, action: Action) -> str | None:
        """Why the person may not do `action` now, in one line; None when they may. A stop of
        a batch already stopping or stopped is no refusal: the second click changes nothing."""
        if action in self.actions or (action is Action.STOP and self.status in (
                BatchStatus.STOPPING, BatchStatus.STOPPED)):
            return None
        return REFUSALS[action]

    def outcome(self) -> dict[str, str] | None:
        """How a finished batch's end is announced: the sentence, the words that follow its
        title in a one-line notice, and the level (info for news, notice for the person's own
        stop, error when images failed); None while it runs."""
        done, failed = self.images["done"], self.images["failed"]
        ends = {
            BatchStatus.COMPLETED: (f"Batch complete: {_images(done)} ready to download.",
                                    "info"),
            BatchStatus.COMPLETED_WITH_ERRORS: (
                f"Batch finished: {done} images made, {failed} failed. Retry the failed ones "
                "or download what was made.", "error"),
            BatchStatus.STOPPED: ("Batch stopped. Resume it to make the rest.", "notice"),
            BatchStatus.FAILED: ("The batch failed. Nothing made so far is lost.", "error"),
        }
        if self.status not in ends:
            return None
        text, level = ends[self.status]
        short = ("is complete" if self.status == BatchStatus.COMPLETED
                 else f"finished: {LABELS[self.status].lower()}")
        return {"text": text, "short": short, "level": level}

    def presented(self) -> dict[str, Any]:
        """What every status answer carries for surfaces to show the batch without knowing
        its statuses: the label, the badge's tone, the allowed actions, and its end."""
        return {"label": LABELS[self.status], "tone": TONES[self.status],
                "actions": [str(action) for action in self.actions], "outcome": self.outcome()}

    def as_dict(self, with_rows: bool = True) -> dict[str, Any]:
        data = {"id": self.id, "status": self.status, "paused": self.paused, "counts": self.counts,
                "images": self.images, "provider": self.batch.provider,
                "title": self.batch.title, "created": self.batch.created,
                "finished": self.finished, **self.presented(), **self.sheet()}
        if with_rows:
            data["rows"] = [{"row": r.row, "status": r.status, "error": r.error,
                             "images": [image.get("name") for image in r.images
                                        if image.get("name")],
                             "used_seed": r.seeds or None, "used_size": r.sizes or None,
                             "used_prompt": r.used_prompt}
                            for r in self.rows.values()]
        return data


    def compact(self) -> dict[str, Any]:
        """What the sidebar polls: counts, the first failed rows and one error, the sheet."""
        failed = [r for r in self.rows.values() if r.status == RowStatus.FAILED]
        error = next((r.error for r in failed if r.error), None)
        return {"id": self.id, "status": self.status, "finished": self.finished,
                "paused": self.paused, "counts": self.counts, "images": self.images,
                "title": self.batch.title[:100], **self.presented(),
                "failed_rows": [r.row for r in failed[:COMPACT_FAILED_ROWS]],
                "first_error": error[:COMPACT_ERROR_CHARS] if error else None, **self.sheet()}

    def sheet(self) -> dict[str, Any]:
        """Where a sheet batch lives, and how its status write-back is doing."""
        sheet = self.batch.sheet
        if sheet is None:
            return {}
        return {"spreadsheet_id": sheet.spreadsheet_id, "sheet_id": sheet.sheet_id,
                "writeback": {"state": self.batch.writeback.value,
                              "message": self.batch.writeback_message}}


def _images(count: int) -> str:
    return f"{count} image" + ("" if count == 1 else "s")


def derive_status(batch: Batch, states: dict[tuple[int, int], str],
                  results: dict[tuple[int, int], dict]) -> BatchProgress:
    by_row: dict[int, list[int]] = {}
    for row, index in sorted(states):
        by_row.setdefault(row, []).append(index)
    rows = {row: _row_result(row, [(i, states[(row, i)], results.get((row, i), {}))
                                   for i in indexes])
            for row, indexes in by_row.items()}
    counts = _count(result.status for result in rows.values())
    images = _count(states.values())
    return BatchProgress(batch.id, _batch_status(batch.control, states, counts),
                         counts, images, rows, batch)


def _count(statuses) -> dict[str, int]:
    counts = dict.fromkeys(COUNT_NAMES, 0)
    for status in statuses:
        counts["total"] += 1
        counts[status if status in counts else "pending"] += 1
    return counts


def _row_result(row: int, images: list[tuple[int, str, dict]]) -> RowResult:
    states = {state for _, state, _ in images}
    if states <= {RowStatus.DONE}:
        status = RowStatus.DONE
    elif states <= SETTLED:
        status = RowStatus.FAILED
    elif RowStatus.GENERATING in states:
        status = RowStatus.GENERATING
    elif RowStatus.STOPPED in states and RowStatus.QUEUED not in states:
        status = RowStatus.STOPPED
    else:
        status = RowStatus.QUEUED
    settled = [dict(result, index=index) for index, state, result in images if state in SETTLED]
    failure = next((image for image in settled if image.get("error")), {})
    return RowResult(row, status, [image for image in settled if image.get("name")],
                     failure.get("error"), bool(failure.get("retryable")))


def _batch_status(control: Control, states: dict, counts: dict[str, int]) -> BatchStatus:
    values = set(states.values())
    if values <= SETTLED:
        if counts["failed"] == 0:
            return BatchStatus.COMPLETED
        return BatchStatus.FAILED if counts["done"] == 0 else BatchStatus.COMPLETED_WITH_ERRORS
    if control is Control.STOPPING:
        return BatchStatus.STOPPING if RowStatus.GENERATING in values else BatchStatus.STOPPED
    return BatchStatus.RUNNING if values - {RowStatus.QUEUED} else BatchStatus.QUEUED
