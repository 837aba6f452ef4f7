"""Batches that come from a Google Sheet: validate in place, fix, start with anchored rows, and
register for write-back. The web API is a thin layer over this."""
from __future__ import annotations

import time
from dataclasses import dataclass

from server.batches.launcher import Launcher
from server.batches.record import SheetPlace
from server.config import Settings
from server.gsheets import anchors
from server.gsheets.client import sheets_client
from server.gsheets.contents import SheetContents
from server.gsheets.grid import SheetGrid
from server.gsheets.marks import MarkMemory
from server.gsheets.writeback import WriteBack
from server.money.cost import Cost, sheet_cost
from server.sheet.cells import time_converted_ratio
from server.sheet.columns import column_letter
from server.sheet.marks import header_renames
from server.sheet.validation import Report, validate

# The add-in's UrlFetchApp gives up after about 60 s and our answers must come within 20 s, so a
# web request never sleeps to retry Google (a 429/5xx becomes a 503 with Retry-After, and the
# add-in, whose calls are safe to repeat, tries again), and all its Sheets calls together end
# within SHEETS_SECONDS.
NO_RETRIES = {"attempts": 1}
SHEETS_SECONDS = 17.0


@dataclass
class CheckedSheet:
    contents: SheetContents
    report: Report
    cost: Cost  # of every row read, with the provider it was checked for

    def as_dict(self) -> dict:
        report = self.report.as_dict(self.cost.as_dict())
        renames = {header_cell(index) for index in header_renames(self.report)}
        for problem in report["errors"] + report["warnings"]:
            problem["fixable"] = is_fixable(problem) or problem["cell"] in renames
        return report | {"sheet": {"id": self.contents.sheet_id, "title": self.contents.title}}


def header_cell(index: int) -> str:
    return f"{column_letter(index)}1"


def is_fixable(problem: dict) -> bool:
    """What the Fix button (`SheetBatches.fix`) repairs besides headers (`header_renames`): a
    ratio the sheet turned into a time."""
    return problem["column"] == "aspect_ratio" and problem["row"] is not None \
        and time_converted_ratio(problem["value"]) is not None


@dataclass
class SheetBatches:
    settings: Settings
    launcher: Launcher
    writeback: WriteBack

    def grid(self, access_token: str | None, spreadsheet_id: str,
             sheet_id: int | None) -> SheetGrid:
        return SheetGrid(sheets_client(access_token, self.settings), spreadsheet_id, sheet_id,
                         memory=MarkMemory(self.launcher.batches.redis), retry=NO_RETRIES,
                         deadline=time.monotonic() + SHEETS_SECONDS)

    def check(self, grid: SheetGrid, provider: str | None = None) -> CheckedSheet:
        """Read and validate for `provider` (by default the configured one)."""
        contents = grid.read()
        capabilities = self.launcher.capabilities(provider or self.settings.provider)
        report = validate(contents.rows, capabilities)
        cost = sheet_cost(self.launcher.prices, capabilities, report)
        return CheckedSheet(contents, report, cost)

    def validate(self, grid: SheetGrid, provider: str | None = None) -> CheckedSheet:
        """One read and one write, whatever the row count; `provider`'s limits are warnings."""
        checked = self.check(grid, provider)
        grid.mark(checked.contents, checked.report)
        return checked

    def fix(self, grid: SheetGrid, provider: str | None = None) -> tuple[int, CheckedSheet]:
        checked = self.check(grid, provider)
        fixed = grid.fix(checked.contents, checked.report)
        return fixed, self.validate(grid, provider)

    def start(self, grid: SheetGrid, checked: CheckedSheet, owner: str, provider: str,
              public_url: str) -> str:
        """Start a batch of a sheet just validated (`checked`): anchors its rows, then queues."""
        contents, report = checked.contents, checked.report
        forget = self.forgotten(contents)
        anchors.check_room(contents, report.rows, report, forget)
        batch_id = self.launcher.launch(
            report, owner, provider, contents.title,
            SheetPlace(grid.spreadsheet_id, contents.sheet_id), public_url=public_url,
            prepare=lambda batch_id: grid.prepare_batch(contents, batch_id, report.rows, report,
                                                        forget=forget))
        self.writeback.started(batch_id, anchors.placed_columns(contents, report))
        return batch_id

    def forgotten(self, contents: SheetContents) -> list[str]:
        """The sweep for old anchors: row anchors on this sheet of batches we no longer know
        (lost with a Redis, or left by another server) go with the next batch's start."""
        batches = self.launcher.batches
        return sorted(b for b in contents.anchored_batches if not batches.known(b))

    def resume(self, batch_id: str, owner: str, retry_failed: bool = False) -> int:
        again = self.launcher.resume(batch_id, owner, retry_failed)
        if self.launcher.batches.get(batch_id).is_sheet:
            self.writeback.register(batch_id)
        return again
