"""Excel .xlsx workbooks, read as a stream with typed cells (numbers, times, dates).

Only what a sheet of prompts needs is read: the workbook part (sheet names), its relationships,
the chosen worksheet wherever they put it, the shared strings, and of the styles only which cell
formats are dates. External links, pictures, other sheets' contents, fonts, comments… are never
opened. Every part is parsed by expat one event at a time (nothing is kept but the cells), with a
nesting limit; openpyxl's own helpers turn Excel's numbers into dates.
"""
from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from typing import Any, Callable, Iterator
from xml.parsers import expat

from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from openpyxl.utils.datetime import CALENDAR_MAC_1904, WINDOWS_EPOCH, from_excel, from_ISO8601

from server.files.table import (
    MAX_FILE_COLUMNS,
    MAX_FILE_ROWS,
    Table,
    UnreadableFile,
    read_limited,
    too_many_columns,
    too_many_rows,
)
from server.sheet.headers import holds_prompt

# Real workbooks compress roughly 5–20×; a zip bomb compresses by thousands.
MAX_COMPRESSION_RATIO = 200
# Each part we parse besides the worksheet (workbook, relationships, shared strings, styles). A
# batch sheet's shared strings are under a megabyte; 8 MB is 499 prompts of 16,000 characters.
MAX_PART_BYTES = 8 * 2**20
# The one worksheet we read: a 499-row sheet is well under 2 MB.
MAX_WORKSHEETS_BYTES = 32 * 2**20
# Elements inside one another: spreadsheet XML nests about six deep.
MAX_DEPTH = 64
# Cell formats in the styles part (Excel itself allows 64,000).
MAX_CELL_FORMATS = 65_536
MAX_SHEETS = 10_000
MAX_CELLS_PER_ROW = 16_384  # Excel's own column limit: a row of more cells is not Excel's
CHUNK = 64 * 1024

OFFICE_DOCUMENT = "/officeDocument"
WORKSHEET = "/worksheet"
SHARED_STRINGS = "/sharedStrings"
STYLES = "/styles"


def read_xlsx(path: Path, sheet: str | None, max_unzipped_bytes: int) -> Table:
    archive = _open_archive(path, max_unzipped_bytes)
    with archive:
        return _Workbook(archive, path).table(sheet)


