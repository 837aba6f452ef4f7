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
