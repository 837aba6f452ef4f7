"""Starting and resuming batches with the money checks: an estimate and the person's budget
first, the estimate reserved atomically before any job is queued. Sheets and uploaded files
both start their batches here."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Callable

import redis

from server.batches import Batches
from server.budget import Budgets
from server.housekeeping import BUDGETED, batch_cost, images_cost
from server.pricing import PriceTable
from server.providers import is_free
from server.schema import Report


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
class Launcher:
    redis: redis.Redis
    batches: Batches
    budgets: Budgets
    prices: PriceTable

    def estimate(self, report: Report, provider: str, owner: str) -> dict:
        """What the brief shows before a start: rows, images, credits required and available."""
        cost = 0.0 if is_free(provider) else report.cost
        budget = self.budgets.state(owner).as_dict()
        estimate = {"rows": report.row_count, "images": report.images, "cost": cost,
                    "currency": report.currency, "provider": provider}
        return {"estimate": estimate, "budget": budget,
                "allowed": report.valid and cost <= budget["available"] + 1e-9}

    def launch(self, report: Report, owner: str, provider: str, title: str,
               extra: dict[str, str] | None = None,
               prepare: Callable[[str], None] | None = None) -> str:
        """Reserve the estimate, let `prepare` ready the source (e.g. anchor sheet rows), then
        queue one job per image."""
        if not report.valid:
            raise InvalidSheet(report)
        offer = self.estimate(report, provider, owner)
        batch_id = secrets.token_hex(8)
        if not self.budgets.reserve(owner, Batches.key(batch_id), offer["estimate"]["cost"]):
            raise OverBudget(offer["estimate"], self.budgets.state(owner).as_dict())
        if prepare is not None:
            prepare(batch_id)
        self.batches.create(report.rows, owner=owner, provider=provider, title=title,
                            batch_id=batch_id, extra=extra)
        self.redis.sadd(BUDGETED, batch_id)
        return batch_id

    def resume(self, batch_id: str, owner: str, retry_failed: bool = False) -> int:
        """Queue again what is not done (or what failed), reserving its cost first."""
        wanted = ("failed",) if retry_failed else ("queued", "stopped")
        cost = images_cost(self.batches, self.prices, batch_id, wanted)
        self.budgets.settle(Batches.key(batch_id), batch_cost(self.batches, self.prices, batch_id))
        if not self.budgets.reserve(owner, Batches.key(batch_id), cost):
            raise OverBudget({"cost": cost}, self.budgets.state(owner).as_dict())
        again = (self.batches.retry_failed(batch_id) if retry_failed
                 else self.batches.resume(batch_id))
        self.redis.sadd(BUDGETED, batch_id)
        return again
