"""The batch sheet schema: every column, default and rule, with no I/O.

This is the single source of the column list and defaults: the CLI, the web API (and
through it the add-in), the workers and the tests all read them from here.
"""
from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from server.pricing import PriceTable

MAX_SHEET_ROWS = 500  # including the header, as the brief says
MAX_DATA_ROWS = MAX_SHEET_ROWS - 1
MAX_SEED = 2147483647
MAX_PALETTE_COLOURS = 5

MODELS = ("3.0", "2.0", "2a", "1.0")
MODELS_WITH_PALETTE = ("3.0", "2.0", "2a")
ASPECT_RATIOS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "16:10", "10:16",
                 "1:3", "3:1", "1:2", "2:1", "4:5", "5:4")
RATIOS_ONLY_3_0 = ("1:2", "2:1", "4:5", "5:4")
STYLES_BY_MODEL = {
    "3.0": ("auto", "general", "realistic", "design"),
    "2.0": ("auto", "general", "realistic", "design", "3d", "anime"),
    "2a": ("auto", "general", "realistic", "design", "3d", "anime"),
    "1.0": ("auto", "general", "realistic", "design", "3d", "anime"),
}
ALL_STYLES = STYLES_BY_MODEL["2.0"]
PALETTE_PRESETS = ("ember", "fresh", "jungle", "magic", "melon", "mosaic", "pastel", "ultramarine")
RENDERINGS = ("default", "turbo", "quality")
RENDERINGS_BY_MODEL = {model: ("default", "turbo") for model in MODELS} | {"3.0": RENDERINGS}


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()


COLUMNS = (
    Column("prompt", "Any text", required=True),
    Column("visibility", "public or private", required=True, choices=("public", "private")),
    Column("aspect_ratio", "A predefined ratio such as 16:9", "1:1", choices=ASPECT_RATIOS),
    Column("magic_prompt", "on or off", "on", choices=("on", "off")),
    Column("model", "3.0, 2.0, 2a or 1.0", "2.0", choices=MODELS),
    Column("num_images", "A whole number from 1 to 4", 4),
    Column("seed_number", f"A whole number from 0 to {MAX_SEED}"),
    Column("rendering", "default, turbo or quality (quality needs model 3.0)", "default",
           choices=RENDERINGS),
    Column("negative_prompt", "Keywords separated by commas"),
    Column("style", "auto, general, realistic, design; models 2.0, 2a and 1.0 also 3d, anime",
           "auto", choices=ALL_STYLES),
    Column("color_palette", "Up to five #RRGGBB values separated by spaces, or a preset name "
           "(models 2.0 and later)", choices=PALETTE_PRESETS),
)
COLUMNS_BY_NAME = {column.name: column for column in COLUMNS}
COLUMN_NAMES = tuple(COLUMNS_BY_NAME)
DEFAULTS = {column.name: column.default for column in COLUMNS}

RESULT_COLUMNS = ("status", "image_1", "image_2", "image_3", "image_4", "preview",
                  "used_seed", "used_prompt", "error")
ROW_STATUSES = ("queued", "generating", "done", "failed", "stopped")
BATCH_STATUSES = ("queued", "running", "stopping", "stopped", "completed",
                  "completed_with_errors", "failed")

_HEX_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")
_TIME_TEXT = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp])\.?[Mm]\.?)?")
# Spreadsheets store a time as a date-time on their epoch day; seeing one of these dates
# means the cell held only a time.
_TIME_ONLY_DATES = (dt.date(1899, 12, 30), dt.date(1899, 12, 31), dt.date(1900, 1, 1))


@dataclass(frozen=True)
class Problem:
    """One thing wrong (error) or doubtful (warning) in a sheet."""
    message: str
    column: str | None = None
    row: int | None = None
    col_index: int | None = None  # 0-based sheet column, kept to mark header problems in place
    value: Any = None

    @property
    def cell(self) -> str | None:
        if self.row is None or self.col_index is None:
            return None
        return f"{column_letter(self.col_index)}{self.row}"

    def as_dict(self) -> dict:
        return {"cell": self.cell, "row": self.row, "column": self.column,
                "value": self.value, "message": self.message}


@dataclass(frozen=True)
class ImageRequest:
    """One normalised data row: what a provider is asked to make."""
    prompt: str
    visibility: str
    aspect_ratio: str = "1:1"
    magic_prompt: str = "on"
    model: str = "2.0"
    num_images: int = 4
    seed_number: int | None = None
    rendering: str = "default"
    negative_prompt: str | None = None
    style: str = "auto"
    color_palette: str | tuple[str, ...] | None = None  # a preset name or #RRGGBB colours

    def as_dict(self) -> dict:
        return settings_as_dict(dict(self.__dict__))


