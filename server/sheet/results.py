"""The result columns a batch writes back beside the person's own columns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from server.sheet.columns import IMAGE_COLUMNS, RESULT_COLUMNS
from server.sheet.statuses import RowStatus

FILE_RESULT_COLUMNS = tuple(name for name in RESULT_COLUMNS if name != "preview")


@dataclass
class RowResult:
    """What a row came to: its status, its settled images (by index) and its first error."""
    row: int
    status: RowStatus
    images: list[dict] = field(default_factory=list)
    error: str | None = None
    retryable: bool = False  # the error was an outage or a crash, not the row's own fault

    @property
    def seeds(self) -> str:
        return ", ".join(str(image["seed"]) for image in self.images
                         if image.get("seed") is not None)

    @property
    def sizes(self) -> str:
        """The sizes made ("WxH"), once each: they may differ from the ratio asked for (an
        OpenAI model makes only a few sizes)."""
        return ", ".join(dict.fromkeys(image["dimensions"] for image in self.images
                                       if image.get("dimensions")))

    @property
    def used_prompt(self) -> str | None:
        return next((image["prompt"] for image in self.images if image.get("prompt")), None)


def result_positions(existing: dict[str, int], width: int, names=RESULT_COLUMNS) -> dict[str, int]:
    """0-based column of each result column: reuse the ones a previous run made, append the
    rest to the right of the last used column."""
    positions, next_free = {}, max([width - 1, *existing.values()]) + 1
    for name in names:
        if name in existing:
            positions[name] = existing[name]
        else:
            positions[name] = next_free
            next_free += 1
    return positions


def result_cells(result: RowResult, link: Callable[[dict], str],
                 preview: Callable[[dict], str] | None = None) -> dict[str, Any]:
    """Values of one row's result columns; images are given as links by `link`."""
    cells = {"status": result.status, "used_seed": result.seeds or None,
             "used_size": result.sizes or None, "used_prompt": result.used_prompt,
             "error": result.error}
    by_index = {image["index"]: image for image in result.images}
    for index, name in enumerate(IMAGE_COLUMNS, start=1):
        image = by_index.get(index)
        cells[name] = link(image) if image else None
    if preview is not None:
        first = next(iter(sorted(by_index.items())), None)
        cells["preview"] = preview(first[1]) if first else None
    return cells
