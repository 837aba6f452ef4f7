"""Which of our columns a header cell means. Exact names are the contract (DESIGN.md), but a
person writes `Aspect Ratio`, `Num Images` or `Model`; such a header is never ignored (its
settings would be dropped and the defaults paid for): validation makes it an error on its header
cell naming the exact column, and the fixes (the marked copy, the add-in's Fix) rename it."""
from __future__ import annotations

import re

from server.sheet.columns import COLUMN_NAMES

_IGNORED = re.compile(r"[\s_\-.]+")

# Other names people give our columns, each meaning exactly one of them (documented in the
# README). Kept short on purpose: only words that cannot mean anything else in a batch sheet.
ALIASES = {"seed": "seed_number", "colour_palette": "color_palette",
           "number_of_images": "num_images", "ratio": "aspect_ratio"}


def folded(header: str) -> str:
    """The header with case, spaces, underscores, hyphens and dots ignored."""
    return _IGNORED.sub("", header).casefold()


_MEANT = {folded(name): name for name in COLUMN_NAMES} | \
    {folded(alias): name for alias, name in ALIASES.items()}


def meant_column(header: str) -> str | None:
    """The column a header not written exactly means (None: not one of ours)."""
    return _MEANT.get(folded(header))


def holds_prompt(header: list) -> bool:
    """Whether a row (a tab's row 1) has a header meaning `prompt`: the tab a workbook's batch
    is read from when the person names none."""
    return any(isinstance(cell, str) and meant_column(cell) == "prompt" for cell in header)