def _open_archive(path: Path, limit: int) -> zipfile.ZipFile:
    """The archive, after refusing a zip bomb before anything is inflated."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise damaged(path) from None
    members = archive.infolist()
    unzipped = sum(member.file_size for member in members)
    packed = sum(member.compress_size for member in members) or 1
    if unzipped > limit or unzipped / packed > MAX_COMPRESSION_RATIO:
        archive.close()
        raise UnreadableFile(f"{path.name} unpacks to {unzipped / 2**20:.0f} MB, which is far more "
                             "than a sheet of prompts needs; refusing to open it.")
    return archive


def damaged(path: Path) -> UnreadableFile:
    return UnreadableFile(f"{path.name} is not a valid .xlsx workbook (it is damaged or another "
                          "kind of file).")


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


class _Workbook:
    def __init__(self, archive: zipfile.ZipFile, path: Path):
        self.archive, self.path = archive, path

    def table(self, wanted: str | None) -> Table:
        workbook = self._workbook_part()
        sheets, date1904 = self._sheets(workbook)
        relations = self._relations(workbook)
        worksheets = [(name, relations[rid][1]) for name, rid in sheets
                      if rid in relations and relations[rid][0].endswith(WORKSHEET)]
        if not worksheets:
            raise UnreadableFile(f"{self.path.name} has no worksheet to read.")
        strings = self._shared_strings(relations)
        dates, durations = self._date_formats(relations)
        epoch = CALENDAR_MAC_1904 if date1904 else WINDOWS_EPOCH
        def cells() -> _Cells:  # each reading of a worksheet keeps its own place
            return _Cells(self.path.name, strings, dates, durations, epoch)

        names = [name for name, _ in worksheets]
        title, part = worksheets[choose_sheet(names, wanted, self.path,
                                              lambda index: self._first_row(worksheets[index][1],
                                                                            cells()))]
        self._check_size(part, MAX_WORKSHEETS_BYTES, "sheets")
        rows = read_limited(self._rows(part, cells()), self.path.name)
        return Table(title=title, rows=rows, sheets=names)

    def _first_row(self, part: str, cells: "_Cells") -> list[Any]:
        """Row 1 of a worksheet, reading no further than it (to find the tab with prompts); a
        tab that cannot be read is not the batch (reading it for real says why)."""
        try:
            self._check_size(part, MAX_WORKSHEETS_BYTES, "sheets")
            return next(iter(self._rows(part, cells)), [])
        except UnreadableFile:
            return []

    # -- the parts, found through their relationships ---------------------------------------

    def _workbook_part(self) -> str:
        for kind, target in self._relations("").values():
            if kind.endswith(OFFICE_DOCUMENT):
                return target
        return "xl/workbook.xml"

    def _relations(self, part: str) -> dict[str, tuple[str, str]]:
        """Relationship id → (type, part name) of one part's internal relationships."""
        folder, name = posixpath.split(part)
        found: dict[str, tuple[str, str]] = {}

        def start(tag: str, attrs: dict[str, str]) -> None:
            if tag == "Relationship" and attrs.get("TargetMode") != "External":
                target = attrs.get("Target", "")
                target = target[1:] if target.startswith("/") else posixpath.normpath(
                    posixpath.join(folder, target))
                found[attrs.get("Id", "")] = (attrs.get("Type", ""), target)
            if len(found) > MAX_SHEETS * 2:
                raise self._too_much("relationships")

        rels = posixpath.join(folder, "_rels", f"{name}.rels")
        if rels in self.archive.NameToInfo:
            self._parse(rels, start)
        return found

    def _sheets(self, workbook: str) -> tuple[list[tuple[str, str]], bool]:
        sheets: list[tuple[str, str]] = []
        date1904 = []

        def start(tag: str, attrs: dict[str, str]) -> None:
            if tag == "sheet":
                rid = next((v for k, v in attrs.items() if k.endswith(" id")), "")
                sheets.append((attrs.get("name", ""), rid))
                if len(sheets) > MAX_SHEETS:
                    raise UnreadableFile(f"{self.path.name} has more than {MAX_SHEETS:,} sheets; "
                                         "save only the batch sheet and upload it again.")
            elif tag == "workbookPr":
                date1904.append(attrs.get("date1904", "0").lower() in ("1", "true"))

        if workbook not in self.archive.NameToInfo:
            raise damaged(self.path)
        self._parse(workbook, start)
        return sheets, any(date1904)

    def _shared_strings(self, relations: dict[str, tuple[str, str]]) -> list[str | None]:
        part = self._related(relations, SHARED_STRINGS)
        strings: list[str | None] = []
        if part is None:
            return strings
        text = _Text()

        def start(tag: str, attrs: dict[str, str]) -> None:
            text.start(tag)

        def end(tag: str) -> None:
            text.end(tag)
            if tag == "si":
                strings.append(text.take())

        self._parse(part, start, end, text.data, "text (shared strings)")
        return strings

    def _date_formats(self, relations: dict[str, tuple[str, str]]) -> tuple[set[int], set[int]]:
        """Which cell formats (the `s` of a cell) show dates or durations: all we read of the
        styles (fonts, fills, borders, named styles are never looked at)."""
        part = self._related(relations, STYLES)
        custom: dict[int, str] = {}
        formats: list[int] = []
        where: list[str] = []

        def start(tag: str, attrs: dict[str, str]) -> None:
            if tag == "numFmt":
                custom[_number(attrs.get("numFmtId"))] = attrs.get("formatCode", "")
            elif tag == "cellXfs":
                where.append(tag)
            elif tag == "xf" and where:
                formats.append(_number(attrs.get("numFmtId")))
                if len(formats) > MAX_CELL_FORMATS:
                    raise self._too_much("cell formats")

        def end(tag: str) -> None:
            if tag == "cellXfs":
                where.clear()

        if part is not None:
            self._parse(part, start, end)
        dates, durations = set(), set()
        for index, number in enumerate(formats):
            code = custom.get(number) or builtin_format_code(number)
            if code and is_date_format(code):
                dates.add(index)
            if code and is_timedelta_format(code):
                durations.add(index)
        return dates, durations

    def _rows(self, part: str, cells: "_Cells") -> Iterator[list[Any]]:
        done: list[list[Any]] = []
        parser = self._parser(part, cells.start, lambda tag: cells.end(tag, done), cells.data)
        with self.archive.open(part) as source:
            while chunk := source.read(CHUNK):
                self._feed(parser, chunk, part)
                yield from done
                done.clear()
            self._feed(parser, b"", part, final=True)
        yield from done

    def _related(self, relations: dict[str, tuple[str, str]], kind: str) -> str | None:
        for rel_kind, target in relations.values():
            if rel_kind.endswith(kind) and target in self.archive.NameToInfo:
                return target
        return None

    # -- parsing, bounded ---------------------------------------------------------------------

    def _check_size(self, part: str, limit: int, what: str) -> None:
        info = self.archive.NameToInfo.get(part)
        if info is None:
            raise damaged(self.path)
        if info.file_size > limit:
            raise UnreadableFile(f"{self.path.name} holds {info.file_size / 2**20:.0f} MB of "
                                 f"{what}, far more than a sheet of prompts needs (at most "
                                 f"{limit // 2**20} MB); refusing to open it.")

    def _too_much(self, what: str) -> UnreadableFile:
        return UnreadableFile(f"{self.path.name} holds more {what} than any sheet of prompts; "
                              "refusing to open it.")

    def _parse(self, part: str, start: Callable, end: Callable | None = None,
               data: Callable | None = None, what: str | None = None) -> None:
        self._check_size(part, MAX_PART_BYTES, what or posixpath.basename(part))
        parser = self._parser(part, start, end, data)
        with self.archive.open(part) as source:
            while chunk := source.read(CHUNK):
                self._feed(parser, chunk, part)
        self._feed(parser, b"", part, final=True)

    def _parser(self, part: str, start: Callable, end: Callable | None,
                data: Callable | None) -> expat.XMLParserType:
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.buffer_text = True
        depth = [0]

        def on_start(tag: str, attrs: dict[str, str]) -> None:
            depth[0] += 1
            if depth[0] > MAX_DEPTH:
                raise UnreadableFile(f"{self.path.name}: {posixpath.basename(part)} nests more "
                                     f"than {MAX_DEPTH} levels deep, which no spreadsheet does; "
                                     "refusing to open it.")
            start(tag.rsplit(" ", 1)[-1], attrs)

        def on_end(tag: str) -> None:
            depth[0] -= 1
            if end is not None:
                end(tag.rsplit(" ", 1)[-1])

        def no_entities(*_args) -> None:  # entity definitions: the billion-laughs family
            raise UnreadableFile(f"{self.path.name}: {posixpath.basename(part)} defines XML "
                                 "entities, which no spreadsheet does; refusing to open it.")

        parser.StartElementHandler, parser.EndElementHandler = on_start, on_end
        parser.EntityDeclHandler = no_entities
        parser.ExternalEntityRefHandler = no_entities
        if data is not None:
            parser.CharacterDataHandler = data
        return parser

    def _feed(self, parser: expat.XMLParserType, chunk: bytes, part: str,
              final: bool = False) -> None:
        try:
            parser.Parse(chunk, final)
        except expat.ExpatError as error:
            raise UnreadableFile(f"{self.path.name} is damaged: {posixpath.basename(part)} is not "
                                 f"valid XML ({expat.ErrorString(error.code)}).") from None
        except (zipfile.BadZipFile, EOFError):
            raise damaged(self.path) from None


