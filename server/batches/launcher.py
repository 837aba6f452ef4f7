"""Starting and resuming batches with the money checks: an estimate and the person's budget
first, the estimate reserved atomically before any job is queued. Sheets and uploaded files
both start their batches here."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import redis

from server import logs
from server.batches import keys
from server.batches.record import BatchKeys, SheetPlace
from server.batches.store import Batches, new_batch_id
from server.money.budget import Budgets
from server.money.cost import images_cost, sheet_cost
from server.money.prices import PriceTable
from server.providers import capabilities_for
from server.sheet.capabilities import Capabilities
from server.sheet.statuses import RowStatus
from server.sheet.validation import Report

START_ONCE_SECONDS = 24 * 3600  # far longer than an upload is kept
Settled = dict[tuple[int, int], tuple[str, dict]]  # (row, index) → (state, result)
log = logging.getLogger(__name__)


def reservation(batch_id: str) -> str:
    """Where the batch's budget reservation is kept (money.budget)."""
    return BatchKeys(batch_id).part("reservation")


class InvalidSheet(Exception):
    def __init__(self, report: Report):
        super().__init__("The sheet has problems to fix before generating.")
        self.report = report


class StillStarting(Exception):
    def __init__(self):
        super().__init__("This file is still starting; its batch appears below in a moment.")


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
    account_of: Callable[[str], str]  # provider name → the account this server pays it with
    capabilities: Callable[[str], Capabilities] = capabilities_for  # provider name → its limits

    def estimate(self, report: Report, provider: str, owner: str,
                 settled: Settled | None = None) -> dict:
        """What the brief shows before a start: rows, images, credits required and available.
        Images already `settled` (made by an earlier run) cost nothing."""
        cost = self._queued_cost(report, provider, settled or {})
        budget = self.budgets.state(owner).as_dict()
        estimate = {"rows": report.row_count, "images": report.images, "cost": cost,
                    "currency": self.prices.currency, "provider": provider}
        return {"estimate": estimate, "budget": budget,
                "allowed": report.valid and cost <= budget["available"] + 1e-9}

    def launch(self, report: Report, owner: str, provider: str, title: str,
               sheet: SheetPlace | None = None,
               prepare: Callable[[str], None] | None = None, *, settled: Settled | None = None,
               storage_root: str = "", storage_key: str | None = None,
               public_url: str = "") -> str:
        """Reserve the estimate, let `prepare` ready the source (e.g. anchor sheet rows), then
        queue one job per image that is not already `settled`."""
        if not report.valid:
            raise InvalidSheet(report)
        settled = settled or {}
        offer = self.estimate(report, provider, owner, settled)
        batch_id = new_batch_id()
        if not self.budgets.reserve(owner, reservation(batch_id), offer["estimate"]["cost"]):
            raise OverBudget(offer["estimate"], self.budgets.state(owner).as_dict())
        if prepare is not None:
            try:
                prepare(batch_id)
            except Exception:
                self.budgets.settle(reservation(batch_id), 0.0)  # nothing queued: it goes back
                raise
        reused = images_cost(self.prices, self.capabilities(provider), report.rows,
                             {image: state for image, (state, _) in settled.items()},
                             (RowStatus.DONE,))
        self.batches.create(report.rows, owner=owner, provider=provider,
                            account=self.account_of(provider), title=title, batch_id=batch_id,
                            sheet=sheet, public_url=public_url, reused_cost=reused,
                            settled=settled, storage_root=storage_root, storage_key=storage_key)
        self.redis.sadd(keys.BUDGETED_BATCHES, batch_id)
        logs.bind(batch_id=batch_id)  # the rest of this request's lines are about it
        log.info("batch started: %s images with %s, %s reserved", report.images, provider,
                 offer["estimate"]["cost"], extra={"images": report.images, "provider": provider})
        return batch_id

    def started(self, key: str) -> str | None:
        """The batch `launch_once` started for this key, while it exists."""
        known = (self.redis.get(key) or b"").decode()
        return known if known not in ("", "starting") and self.batches.known(known) else None

    def launch_once(self, key: str, launch: Callable[[], str]) -> tuple[str, bool]:
        """Run `launch` at most once per `key` (say, one uploaded file): the batch id, and
        whether this call started it. A second call gets the batch the first one started (while
        it exists); `StillStarting` while the first call is still under way."""
        if not self.redis.set(key, "starting", nx=True, ex=START_ONCE_SECONDS):
            known = (self.redis.get(key) or b"starting").decode()
            if known == "starting":
                raise StillStarting()
            if self.batches.known(known):
                return known, False
            self.redis.set(key, "starting", ex=START_ONCE_SECONDS)  # deleted since: start anew
        try:
            batch_id = launch()
        except BaseException:
            self.redis.delete(key)  # nothing started: the same source may try again
            raise
        self.redis.set(key, batch_id, ex=START_ONCE_SECONDS)
        return batch_id, True

    def _queued_cost(self, report: Report, provider: str, settled: Settled) -> float:
        states = {(row, index): settled.get((row, index), (RowStatus.QUEUED, None))[0]
                  for row, request in report.rows.items()
                  for index in range(1, request.num_images + 1)}
        if not report.valid:  # an estimate of a sheet with errors still counts every row
            return sheet_cost(self.prices, self.capabilities(provider), report).total
        return images_cost(self.prices, self.capabilities(provider), report.rows, states,
                           (RowStatus.QUEUED,))

    def resume(self, batch_id: str, owner: str, retry_failed: bool = False) -> int:
        """Queue again what is not done (or what failed), reserving its cost first."""
        wanted = (RowStatus.FAILED,) if retry_failed else (RowStatus.QUEUED, RowStatus.STOPPED)
        cost = self.cost(batch_id, wanted)
        self.settle(batch_id)
        if not self.budgets.reserve(owner, reservation(batch_id), cost):
            raise OverBudget({"cost": cost}, self.budgets.state(owner).as_dict())
        # Resuming is a new decision to pay: with the account this server pays with now.
        account = self.account_of(self.batches.get(batch_id).provider)
        again = (self.batches.retry_failed(batch_id, account) if retry_failed
                 else self.batches.resume(batch_id, account))
        self.redis.sadd(keys.BUDGETED_BATCHES, batch_id)
        log.info("batch %s: %s images queued again", "retried" if retry_failed else "resumed",
                 again, extra={"images": again})
        return again

    def cost(self, batch_id: str, wanted: tuple[str, ...]) -> float:
        """What the batch's images in these states cost."""
        provider = self.batches.get(batch_id).provider
        return images_cost(self.prices, self.capabilities(provider),
                           self.batches.requests(batch_id), self.batches.states(batch_id), wanted)

    def settle(self, batch_id: str) -> None:
        """Charge the person's budget for what the batch was billed for so far (not what it found
        made by an earlier run); release the rest of the reservation."""
        reused = self.batches.get(batch_id).reused_cost
        self.budgets.settle(reservation(batch_id), self.billed_cost(batch_id) - reused)

    def billed_cost(self, batch_id: str) -> float:
        """What the provider charged for the batch's images: those made and those it withheld."""
        provider = self.batches.get(batch_id).provider
        billed = dict.fromkeys(self.batches.billed(batch_id), RowStatus.DONE)
        return images_cost(self.prices, self.capabilities(provider),
                           self.batches.requests(batch_id), billed, (RowStatus.DONE,))
