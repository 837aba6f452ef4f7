"""Sheets as people fill them in, for tests and benchmarks: the columns, realistic rows, writers
of .xlsx and .csv files, and the validation of rows as the checker sees them (`check`)."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import openpyxl

from server.money.cost import sheet_cost
from server.money.prices import PriceTable
from server.sheet.capabilities import IDEOGRAM
from server.sheet.validation import Report, validate

FULL_HEADER = ["prompt", "visibility", "aspect_ratio", "magic_prompt", "model", "num_images",
               "seed_number", "rendering", "negative_prompt", "style", "color_palette"]

PRICES = PriceTable.load()


def check(rows: list[list[Any]]) -> Report:
    return validate(rows)


def as_json(report: Report, prices: PriceTable = PRICES) -> dict:
    """The report as the API and `validate --json` give it, priced as Ideogram (whose limits
    validation's default carries too)."""
    return report.as_dict(sheet_cost(prices, IDEOGRAM, report).as_dict())


def one_row(column: str, value: Any, **others: Any) -> list[list[Any]]:
    """A sheet of prompt, visibility and `column` (+ others), one data row."""
    cells = {"prompt": "a cat", "visibility": "private", column: value} | others
    header = list(dict.fromkeys(["prompt", "visibility", column, *others]))
    return [header, [cells[name] for name in header]]


def errors_of(report: Report) -> list[tuple]:
    return [(p.cell, p.column) for p in report.errors]


def warnings_of(report: Report) -> list[tuple]:
    return [(p.cell, p.column) for p in report.warnings]


def write_csv(path: Path, rows: list[list[Any]], *, encoding: str = "utf-8",
              delimiter: str = ",") -> Path:
    with open(path, "w", newline="", encoding=encoding) as handle:
        csv.writer(handle, delimiter=delimiter).writerows(
            [["" if value is None else value for value in row] for row in rows])
    return path


def write_xlsx(path: Path, rows: list[list[Any]], *, title: str = "Sheet1",
               formats: dict[str, str] | None = None, extra_sheets: dict[str, list] = ()) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    _fill(sheet, rows)
    for name, other_rows in dict(extra_sheets).items():
        _fill(workbook.create_sheet(name), other_rows)
    for ref, number_format in (formats or {}).items():
        sheet[ref].number_format = number_format
    workbook.save(path)
    return path


def _fill(sheet, rows):
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values, start=1):
            if value is None:
                continue
            cell = sheet.cell(row=r, column=c, value=value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text, as a person typed it in a text-formatted cell


def realistic_rows(count: int) -> list[list[Any]]:
    """`count` valid data rows using all 11 columns, varied like a real sheet."""
    models = ["3.0", "2.0", "2a", "1.0"]
    ratios = ["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "16:10", "10:16", "1:3", "3:1"]
    rows = [list(FULL_HEADER)]
    for i in range(count):
        model = models[i % 4]
        rows.append([
            f"A sticker design of a cute animal number {i} with a curious expression, bold "
            f"outlines, white background, text 'Batch {i}' in a quirky font",
            "private" if i % 3 else "public",
            ratios[i % len(ratios)],
            "on" if i % 2 else "off",
            model,
            1 + i % 4,
            (i * 7919) % 2147483647 if i % 5 else None,
            ("quality" if model == "3.0" else "turbo") if i % 7 == 0 else "default",
            "blurry, low quality, watermark" if i % 2 else None,
            ["auto", "general", "realistic", "design"][i % 4],
            "#CBA324 #F86C14 #C71E71" if i % 6 == 0 and model != "1.0" else
            ("pastel" if i % 6 == 1 and model != "1.0" else None),
        ])
    return rows
