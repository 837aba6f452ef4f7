"""Reading one cell: each column's parser turns what a spreadsheet holds (text, numbers, times)
into the normalised setting, or explains in one line why it cannot."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Iterable

from server.sheet.columns import (
    ASPECT_RATIOS,
    COLUMNS_BY_NAME,
    MAX_PALETTE_COLOURS,
    MAX_PROMPT_CHARS,
    MODELS,
    PALETTE_PRESETS,
    RENDERINGS,
    SWITCH,
    VISIBILITIES,
)

_HEX_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")
# Control characters (tab and line breaks excepted): no image API wants them, and a workbook
# cannot even store them.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TIME_TEXT = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp])\.?[Mm]\.?)?")
# Spreadsheets store a time as a date-time on their epoch day; seeing one of these dates
# means the cell held only a time.
_TIME_ONLY_DATES = (dt.date(1899, 12, 30), dt.date(1899, 12, 31), dt.date(1900, 1, 1))


class CellError(ValueError):
    """A cell value that cannot be used; its text is the message for the person."""


class CellWarning(Exception):
    """A value we could use but want the person to look at."""

    def __init__(self, message: str, normalised: Any):
        super().__init__(message)
        self.normalised = normalised


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


SHOWN_CHARS = 200  # a problem quotes at most this much of a cell: enough to find it


def shown(value: Any) -> Any:
    """The value as the person saw it in the cell, for messages and JSON."""
    if isinstance(value, str) and len(value) > SHOWN_CHARS:
        return value[:SHOWN_CHARS - 1] + "…"
    if isinstance(value, dt.datetime) and value.date() in _TIME_ONLY_DATES:
        return value.time().isoformat()
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()  # a date the spreadsheet made, shown as one
    if isinstance(value, (dt.time, dt.date)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        hours, rest = divmod(int(value.total_seconds()), 3600)
        return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def text_of(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _choose(value: Any, choices: Iterable[str], what: str) -> str:
    text = text_of(value).lower()
    if text in choices:
        return text
    raise CellError(f"{what} must be one of: {', '.join(choices)}.")


def _whole_number(value: Any, column: str, what: str) -> int:
    low, high = COLUMNS_BY_NAME[column].whole_numbers
    if isinstance(value, bool):
        raise CellError(f"{what} must be a whole number from {low} to {high}.")
    try:
        number = float(text_of(value)) if not isinstance(value, (int, float)) else value
    except ValueError:
        raise CellError(f"{what} must be a whole number from {low} to {high}.") from None
    if not float(number).is_integer():
        raise CellError(f"{what} must be a whole number (no decimals), from {low} to {high}.")
    if not low <= number <= high:
        raise CellError(f"{what} must be from {low} to {high}.")
    return int(number)


def parse_text(value: Any, what: str) -> str:
    """Free text within the length the providers take, without control characters (a warning
    says they were removed)."""
    text = text_of(value)
    if len(text) > MAX_PROMPT_CHARS:
        raise CellError(f"{what} is {len(text):,} characters long; the limit is "
                        f"{MAX_PROMPT_CHARS:,}. Shorten it.")
    cleaned = CONTROL_CHARACTERS.sub("", text)
    if cleaned != text:
        raise CellWarning(f"{len(text) - len(cleaned)} invisible control character(s) were removed "
                          "from this text.", cleaned)
    return text


def parse_prompt(value: Any) -> str:
    if is_blank(value) or not CONTROL_CHARACTERS.sub("", str(value)).strip():
        raise CellError("The prompt is empty. Every row needs a prompt describing the image.")
    return parse_text(value, "The prompt")


def parse_visibility(value: Any) -> str:
    if is_blank(value):
        raise CellError("Visibility is empty. Write public or private.")
    return _choose(value, VISIBILITIES, "Visibility")


def parse_model(value: Any) -> str:
    text = text_of(value).lower()
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
    text = text_of(value) if isinstance(value, (str, int, float)) else None
    if text in ASPECT_RATIOS:
        return text
    parts = _time_parts(value)
    if parts and parts[2] == 0 and f"{parts[0]}:{parts[1]}" in ASPECT_RATIOS:
        ratio = f"{parts[0]}:{parts[1]}"
        raise CellWarning(
            f"Your spreadsheet turned the ratio {ratio} into the time {shown(value)}. "
            f"We read it as {ratio}; format the column as plain text so it stays exact.", ratio)
    _explain_ratio_mistake(value, text)
    raise CellError(f"Aspect ratio must be one of: {', '.join(ASPECT_RATIOS)}.")


_RATIO_LOOKALIKE = re.compile(r"\s*(\d{1,2})\s*(?::|/|x|X|×|by|\s)\s*(\d{1,2})\s*")
_DATE_TEXT = re.compile(r"\s*(?:(\d{1,2})[/.](\d{1,2})[/.]\d{2,4}|\d{4}-(\d{1,2})-(\d{1,2})"
                        r"(?:[T ]00:00(?::00)?)?)\s*")


def _explain_ratio_mistake(value: Any, text: str | None) -> None:
    """A CellError naming what went wrong for a ratio a spreadsheet turned into a date, or one
    written almost right (`16 : 9`, `2x3`, `2/3`); nothing for anything else."""
    day_month = _date_parts(value, text)
    if day_month:
        day, month = day_month
        ratios = [r for r in dict.fromkeys((f"{month}:{day}", f"{day}:{month}"))
                  if r in ASPECT_RATIOS]
        if ratios:
            typed = " or ".join(ratio.replace(":", "/") for ratio in ratios)
            raise CellError(f"Your spreadsheet turned {typed} into a date ({shown(value)}). Write "
                            f"the ratio with a colon, such as {ratios[0]}, in a column formatted "
                            "as plain text.")
    match = _RATIO_LOOKALIKE.fullmatch(text or "")
    if match and f"{int(match[1])}:{int(match[2])}" in ASPECT_RATIOS:
        raise CellError(f"Did you mean {int(match[1])}:{int(match[2])}? Aspect ratios are written "
                        f"with a colon and no spaces, one of: {', '.join(ASPECT_RATIOS)}.")


def _date_parts(value: Any, text: str | None) -> tuple[int, int] | None:
    """(day, month) of a cell that holds a date (not a time), or text that reads as one."""
    if isinstance(value, dt.datetime):
        if value.date() in _TIME_ONLY_DATES or value.time() != dt.time(0):
            return None
        return value.day, value.month
    if isinstance(value, dt.date):
        return value.day, value.month
    match = _DATE_TEXT.fullmatch(text or "")
    if not match:
        return None
    if match[1]:  # 2/3/2025: month/day or day/month, whichever the spreadsheet's language uses
        return int(match[2]), int(match[1])
    return int(match[4]), int(match[3])


def time_converted_ratio(value: Any) -> str | None:
    """The ratio a spreadsheet turned into this time, if it did (what Fix ratios writes back)."""
    try:
        parse_aspect_ratio(value)
    except CellWarning as warning:
        return warning.normalised
    except CellError:
        return None
    return None


def parse_color_palette(value: Any) -> str | tuple[str, ...]:
    text = text_of(value)
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
    "magic_prompt": lambda value: _choose(value, SWITCH, "Magic prompt"),
    "model": parse_model,
    "num_images": lambda value: _whole_number(value, "num_images", "Number of images"),
    "seed_number": lambda value: _whole_number(value, "seed_number", "Seed"),
    "rendering": lambda value: _choose(value, RENDERINGS, "Rendering"),
    "negative_prompt": lambda value: parse_text(value, "The negative prompt"),
    "style": lambda value: text_of(value).lower(),  # checked against the row's model
    "color_palette": parse_color_palette,
}
