"""What a batch's images cost: one rule for estimates, resumes and budget settlement."""
from __future__ import annotations

from typing import Iterable, Mapping

from server.money.prices import PriceTable
from server.sheet.capabilities import Capabilities
from server.sheet.request import ImageRequest

FREE_PROVIDERS = ("preview",)


def is_free(provider: str) -> bool:
    """Whether a provider costs nothing (only the local preview does)."""
    return provider in FREE_PROVIDERS


def shown_cost(total: float, currency: str, provider: str) -> str:
    """A cost as a person reads it: "free" for a free provider, "$0.64" or "0.64 EUR"."""
    if is_free(provider):
        return "free (preview placeholder images)"
    return f"${total:.2f}" if currency == "USD" else f"{total:.2f} {currency}"


def pricing(prices: PriceTable, provider: str) -> PriceTable:
    """The prices validation estimates with for this provider: none for a free one, so no
    surface (CLI, web, sidebar) ever shows a price for the preview."""
    return PriceTable(per_image={}, currency=prices.currency) if is_free(provider) else prices


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
