"""Batches that come from a Google Sheet: validate in place, fix, start with anchored rows, and
register for write-back. The web API is a thin layer over this."""
from __future__ import annotations

from dataclasses import dataclass

from server.config import Settings
from server.grids.gsheet import SheetGrid
from server.launcher import Launcher
from server.schema import Report, validate
from server.sheets import sheets_client
from server.writeback import WriteBack


@dataclass
class SheetBatches:
    settings: Settings
    launcher: Launcher
    writeback: WriteBack

    def grid(self, access_token: str | None, spreadsheet_id: str, sheet_id: int | None) -> SheetGrid:
        return SheetGrid(sheets_client(access_token, self.settings), spreadsheet_id, sheet_id)

    def validate(self, grid: SheetGrid) -> Report:
        """One read and one write, whatever the row count."""
        report = validate(grid.read().rows, self.launcher.prices)
        grid.mark(report)
        return report

    def fix(self, grid: SheetGrid) -> tuple[int, Report]:
        fixed = grid.fix_aspect_ratios(validate(grid.read().rows, self.launcher.prices))
        return fixed, self.validate(grid)

    def start(self, grid: SheetGrid, owner: str, provider: str, public_url: str) -> str:
        report = self.validate(grid)
        batch_id = self.launcher.launch(
            report, owner, provider, grid.title,
            extra={"kind": "sheet", "spreadsheet_id": grid.spreadsheet_id,
                   "sheet_id": str(grid.sheet_id), "public_url": public_url},
            prepare=lambda batch_id: grid.prepare_batch(batch_id, report.rows, report))
        self.writeback.register(batch_id)
        return batch_id

    def resume(self, batch_id: str, owner: str, retry_failed: bool = False) -> int:
        again = self.launcher.resume(batch_id, owner, retry_failed)
        if self.launcher.batches.fields(batch_id).get("kind") == "sheet":
            self.writeback.register(batch_id)
        return again
