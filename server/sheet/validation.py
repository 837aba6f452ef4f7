"""Validating a whole sheet: the header, every row, the rules across columns and the row limit;
every problem names its cell and says what to do in one line.

The report counts the images and keeps the rows an estimate prices, but carries no price: what a
sheet costs is `server.money.cost`'s one rule, asked by whoever shows it."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from server.sheet.capabilities import PREVIEW, Capabilities
from server.sheet.cells import PARSERS, CellError, CellWarning, is_blank, shown, text_of
from server.sheet.columns import (
    ALL_STYLES,
    COLUMN_NAMES,
    COLUMNS,
    COLUMNS_BY_NAME,
    DEFAULTS,
    MAX_DATA_ROWS,
    MAX_SHEET_ROWS,
    MODELS_WITH_PALETTE,
    RATIOS_ONLY_3_0,
    RENDERINGS_BY_MODEL,
    RESULT_COLUMNS,
    STYLES_BY_MODEL,
    column_letter,
)
from server.sheet.headers import meant_column
from server.sheet.placeholders import FILLED_COLUMNS, PlaceholderError, fill, placeholders_in
from server.sheet.request import ImageRequest, settings_as_dict
from server.sheet.summary import Summary


@dataclass(frozen=True)
class Problem:
    """One thing wrong (error) or doubtful (warning) in a sheet."""
    message: str
    column: str | None = None
    row: int | None = None
    col_index: int | None = None  # 0-based sheet column, kept to mark header problems in place
    value: Any = None
    rename_to: str | None = None  # a header meaning one of our columns: its exact name

    @property
    def cell(self) -> str | None:
        if self.row is None or self.col_index is None:
            return None
        return f"{column_letter(self.col_index)}{self.row}"

    def as_dict(self) -> dict:
        return {"cell": self.cell, "row": self.row, "column": self.column,
                "value": self.value, "message": self.message}


@dataclass
class Report:
    rows: dict[int, ImageRequest] = field(default_factory=dict)  # sheet row → valid request
    row_count: int = 0
    images: int = 0
    # Every row read, defaults standing in for bad cells: what an estimate prices, so a sheet
    # with errors is still estimated whole.
    estimated_rows: list[dict[str, Any]] = field(default_factory=list)
    first_row: dict | None = None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    columns: dict[str, int] = field(default_factory=dict)  # column name → 0-based index
    result_columns: dict[str, int] = field(default_factory=dict)  # ours, from an earlier run
    # The person's own columns (header as written, trimmed → 0-based index): placeholders read
    # them; those no placeholder uses are warned about once every row has been read.
    own_columns: dict[str, int] = field(default_factory=dict)  # the first of each name
    own_headers: list[tuple[str, int]] = field(default_factory=list)  # every one, in order
    used_own_columns: set[str] = field(default_factory=set)

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def summary(self) -> Summary:
        return Summary.of(self)

    def as_dict(self, cost: Mapping[str, Any]) -> dict:
        """DESIGN.md's validate contract, with what `server.money.cost` says the sheet costs;
        `counts` and `summary` say where the problems are (the lists stop at
        MAX_LISTED_PROBLEMS, the counts do not)."""
        return {"valid": self.valid, "rows": self.row_count, "images": self.images,
                "cost": dict(cost),
                "first_row": self.first_row,
                "errors": [problem.as_dict() for problem in listed(self.errors, "errors")],
                "warnings": [problem.as_dict() for problem in listed(self.warnings, "warnings")],
                **self.summary.as_dict()}


# What is shown (JSON, the terminal, the upload page): a hostile sheet can hold tens of thousands
# of problems; the marks in the sheet or workbook still show every one.
MAX_LISTED_PROBLEMS = 200


def listed(problems: list[Problem], kind: str) -> list[Problem]:
    """At most MAX_LISTED_PROBLEMS, then one sheet-level line saying how many more there are."""
    if len(problems) <= MAX_LISTED_PROBLEMS:
        return problems
    more = len(problems) - MAX_LISTED_PROBLEMS
    return problems[:MAX_LISTED_PROBLEMS] + [Problem(f"and {more:,} more {kind}")]


def cross_column_problems(values: dict[str, Any], model_ok: bool) -> dict[str, str]:
    """Column → message for each setting the row's model cannot do. When the model cell is
    itself wrong, only what no model offers is reported."""
    if not model_ok:
        if values["style"] in ALL_STYLES:
            return {}
        return {"style": f"Style {values['style']} does not exist; use one of: "
                         f"{', '.join(ALL_STYLES)}."}
    model = values["model"]
    conflicts = {}
    if values["aspect_ratio"] in RATIOS_ONLY_3_0 and model != "3.0":
        conflicts["aspect_ratio"] = (f"Aspect ratio {values['aspect_ratio']} needs model 3.0; "
                                     f"this row uses model {model}.")
    if values["rendering"] not in RENDERINGS_BY_MODEL[model]:
        conflicts["rendering"] = (f"Rendering {values['rendering']} needs model 3.0; model "
                                  f"{model} offers only: {', '.join(RENDERINGS_BY_MODEL[model])}.")
    if values["style"] not in STYLES_BY_MODEL[model]:
        conflicts["style"] = (f"Style {values['style']} is not available with model {model}; "
                              f"use one of: {', '.join(STYLES_BY_MODEL[model])}.")
    if values["color_palette"] is not None and model not in MODELS_WITH_PALETTE:
        conflicts["color_palette"] = (f"Colour palettes need model 2.0 or later; this row uses "
                                      f"model {model}.")
    return conflicts


def read_header(header: list[Any], report: Report) -> None:
    """Find our columns in row 1. A header meaning one of ours but not written exactly (and a
    duplicate) is an error on its header cell; an unknown one a warning; our result columns are
    skipped."""
    friendly = []
    for index, raw in enumerate(header):
        if is_blank(raw):
            continue
        name, as_written = text_of(raw), str(raw)
        if name in COLUMNS_BY_NAME and name == raw:
            if name in report.columns:
                report.errors.append(_header_problem(
                    f'The column "{name}" appears twice. Keep one and delete or rename the other.',
                    index, as_written))
            else:
                report.columns[name] = index
        elif name in RESULT_COLUMNS:
            report.result_columns.setdefault(name, index)
        elif meant := meant_column(as_written):
            friendly.append((index, as_written, meant))
        else:
            report.own_headers.append((name, index))
            report.own_columns.setdefault(name, index)
    renamed = {}
    for index, as_written, meant in friendly:
        report.errors.append(_friendly_header_problem(index, as_written, meant, report, renamed))
    for column in COLUMNS:
        if column.required and column.name not in report.columns and column.name not in renamed:
            report.errors.append(Problem(
                f'The required column "{column.name}" is missing. '
                f'Add a header cell "{column.name}" in row 1.', column.name))


def _warn_unused_own_columns(header: list[Any], report: Report) -> None:
    """Each column of the person's that no placeholder reads is ignored; a second column of a
    name a placeholder reads is too (the first one is used)."""
    for name, index in report.own_headers:
        if name not in report.used_own_columns:
            message = _unknown_header_message(name)
        elif index != report.own_columns[name]:
            first = column_letter(report.own_columns[name])
            message = (f'The column "{name}" appears twice; placeholders {{{name}}} read the '
                       f"first one (column {first}), so this one is ignored.")
        else:
            continue
        report.warnings.append(_header_problem(message, index, str(header[index])))


def _header_problem(message: str, index: int, as_written: str,
                    rename_to: str | None = None) -> Problem:
    """A problem of a header cell (row 1): its column is the header as written."""
    return Problem(message, as_written, 1, index, as_written, rename_to)


def _friendly_header_problem(index: int, as_written: str, meant: str, report: Report,
                             renamed: dict[str, int]) -> Problem:
    """The error for a header that means `meant`: rename it, unless the sheet already has that
    column (then one of the two must go; renaming would make a duplicate)."""
    other = report.columns.get(meant, renamed.get(meant))
    if other is not None:
        return _header_problem(
            f'The header "{as_written}" means {meant}, which column {column_letter(other)} '
            "already has. Keep one of the two columns and delete the other.", index, as_written)
    renamed[meant] = index
    return _header_problem(
        f'The header "{as_written}" must be written exactly {meant}: rename it to {meant}. '
        "Until then nothing in this column would be used.", index, as_written, meant)


def _unknown_header_message(name: str) -> str:
    guess = difflib.get_close_matches(name.lower(), COLUMN_NAMES, n=1, cutoff=0.7)
    hint = f' Did you mean "{guess[0]}"?' if guess else ""
    return f'The column "{name}" is not one we use, so it is ignored.{hint}'


def _row_is_empty(values: list[Any], ignored: set[int]) -> bool:
    return all(is_blank(value) for index, value in enumerate(values) if index not in ignored)


def read_row(row: int, values: list[Any], report: Report,
             capabilities: Capabilities = PREVIEW) -> tuple[dict[str, Any], bool]:
    """Normalise one data row, reporting each problem, and warning about each setting the
    provider cannot carry as asked.

    Returns every column's setting (defaults standing in for bad cells, so the estimate still
    counts the row) and whether the row is free of errors.
    """
    settings, problems = dict(DEFAULTS), []
    for name, index in report.columns.items():
        raw = values[index] if index < len(values) else None
        if is_blank(raw) and not COLUMNS_BY_NAME[name].required:
            continue
        try:
            settings[name] = PARSERS[name](raw)
        except CellWarning as warning:
            settings[name] = warning.normalised
            report.warnings.append(Problem(str(warning), name, row, index, shown(raw)))
        except CellError as error:
            problems.append(Problem(str(error), name, row, index, shown(raw)))
    bad = {problem.column for problem in problems}
    problems += _fill_placeholders(row, values, settings, bad, report)
    for name, message in cross_column_problems(settings, model_ok="model" not in bad).items():
        if name not in bad:
            index = report.columns[name]
            problems.append(Problem(message, name, row, index, shown(values[index])))
    report.errors.extend(problems)
    if not problems:
        _provider_warnings(row, values, settings, report, capabilities)
    return settings, not problems


def _fill_placeholders(row: int, values: list[Any], settings: dict[str, Any], bad: set[str],
                       report: Report) -> list[Problem]:
    """Fill `{name}` in the prompt columns from the row's own cells, so the preview, the
    estimate, the fingerprint and the request all see the text that is sent."""
    def cell_of(name: str) -> tuple[bool, Any]:
        index = report.own_columns.get(name)
        if index is None:
            return False, None
        return True, values[index] if index < len(values) else None

    problems = []
    for name in FILLED_COLUMNS:
        text = settings[name]
        if name in bad or name not in report.columns or text is None:
            continue
        report.used_own_columns.update(placeholders_in(text))
        what = "The prompt" if name == "prompt" else "The negative prompt"
        try:
            settings[name] = fill(text, cell_of, what)
        except PlaceholderError as error:
            index = report.columns[name]
            problems.append(Problem(str(error), name, row, index, shown(values[index])))
    return problems


def _provider_warnings(row: int, values: list[Any], settings: dict[str, Any], report: Report,
                       capabilities: Capabilities) -> None:
    """Provider limits are warnings on the cell, never errors (DESIGN.md's contract)."""
    written = {name for name, index in report.columns.items()
               if index < len(values) and not is_blank(values[index])}
    for name, message in capabilities.warnings(settings, written).items():
        index = report.columns[name]
        report.warnings.append(Problem(message, name, row, index, shown(values[index])))


def validate(table: Iterable[list[Any]], capabilities: Capabilities = PREVIEW) -> Report:
    """Check a whole sheet given as rows of cell values, row 1 being the header, for the
    provider described by `capabilities` (its limits add warnings)."""
    report = Report()
    rows = iter(table)
    header = list(next(rows, None) or [])
    read_header(header, report)
    columns_ok = all(c.name in report.columns for c in COLUMNS if c.required)
    for row_number, values in enumerate(rows, start=2):
        values = list(values)
        if _row_is_empty(values, set(report.result_columns.values())):
            continue
        report.row_count += 1
        if report.row_count > MAX_DATA_ROWS:
            continue
        settings, ok = read_row(row_number, values, report, capabilities)
        if report.first_row is None:
            report.first_row = settings_as_dict(settings)
        report.estimated_rows.append(settings)
        # Without a required column no row can be made, but every other cell is still checked.
        if ok and columns_ok:
            report.rows[row_number] = ImageRequest(**settings)
    if report.row_count == 0 and all(is_blank(cell) for cell in header):
        report.errors[:] = [Problem(  # rather than "prompt and visibility are missing"
            "This sheet is empty: put the header row (prompt, visibility, …) in row 1 and one "
            "prompt per row below it, or start from a template.")]
    elif report.row_count == 0 and columns_ok:
        report.errors.append(Problem(
            "The sheet has no prompts yet: add one row per prompt under the header row."))
    if report.row_count > MAX_DATA_ROWS:
        report.errors.append(Problem(
            f"This sheet has {report.row_count} rows of prompts, more than the limit of "
            f"{MAX_DATA_ROWS} ({MAX_SHEET_ROWS} rows including the header). "
            "Split the prompts into several batches."))
    _warn_unused_own_columns(header, report)
    for problems in (report.errors, report.warnings):
        problems.sort(key=_position)
    report.images = sum(settings["num_images"] for settings in report.estimated_rows)
    return report


def _position(problem: Problem) -> tuple[int, int]:
    """Sheet-level problems first, then in reading order."""
    return problem.row or 0, -1 if problem.col_index is None else problem.col_index