@dataclass
class Report:
    rows: dict[int, ImageRequest] = field(default_factory=dict)  # sheet row → valid request
    row_count: int = 0
    images: int = 0
    cost: float = 0.0
    currency: str = "USD"
    first_row: dict | None = None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    columns: dict[str, int] = field(default_factory=dict)  # column name → 0-based index
    result_columns: dict[str, int] = field(default_factory=dict)  # ours, from an earlier run

    @property
    def valid(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {"valid": self.valid, "rows": self.row_count, "images": self.images,
                "cost": {"currency": self.currency, "total": self.cost},
                "first_row": self.first_row,
                "errors": [problem.as_dict() for problem in self.errors],
                "warnings": [problem.as_dict() for problem in self.warnings]}


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def shown(value: Any) -> Any:
    """The value as the person saw it in the cell, for messages and JSON."""
    if isinstance(value, dt.datetime) and value.date() in _TIME_ONLY_DATES:
        return value.time().isoformat()
    if isinstance(value, (dt.time, dt.date)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        hours, rest = divmod(int(value.total_seconds()), 3600)
        return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class CellError(ValueError):
    """A cell value that cannot be used; its text is the message for the person."""


class CellWarning(Exception):
    """A value we could use but want the person to look at."""

    def __init__(self, message: str, normalised: Any):
        super().__init__(message)
        self.normalised = normalised


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _choose(value: Any, choices: Iterable[str], what: str) -> str:
    text = _text(value).lower()
    if text in choices:
        return text
    raise CellError(f"{what} must be one of: {', '.join(choices)}.")


def _whole_number(value: Any, low: int, high: int, what: str) -> int:
    if isinstance(value, bool):
        raise CellError(f"{what} must be a whole number from {low} to {high}.")
    try:
        number = float(_text(value)) if not isinstance(value, (int, float)) else value
    except ValueError:
        raise CellError(f"{what} must be a whole number from {low} to {high}.") from None
    if not float(number).is_integer():
        raise CellError(f"{what} must be a whole number (no decimals), from {low} to {high}.")
    if not low <= number <= high:
        raise CellError(f"{what} must be from {low} to {high}.")
    return int(number)


def parse_prompt(value: Any) -> str:
    if is_blank(value):
        raise CellError("The prompt is empty. Every row needs a prompt describing the image.")
    return _text(value)


def parse_visibility(value: Any) -> str:
    if is_blank(value):
        raise CellError("Visibility is empty. Write public or private.")
    return _choose(value, ("public", "private"), "Visibility")


def parse_model(value: Any) -> str:
    text = _text(value).lower()
    if text in MODELS:
        return text
    try:
        number = float(text)
    except ValueError:
        number = None
    # A spreadsheet shows 3.0 as 3; only whole numbers can be such a model, never 2.96.
    if number is not None and number.is_integer() and f"{number:.1f}" in MODELS:
        return f"{number:.1f}"
    raise CellError(f"Model must be one of: {', '.join(MODELS)}.")


def _time_parts(value: Any) -> tuple[int, int, int] | None:
    """Hours, minutes, seconds when a spreadsheet turned the value into a time."""
    if isinstance(value, dt.datetime):
        if value.date() not in _TIME_ONLY_DATES:
            return None
        value = value.time()
    if isinstance(value, dt.time):
        return value.hour, value.minute, value.second
    if isinstance(value, dt.timedelta):
        seconds = int(value.total_seconds())
        return seconds // 3600, seconds % 3600 // 60, seconds % 60
    if isinstance(value, str):
        match = _TIME_TEXT.fullmatch(value.strip())
        if not match or (match[3] is None and match[4] is None and len(match[2]) != 2):
            return None
        hours = int(match[1]) % 12 + (12 if match[4] and match[4].lower() == "p" else 0) \
            if match[4] else int(match[1])
        return hours, int(match[2]), int(match[3] or 0)
    return None


def parse_aspect_ratio(value: Any) -> str:
    text = _text(value) if isinstance(value, (str, int, float)) else None
    if text in ASPECT_RATIOS:
        return text
    parts = _time_parts(value)
    if parts and parts[2] == 0 and f"{parts[0]}:{parts[1]}" in ASPECT_RATIOS:
        ratio = f"{parts[0]}:{parts[1]}"
        raise CellWarning(
            f"Your spreadsheet turned the ratio {ratio} into the time {shown(value)}. We read it as "
            f"{ratio}; format the column as plain text so it stays exact (in Google Sheets the "
            "add-in's Fix ratios button does this).", ratio)
    raise CellError(f"Aspect ratio must be one of: {', '.join(ASPECT_RATIOS)}.")


def parse_color_palette(value: Any) -> str | tuple[str, ...]:
    text = _text(value)
    if text.lower() in PALETTE_PRESETS:
        return text.lower()
    colours = text.split()
    if all(_HEX_COLOUR.fullmatch(colour) for colour in colours):
        if len(colours) > MAX_PALETTE_COLOURS:
            raise CellError(f"A colour palette can have at most {MAX_PALETTE_COLOURS} colours; "
                            f"this one has {len(colours)}.")
        return tuple(colour.upper() for colour in colours)
    raise CellError("Colour palette must be up to five colours like #CBA324 separated by spaces, "
                    f"or one preset: {', '.join(PALETTE_PRESETS)}.")


PARSERS = {
    "prompt": parse_prompt,
    "visibility": parse_visibility,
    "aspect_ratio": parse_aspect_ratio,
    "magic_prompt": lambda value: _choose(value, ("on", "off"), "Magic prompt"),
    "model": parse_model,
    "num_images": lambda value: _whole_number(value, 1, 4, "Number of images"),
    "seed_number": lambda value: _whole_number(value, 0, MAX_SEED, "Seed"),
    "rendering": lambda value: _choose(value, RENDERINGS, "Rendering"),
    "negative_prompt": _text,
    "style": lambda value: _text(value).lower(),  # checked against the row's model
    "color_palette": parse_color_palette,
}


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
    """Find our columns in row 1, reporting near-misses, duplicates and unknown headers."""
    for index, raw in enumerate(header):
        if is_blank(raw):
            continue
        name = _text(raw)
        as_written = str(raw)
        if name in COLUMNS_BY_NAME and name == raw:
            if name in report.columns:
                report.errors.append(Problem(
                    f'The column "{name}" appears twice. Keep one and delete or rename the other.',
                    as_written, col_index=index, value=as_written))
            else:
                report.columns[name] = index
        elif name.lower() in COLUMNS_BY_NAME:
            exact = name.lower()
            report.errors.append(Problem(
                f'The header "{as_written}" should be written exactly "{exact}" '
                "(lowercase, no extra spaces).", as_written, col_index=index, value=as_written))
        elif name in RESULT_COLUMNS:
            report.result_columns.setdefault(name, index)
        else:
            report.warnings.append(Problem(_unknown_header_message(name), as_written,
                                           col_index=index, value=as_written))
    near_misses = {problem.column.strip().lower() for problem in report.errors}
    for column in COLUMNS:
        if column.required and column.name not in report.columns and column.name not in near_misses:
            report.errors.append(Problem(
                f'The required column "{column.name}" is missing. Add a header cell "{column.name}" '
                "in row 1.", column.name))


def _unknown_header_message(name: str) -> str:
    guess = difflib.get_close_matches(name.lower(), COLUMN_NAMES, n=1, cutoff=0.7)
    hint = f' Did you mean "{guess[0]}"?' if guess else ""
    return f'The column "{name}" is not one we use, so it is ignored.{hint}'


def _row_is_empty(values: list[Any], ignored: set[int]) -> bool:
    return all(is_blank(value) for index, value in enumerate(values) if index not in ignored)


def read_row(row: int, values: list[Any], report: Report) -> tuple[dict[str, Any], bool]:
    """Normalise one data row, reporting each problem.

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
    for name, message in cross_column_problems(settings, model_ok="model" not in bad).items():
        if name not in bad:
            index = report.columns[name]
            problems.append(Problem(message, name, row, index, shown(values[index])))
    report.errors.extend(problems)
    return settings, not problems


def validate(table: Iterable[list[Any]], prices: "PriceTable") -> Report:
    """Check a whole sheet given as rows of cell values, row 1 being the header."""
    report = Report()
    rows = iter(table)
    read_header(list(next(rows, None) or []), report)
    columns_ok = all(c.name in report.columns for c in COLUMNS if c.required)
    estimates = []
    for row_number, values in enumerate(rows, start=2):
        values = list(values)
        if _row_is_empty(values, set(report.result_columns.values())):
            continue
        report.row_count += 1
        if report.row_count > MAX_DATA_ROWS:
            continue
        settings, ok = read_row(row_number, values, report)
        if report.first_row is None:
            report.first_row = settings_as_dict(settings)
        estimates.append(settings)
        # Without a required column no row can be made, but every other cell is still checked.
        if ok and columns_ok:
            report.rows[row_number] = ImageRequest(**settings)
    if report.row_count == 0 and columns_ok:
        report.errors.append(Problem(
            "The sheet has no prompts yet: add one row per prompt under the header row."))
    if report.row_count > MAX_DATA_ROWS:
        report.errors.append(Problem(
            f"This sheet has {report.row_count} rows of prompts, more than the limit of "
            f"{MAX_DATA_ROWS} ({MAX_SHEET_ROWS} rows including the header). "
            "Split it into several sheets."))
    for problems in (report.errors, report.warnings):
        problems.sort(key=_position)
    report.images = sum(settings["num_images"] for settings in estimates)
    report.cost = prices.total(estimates)
    report.currency = prices.currency
    return report


def _position(problem: Problem) -> tuple[int, int]:
    """Sheet-level problems first, then in reading order."""
    return problem.row or 0, -1 if problem.col_index is None else problem.col_index


def settings_as_dict(settings: dict[str, Any]) -> dict[str, Any]:
    palette = settings["color_palette"]
    return settings | {"color_palette": " ".join(palette) if isinstance(palette, tuple) else palette}
