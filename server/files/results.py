"""The results workbook of any batch (sheet or file): every row's settings as they were sent,
then its result columns, image links naming the files beside it in the ZIP. It can be uploaded
again as it is: result columns are ignored when a sheet is read."""
from __future__ import annotations

import io

import openpyxl

from server.files.workbook import put_value
from server.sheet.columns import COLUMN_NAMES, IMAGE_COLUMNS
from server.sheet.request import ImageRequest
from server.sheet.results import FILE_RESULT_COLUMNS, RowResult, result_cells

RESULTS_NAME = "results.xlsx"


def results_workbook(requests: dict[int, ImageRequest], rows: dict[int, RowResult]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Results"
    header = [*COLUMN_NAMES, *FILE_RESULT_COLUMNS]
    sheet.append(header)
    for row in sorted(requests):
        settings = requests[row].as_dict()
        result = rows.get(row) or RowResult(row, "queued")
        cells = settings | result_cells(result, lambda image: image["name"])
        sheet.append([None] * len(header))
        for column, name in enumerate(header, start=1):
            cell = sheet.cell(row=sheet.max_row, column=column)
            put_value(cell, cells.get(name))
            if name in IMAGE_COLUMNS and cells.get(name):
                cell.hyperlink = cells[name]  # opens the image beside it once the ZIP is unpacked
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
