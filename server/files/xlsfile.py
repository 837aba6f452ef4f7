"""Legacy Excel .xls workbooks through xlrd, turning its date serials back into times and dates."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import xlrd

from server.files.table import (
    MAX_FILE_ROWS,
    Table,
    UnreadableFile,
    read_limited,
    too_many_rows,
    without_folders,
)
from server.files.xlsxfile import choose_sheet


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
    # xlrd prints its warnings to stdout unless told otherwise; that would break --json.
    with open(os.devnull, "w") as quiet:
        try:
            book = xlrd.open_workbook(path, on_demand=True, logfile=quiet)
        except Exception as error:  # xlrd raises many kinds for a damaged file
            raise UnreadableFile(f"{path.name} could not be opened as an .xls workbook "
                                 f"({without_folders(error, path)}).") from None
        try:
            position = choose_sheet(book.sheet_names(), sheet, path,
                                    lambda index: _first_row(book, index))
            table = _read_sheet(book, position, path)
            table.sheets = book.sheet_names()
            return table
        finally:
            book.release_resources()


def _first_row(book: xlrd.Book, index: int) -> list:
    try:
        worksheet = book.sheet_by_index(index)
        return worksheet.row_values(0) if worksheet.nrows else []
    except Exception:  # a damaged tab is not the batch; reading it for real says why
        return []


def _read_sheet(book: xlrd.Book, position: int, path: Path) -> Table:
    try:
        worksheet = book.sheet_by_index(position)
        if worksheet.nrows > MAX_FILE_ROWS:
            raise too_many_rows(path.name)
        rows = read_limited(([_cell_value(cell, book.datemode) for cell in worksheet.row(index)]
                             for index in range(worksheet.nrows)), path.name)
    except UnreadableFile:
        raise
    except Exception as error:  # with on_demand the sheet is parsed only now
        raise UnreadableFile(f"{path.name}: a sheet of this .xls workbook is damaged "
                             f"({type(error).__name__}).") from None
    return Table(title=worksheet.name, rows=rows)
