"""CSV files: UTF-8 (with or without BOM) as the brief asks, Windows-1252 as a fallback.

A file that is not UTF-8 is almost always an Excel "CSV (comma delimited)" save in Windows-1252;
we decode it with a warning rather than refuse it, so nothing the person typed is lost.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Iterator

from server.files.table import (
    MAX_CELL_CHARS,
    MAX_FILE_COLUMNS,
    MAX_FILE_ROWS,
    Table,
    UnreadableFile,
    read_limited,
    too_many_rows,
)
from server.sheet.validation import Problem

_DELIMITERS = ",;\t"
# A record of more cells than this is refused as soon as the csv module has parsed it, before its
# empty cells are trimmed. The record itself costs little: the file is at most 10 MB, and the
# whole read runs under the reading child's memory ceiling (server/files/child.py).
MAX_CELLS_PER_RECORD = 10 * MAX_FILE_COLUMNS


def _decode(data: bytes) -> tuple[str, list[Problem]]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), []
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise UnreadableFile('This file is not UTF-8 text. Save it as '
                             '"CSV UTF-8 (comma-delimited)" and upload it again.') from None
    return text, [Problem('This file is not saved as UTF-8, so we read it as Windows (Western) '
                          'text. If accents or symbols look wrong, save it as '
                          '"CSV UTF-8 (comma-delimited)".')]


def _delimiter(first_line: str) -> str:
    """Excel in many European locales saves CSV with ';' — follow the header line."""
    counts = {delimiter: first_line.count(delimiter) for delimiter in _DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


# Excel's own convention: a first line "sep=;" names the delimiter and is not a row (Excel
# hides it, so the header is still row 1).
_SEP_LINE = re.compile(r'"?sep=(.)"?\s*', re.IGNORECASE)


def _without_sep_line(text: str, first_line: str) -> tuple[str, str | None]:
    """The text without a "sep=" first line, and the delimiter it names (None: no such line)."""
    match = _SEP_LINE.fullmatch(first_line)
    if not match:
        return text, None
    end = len(first_line)
    end += 2 if text.startswith("\r\n", end) else 1
    return text[end:], match[1]


def line_count(text: str) -> int:
    """Lines as the csv module ends them: at \n, \r\n and a bare \r (old Mac files)."""
    return text.count("\n") + text.count("\r") - text.count("\r\n") + 1


def read_csv(path: Path) -> Table:
    text, warnings = _decode(path.read_bytes())
    if "\x00" in text:
        raise UnreadableFile(
            f"{path.name} does not look like a CSV file (it contains binary data).")
    if line_count(text) > MAX_FILE_ROWS:
        raise too_many_rows(path.name)
    first_line = re.split(r"[\r\n]", text, maxsplit=1)[0]
    text, delimiter = _without_sep_line(text, first_line)
    delimiter = delimiter or _delimiter(re.split(r"[\r\n]", text, maxsplit=1)[0])
    try:
        records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = read_limited(_narrow(records, path.name), path.name)
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            raise UnreadableFile(f"{path.name}: a cell holds far more than {MAX_CELL_CHARS:,} "
                                 "characters, the most a cell may hold.") from None
        raise UnreadableFile(f"{path.name} is not a valid CSV file: {error}.") from None
    return Table(title=path.stem, rows=rows, warnings=warnings)


def _narrow(records: Iterator[list[str]], name: str) -> Iterator[list[str]]:
    """Records as the csv module parses them (quoted line breaks and every separator included),
    refused at the first one of more than MAX_CELLS_PER_RECORD cells, empty ones counted."""
    for record in records:
        if len(record) > MAX_CELLS_PER_RECORD:
            raise UnreadableFile(f"{name} has a line of {len(record):,} cells; a batch sheet uses "
                                 f"about twenty, and at most {MAX_FILE_COLUMNS} are read. Delete "
                                 "the extra columns and save it again.")
        yield record
