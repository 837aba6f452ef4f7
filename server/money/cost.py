"""What a batch's images cost: one rule for validation's estimate, starts, resumes and budget
settlement. A free provider (the provider table says which) costs nothing, whatever the prices."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from server.money.prices import PriceTable
from server.providers import is_free
from server.sheet.capabilities import Capabilities
from server.sheet.request import ImageRequest
from server.sheet.validation import Report


@dataclass(frozen=True)
class Cost:
    total: float
    currency: str

    def as_dict(self) -> dict:
        return {"currency": self.currency, "total": self.total}


def sheet_cost(prices: PriceTable, capabilities: Capabilities, report: Report) -> Cost:
    """What every row validation read would cost with this provider, errors or not: the
    estimate `validate` shows (CLI, sidebar), and a start's for a sheet with errors."""
    if is_free(capabilities.provider):
        return Cost(0.0, prices.currency)
    return Cost(prices.total(report.estimated_rows, capabilities.price_key), prices.currency)


def shown_cost(total: float, currency: str, provider: str) -> str:
    """A cost as a person reads it: "free" for a free provider, "$0.64" or "0.64 EUR"."""
    if is_free(provider):
        return "free (preview placeholder images)"
    return f"${total:.2f}" if currency == "USD" else f"{total:.2f} {currency}"


def images_cost(prices: PriceTable, capabilities: Capabilities,
                requests: Mapping[int, ImageRequest], states: Mapping[tuple[int, int], str],
                wanted: Iterable[str]) -> float:
    """What the images (row, index) whose state is in `wanted` cost with this provider, one
    image each."""
    if is_free(capabilities.provider):
        return 0.0
    wanted = set(wanted)
    return prices.total((requests[row].__dict__ | {"num_images": 1}
                         for (row, _), state in states.items() if state in wanted),
                        capabilities.price_key)
