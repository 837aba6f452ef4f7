"""A batch's status, derived from its image states on every read (pure: no Redis), so no
second copy can drift: each row's status and result, and counts that always add up."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.sheet.results import RowResult
from server.sheet.statuses import COUNT_NAMES, FINISHED, SETTLED, BatchStatus, RowStatus

COMPACT_FAILED_ROWS = 50  # a poll's answer stays under 2 KB whatever the batch size
COMPACT_ERROR_CHARS = 200


@dataclass
class BatchProgress:
    id: str
    status: BatchStatus
    counts: dict[str, int]  # rows
    images: dict[str, int]
    rows: dict[int, RowResult]
    fields: dict[str, str]

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def paused(self) -> str | None:
        """Why the batch stopped on its own (storage, the provider account), in one line for
        every surface; None once resumed."""
        return self.fields.get("paused") or None

    def as_dict(self, with_rows: bool = True) -> dict[str, Any]:
        data = {"id": self.id, "status": self.status, "paused": self.paused, "counts": self.counts,
                "images": self.images, "provider": self.fields.get("provider"),
                "title": self.fields.get("title"), "created": float(self.fields.get("created", 0)),
                "finished": self.finished, **self.sheet()}
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
                "title": (self.fields.get("title") or "")[:100],
                "failed_rows": [r.row for r in failed[:COMPACT_FAILED_ROWS]],
                "first_error": error[:COMPACT_ERROR_CHARS] if error else None, **self.sheet()}

    def sheet(self) -> dict[str, Any]:
        """Where a sheet batch lives, and how its status write-back is doing."""
        if self.fields.get("kind") != "sheet":
            return {}
        sheet_id = self.fields.get("sheet_id")
        return {"spreadsheet_id": self.fields.get("spreadsheet_id"),
                "sheet_id": int(sheet_id) if sheet_id else None,
                "writeback": {"state": self.fields.get("writeback", "ok"),
                              "message": self.fields.get("writeback_message", "")}}


def derive_status(batch_id: str, fields: dict[str, str], states: dict[tuple[int, int], str],
                  results: dict[tuple[int, int], dict]) -> BatchProgress:
    by_row: dict[int, list[int]] = {}
    for row, index in sorted(states):
        by_row.setdefault(row, []).append(index)
    rows = {row: _row_result(row, [(i, states[(row, i)], results.get((row, i), {}))
                                   for i in indexes])
            for row, indexes in by_row.items()}
    counts = _count(result.status for result in rows.values())
    images = _count(states.values())
    return BatchProgress(batch_id, _batch_status(fields.get("control"), states, counts),
                         counts, images, rows, fields)


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


def _batch_status(control: str | None, states: dict, counts: dict[str, int]) -> BatchStatus:
    values = set(states.values())
    if values <= SETTLED:
        if counts["failed"] == 0:
            return BatchStatus.COMPLETED
        return BatchStatus.FAILED if counts["done"] == 0 else BatchStatus.COMPLETED_WITH_ERRORS
    if control in ("stopping", "stopped"):
        return BatchStatus.STOPPING if RowStatus.GENERATING in values else BatchStatus.STOPPED
    return BatchStatus.RUNNING if values - {RowStatus.QUEUED} else BatchStatus.QUEUED
