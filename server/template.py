"""The brief's templates: a simple one (the columns most people need) and the full one."""
from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
from openpyxl.worksheet.datavalidation import DataValidation

from server.grids.workbook import put_value
from server.schema import COLUMNS, COLUMNS_BY_NAME, MAX_SEED, column_letter

SIMPLE_COLUMNS = ("prompt", "visibility", "aspect_ratio", "model", "style")
FULL_COLUMNS = tuple(column.name for column in COLUMNS)
TEXT_COLUMNS = ("prompt", "aspect_ratio", "model", "negative_prompt", "color_palette")

EXAMPLE_ROWS = (
    {"prompt": "A sticker design of a cute cat with a curious expression peeking out of a cardboard "
               'box where it barely fits. The text "If I Fits, I Sits" is written in a quirky font '
               "below the cat. The background is white.",
     "visibility": "private", "aspect_ratio": "1:1", "magic_prompt": "on", "model": "2.0",
     "num_images": 4, "rendering": "default", "style": "design"},
    {"prompt": "A charming and whimsical sticker design featuring a sleepy owl perched on a book, "
               "its eyes half-closed. The sticker has a thick white outline.",
     "visibility": "private", "aspect_ratio": "16:9", "magic_prompt": "off", "model": "3.0",
     "num_images": 2, "seed_number": 12345, "rendering": "quality", "negative_prompt": "blurry, text",
     "style": "general", "color_palette": "pastel"},
    {"prompt": 'A vibrant, retro-inspired sticker with bold white outlines. The phrase "NEVER GIVE '
               'UP!" is written in a dynamic 1950s cursive font.',
     "visibility": "public", "aspect_ratio": "2:3", "magic_prompt": "on", "model": "2a",
     "num_images": 1, "rendering": "turbo", "style": "3d",
     "color_palette": "#CBA324 #F86C14 #C71E71"},
)


def template_rows(full: bool) -> list[list]:
    names = FULL_COLUMNS if full else SIMPLE_COLUMNS
    return [list(names)] + [[example.get(name) for name in names] for example in EXAMPLE_ROWS]


def write_template(path: Path, full: bool) -> None:
    path = Path(path)
    rows = template_rows(full)
    if path.suffix.lower() == ".csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([["" if v is None else v for v in row] for row in rows])
    elif path.suffix.lower() == ".xlsx":
        _xlsx_template(rows).save(path)
    else:
        raise ValueError(f"{path.name}: a template can be written as .csv or .xlsx.")


def _xlsx_template(rows: list[list]) -> openpyxl.Workbook:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Batch"
    for row_number, values in enumerate(rows, start=1):
        for column_number, value in enumerate(values, start=1):
            put_value(sheet.cell(row=row_number, column=column_number), value)
    sheet.freeze_panes = "A2"
    for index, name in enumerate(rows[0]):
        letter = column_letter(index)
        if name in TEXT_COLUMNS:
            # Text format stops Excel turning 16:9 into a time or 2.0 into 2.
            for row_number in range(1, 501):
                sheet[f"{letter}{row_number}"].number_format = "@"
        validation = _validation_for(name)
        if validation is not None:
            validation.add(f"{letter}2:{letter}500")
            sheet.add_data_validation(validation)
        sheet.column_dimensions[letter].width = 60 if name == "prompt" else 16
    return workbook


def _validation_for(name: str) -> DataValidation | None:
    column = COLUMNS_BY_NAME[name]
    if name == "num_images":
        return DataValidation(type="whole", operator="between", formula1="1", formula2="4",
                              allow_blank=True, showErrorMessage=True,
                              error="A whole number from 1 to 4")
    if name == "seed_number":
        return DataValidation(type="whole", operator="between", formula1="0",
                              formula2=str(MAX_SEED), allow_blank=True, showErrorMessage=True)
    if not column.choices:
        return None
    # Hex colours are allowed beside the presets, so that dropdown only suggests.
    strict = name != "color_palette"
    return DataValidation(type="list", formula1='"' + ",".join(column.choices) + '"',
                          allow_blank=True, showErrorMessage=strict,
                          error=f"{name}: {column.description}")
