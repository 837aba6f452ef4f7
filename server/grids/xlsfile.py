"""Legacy Excel .xls workbooks through xlrd, turning its date serials back into times and dates."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import xlrd

from server.grids.table import Table, UnreadableFile
from server.grids.xlsxfile import choose_sheet


def _cell_value(cell: xlrd.sheet.Cell, datemode: int) -> Any:
    if cell.ctype == xlrd.XL_CELL_DATE:
        moment = xlrd.xldate.xldate_as_datetime(cell.value, datemode)
        return moment.time() if cell.value < 1 else moment
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return None
    return cell.value


def read_xls(path: Path, sheet: str | None) -> Table:
    try:
        book = xlrd.open_workbook(path, on_demand=True)
    except Exception as error:  # xlrd raises many kinds for a damaged file
        raise UnreadableFile(f"{path.name} could not be opened as an .xls workbook ({error}).") \
            from None
    try:
        worksheet = book.sheet_by_index(choose_sheet(book.sheet_names(), sheet, path))
        rows = [[_cell_value(cell, book.datemode) for cell in worksheet.row(index)]
                for index in range(worksheet.nrows)]
        return Table(title=worksheet.name, rows=rows)
    finally:
        book.release_resources()
