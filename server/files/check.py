"""Validate a file: read it within the limits, apply the schema, keep the reader's warnings."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from server.config import Settings
from server.files import Table, UnreadableFile, read_file
from server.money.cost import Cost, sheet_cost
from server.money.prices import PriceTable
from server.sheet.capabilities import PREVIEW, Capabilities
from server.sheet.cells import is_blank
from server.sheet.validation import Report, validate


@dataclass
class CheckedFile:
    path: Path
    table: Table
    report: Report
    cost: Cost  # of every row read, with the provider it was checked for


def check_file(path: Path, sheet: str | None, settings: Settings, prices: PriceTable,
               capabilities: Capabilities = PREVIEW) -> CheckedFile:
    """Raises `UnreadableFile` when the file cannot be read at all; `capabilities`: the
    provider the file is checked for (its limits add warnings)."""
    table = read_file(path, sheet, max_bytes=settings.max_upload_bytes,
                      max_unzipped_bytes=settings.max_unzipped_bytes)
    if not any(not is_blank(cell) for row in table.rows for cell in row):
        raise UnreadableFile(f"{Path(path).name} is empty: put the header row (prompt, "
                             "visibility, …) in row 1 and one prompt per row below it, or start "
                             "from a template.")
    report = validate(table.rows, capabilities)
    report.warnings[:0] = table.warnings
    return CheckedFile(Path(path), table, report, sheet_cost(prices, capabilities, report))