def _number(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


class _Text:
    """The text of a string item (`si`, or a cell's inline `is`): its `t` parts, rich-text runs
    joined, phonetic hints (`rPh`) left out — what openpyxl shows as the cell's value."""

    def __init__(self):
        self.parts: list[str] = []
        self.inside_t = self.inside_phonetic = self.any_t = False

    def start(self, tag: str) -> None:
        if tag == "t":
            self.inside_t = self.any_t = True
        elif tag == "rPh":
            self.inside_phonetic = True

    def end(self, tag: str) -> None:
        if tag == "t":
            self.inside_t = False
        elif tag == "rPh":
            self.inside_phonetic = False

    def data(self, text: str) -> None:
        if self.inside_t and not self.inside_phonetic:
            self.parts.append(text)

    def take(self) -> str | None:
        """The text so far (None when there was no `t` at all: an empty cell), and start over."""
        text = "".join(self.parts) if self.any_t else None
        self.parts.clear()
        self.any_t = False
        return text


class _Cells:
    """Turns a worksheet's events into rows of values (row 1 first, missing rows empty, cells
    at their columns), keeping nothing of a cell but its value."""

    def __init__(self, name: str, strings: list[str | None], dates: set[int], durations: set[int],
                 epoch):
        self.name = name
        self.strings, self.dates, self.durations, self.epoch = strings, dates, durations, epoch
        self.row_number = self.rows_so_far = 0
        self.row: dict[int, Any] = {}
        self.column = self.last_column = 0
        self.cell: dict[str, str] | None = None
        self.value: list[str] = []
        self.inside_v = False
        self.inline = _Text()

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == "row":
            self.row_number = _number(attrs.get("r")) or self.row_number + 1
            self.row, self.column, self.last_column = {}, 0, 0
        elif tag == "c":
            self.cell, self.value = attrs, []
            self.column = self._column(attrs.get("r")) or self.column + 1
            self.last_column = max(self.last_column, self.column)
            if self.last_column > MAX_CELLS_PER_ROW:
                raise too_many_columns(self.name, self.row_number, self.last_column)
        elif tag == "v":
            self.inside_v = True
        else:
            self.inline.start(tag)

    def data(self, text: str) -> None:
        if self.inside_v:
            self.value.append(text)
        else:
            self.inline.data(text)

    def end(self, tag: str, done: list[list[Any]]) -> None:
        if tag == "v":
            self.inside_v = False
        elif tag == "c":
            value = self._value()
            if value is not None:
                self.row[self.column] = value
            self.cell = None
        elif tag == "row":
            self._finish_row(done)
        else:
            self.inline.end(tag)

    def _column(self, reference: str | None) -> int:
        if not reference:
            return 0
        try:
            return column_index_from_string(coordinate_from_string(reference)[0])
        except ValueError:
            return 0

    def _finish_row(self, done: list[list[Any]]) -> None:
        if self.row_number > MAX_FILE_ROWS:
            raise too_many_rows(self.name)
        done.extend([] for _ in range(self.row_number - 1 - self.rows_so_far))
        width = self.last_column  # up to its last cell, as openpyxl reads a row
        if width > MAX_FILE_COLUMNS:  # empty cells beyond the limit (formatting) do not count
            width = max((column for column, value in self.row.items() if value != ""), default=0)
            if width > MAX_FILE_COLUMNS:
                raise too_many_columns(self.name, self.row_number, width)
        values = [None] * width
        for column, value in self.row.items():
            if column <= width:
                values[column - 1] = value
        done.append(values)
        self.rows_so_far = max(self.rows_so_far, self.row_number)
        self.row = {}

    def _value(self) -> Any:
        kind = (self.cell or {}).get("t", "n")
        if kind == "inlineStr":
            return self.inline.take()
        self.inline.take()
        text = "".join(self.value) or None
        if text is None:
            return None
        try:
            if kind == "n":
                number = float(text) if any(c in text for c in ".Ee") else int(text)
                style = _number((self.cell or {}).get("s"))
                if style in self.dates:
                    return from_excel(number, self.epoch, timedelta=style in self.durations)
                return number
            if kind == "s":
                return self.strings[int(text)]
            if kind == "b":
                return bool(int(text))
            if kind == "d":
                return from_ISO8601(text)
        except (ValueError, IndexError, OverflowError):
            return None  # openpyxl shows such a cell as an error value; none of ours
        return text  # "str" (a formula's cached text) and "e" (an error like #N/A)
