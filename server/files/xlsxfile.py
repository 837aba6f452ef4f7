"""Excel .xlsx workbooks through openpyxl, with typed cells (numbers, times, dates)."""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Callable

import openpyxl

from server.files.table import (
    MAX_FILE_COLUMNS,
    MAX_FILE_ROWS,
    Table,
    UnreadableFile,
    read_limited,
    too_many_rows,
    without_folders,
)
from server.sheet.headers import holds_prompt

# Real workbooks compress roughly 5–20×; a zip bomb compresses by thousands.
MAX_COMPRESSION_RATIO = 200
# openpyxl holds every part but the worksheets in memory, ten times their size (shared strings
# above all). A batch sheet's shared strings are under a megabyte; 8 MB is 499 prompts of 16,000
# characters.
MAX_PART_BYTES = 8 * 2**20
# openpyxl parses a whole worksheet just to size it when the file gives no size (and a file
# can leave it out): that costs seconds per 10 MB. A 499-row sheet is well under 2 MB.
MAX_WORKSHEETS_BYTES = 32 * 2**20


def check_unzipped_size(path: Path, limit: int) -> None:
    """Refuse a zip bomb before openpyxl inflates it."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        raise UnreadableFile(f"{path.name} is not a valid .xlsx workbook (it is damaged or "
                             "another kind of file).") from None
    unzipped = sum(member.file_size for member in members)
    packed = sum(member.compress_size for member in members) or 1
    if unzipped > limit or unzipped / packed > MAX_COMPRESSION_RATIO:
        raise UnreadableFile(f"{path.name} unpacks to {unzipped / 2**20:.0f} MB, which is far more "
                             "than a sheet of prompts needs; refusing to open it.")
    sheets = sum(m.file_size for m in members if m.filename.startswith("xl/worksheets/sheet"))
    if sheets > MAX_WORKSHEETS_BYTES:
        raise UnreadableFile(f"{path.name} holds {sheets / 2**20:.0f} MB of sheets, far more than "
                             "a sheet of prompts needs (at most "
                             f"{MAX_WORKSHEETS_BYTES // 2**20} MB); refusing to open it.")
    for member in members:
        if member.file_size > MAX_PART_BYTES and not _streamed(member.filename):
            raise UnreadableFile(
                f"{path.name} holds {member.file_size / 2**20:.0f} MB of "
                f"{_part_name(member.filename)}, far more than a sheet of prompts needs (at most "
                f"{MAX_PART_BYTES // 2**20} MB); refusing to open it.")


def _streamed(name: str) -> bool:
    """Parts openpyxl's read-only mode streams (worksheets) or never parses (pictures)."""
    return name.startswith(("xl/worksheets/sheet", "xl/media/")) or not name.endswith(
        (".xml", ".rels", ".vml"))


def _part_name(name: str) -> str:
    if name.endswith("sharedStrings.xml"):
        return "text (shared strings)"
    return name.rsplit("/", 1)[-1]


def choose_sheet(names: list[str], wanted: str | None, path: Path,
                 header_of: Callable[[int], list]) -> int:
    """The tab to read: the one named `wanted`, else the first whose row 1 (`header_of(index)`)
    holds a prompt header (a workbook often starts with an "Instructions" tab), else the first."""
    if wanted is None:
        return next((index for index in range(len(names)) if holds_prompt(header_of(index))), 0)
    if wanted not in names:
        raise UnreadableFile(f'{path.name} has no sheet named "{wanted}"; its sheets are: '
                             f"{', '.join(names)}.")
    return names.index(wanted)


def _first_row(worksheet) -> list:
    try:
        return list(next(worksheet.iter_rows(max_row=1, max_col=MAX_FILE_COLUMNS,
                                              values_only=True), ()))
    except Exception:  # a damaged tab is not the batch; reading it for real says why
        return []


def read_xlsx(path: Path, sheet: str | None, max_unzipped_bytes: int) -> Table:
    check_unzipped_size(path, max_unzipped_bytes)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise UnreadableFile(f"{path.name} could not be opened as an .xlsx workbook "
                             f"({without_folders(error, path)}).") \
            from None
    try:
        worksheet = workbook.worksheets[choose_sheet(
            workbook.sheetnames, sheet, path, lambda index: _first_row(workbook.worksheets[index]))]
        if (worksheet.max_row or 0) > MAX_FILE_ROWS:
            raise too_many_rows(path.name)
        worksheet.reset_dimensions()  # some writers store a wrong size; read what is there
        try:
            # Limited row by row while parsing; its size tag may understate it.
            rows = read_limited(worksheet.iter_rows(values_only=True), path.name)
        except UnreadableFile:
            raise
        except Exception as error:  # read-only mode parses the sheet only now
            raise UnreadableFile(f"{path.name}: the sheet \"{worksheet.title}\" is damaged "
                                 f"({type(error).__name__}).") from None
        return Table(title=worksheet.title, rows=rows, sheets=workbook.sheetnames)
    finally:
        workbook.close()
