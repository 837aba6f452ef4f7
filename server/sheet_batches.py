"""Batches that come from a Google Sheet: validate in place, fix, template, start with a budget
check, and the write-back registration. The web API is a thin layer over this."""
from __future__ import annotations

import secrets
from dataclasses import dataclass

import redis

from server.batches import Batches
from server.budget import Budgets
from server.config import Settings
from server.grids.gsheet import SheetGrid
from server.housekeeping import BUDGETED, batch_cost
from server.pricing import PriceTable
from server.schema import Report, validate
from server.sheets import sheets_client
from server.writeback import WriteBack


class InvalidSheet(Exception):
    def __init__(self, report: Report):
        super().__init__("The sheet has problems to fix before generating.")
        self.report = report


class OverBudget(Exception):
    def __init__(self, estimate: dict, budget: dict):
        super().__init__(f"This batch needs {estimate['cost']:.2f} {budget['currency']} but only "
                         f"{budget['available']:.2f} is available this month.")
        self.estimate, self.budget = estimate, budget


@dataclass
class SheetBatches:
    redis: redis.Redis
    settings: Settings
    batches: Batches
    budgets: Budgets
    prices: PriceTable
    writeback: WriteBack

    def grid(self, access_token: str | None, spreadsheet_id: str, sheet_id: int | None) -> SheetGrid:
        return SheetGrid(sheets_client(access_token, self.settings), spreadsheet_id, sheet_id)

    def validate(self, grid: SheetGrid) -> Report:
        """One read and one write, whatever the row count."""
        report = validate(grid.read().rows, self.prices)
        grid.mark(report)
        return report

    def fix(self, grid: SheetGrid) -> tuple[int, Report]:
        fixed = grid.fix_aspect_ratios(validate(grid.read().rows, self.prices))
        return fixed, self.validate(grid)

    def estimate(self, report: Report, provider: str, owner: str) -> dict:
        cost = 0.0 if provider == "preview" else report.cost
        budget = self.budgets.state(owner).as_dict()
        estimate = {"rows": report.row_count, "images": report.images, "cost": cost,
                    "currency": report.currency, "provider": provider}
        return {"estimate": estimate, "budget": budget,
                "allowed": report.valid and cost <= budget["available"] + 1e-9}

    def start(self, grid: SheetGrid, owner: str, provider: str, public_url: str) -> str:
        report = self.validate(grid)
        if not report.valid:
            raise InvalidSheet(report)
        offer = self.estimate(report, provider, owner)
        batch_id = secrets.token_hex(8)
        if not self.budgets.reserve(owner, Batches.key(batch_id), offer["estimate"]["cost"]):
            raise OverBudget(offer["estimate"], self.budgets.state(owner).as_dict())
        grid.prepare_batch(batch_id, report.rows, report)
        self.batches.create(report.rows, owner=owner, provider=provider, title=grid.title,
                            batch_id=batch_id,
                            extra={"kind": "sheet", "spreadsheet_id": grid.spreadsheet_id,
                                   "sheet_id": str(grid.sheet_id), "public_url": public_url})
        self.redis.sadd(BUDGETED, batch_id)
        self.writeback.register(batch_id)
        return batch_id

    def resume(self, batch_id: str, owner: str, retry_failed: bool = False) -> int:
        """Queue again what is not done, reserving its cost first."""
        fields = self.batches.fields(batch_id)
        states = self.batches.states(batch_id)
        wanted = ("failed",) if retry_failed else ("queued", "stopped")
        rows = [row for (row, _), state in states.items() if state in wanted]
        cost = 0.0 if fields["provider"] == "preview" else self.prices.total(
            {"model": r.model, "rendering": r.rendering, "num_images": 1}
            for r in (self.batches.request(batch_id, row) for row in rows))
        self.budgets.settle(Batches.key(batch_id), batch_cost(self.batches, self.prices, batch_id))
        if not self.budgets.reserve(owner, Batches.key(batch_id), cost):
            raise OverBudget({"cost": cost}, self.budgets.state(owner).as_dict())
        again = (self.batches.retry_failed(batch_id) if retry_failed
                 else self.batches.resume(batch_id))
        self.redis.sadd(BUDGETED, batch_id)
        if fields.get("kind") == "sheet":
            self.writeback.register(batch_id)
        return again
