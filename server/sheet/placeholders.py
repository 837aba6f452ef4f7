"""Prompts filled from the row's own columns: a `{name}` in `prompt` or `negative_prompt` is
replaced by the row's cell under the header `name` (a column of the person's, never one of ours;
the header as written, case included); `{{` and `}}` write a literal brace. A brace that opens no
placeholder is kept as it is, so prompts written before placeholders existed still read the same."""
from __future__ import annotations

import re
from typing import Any, Callable

from server.sheet.cells import CONTROL_CHARACTERS, is_blank, text_of
from server.sheet.columns import COLUMN_NAMES, MAX_PROMPT_CHARS, RESULT_COLUMNS

FILLED_COLUMNS = ("prompt", "negative_prompt")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


class PlaceholderError(ValueError):
    """A placeholder that cannot be filled; `column` names the column it needed."""

    def __init__(self, message: str, column: str):
        super().__init__(message)
        self.column = column


def placeholders_in(text: str) -> list[str]:
    """The column names `text` asks for, in order of first use."""
    names = (match.group(1).strip() for match in _TOKEN.finditer(text)
             if match.group(1) is not None)
    return list(dict.fromkeys(names))


def fill(text: str, cell_of: Callable[[str], tuple[bool, Any]], what: str = "The prompt") -> str:
    """`text` with every placeholder replaced. `cell_of(name)` says whether the person's sheet
    has a column headed `name` and gives this row's value in it."""
    def replace(match: re.Match) -> str:
        if match.group(1) is None:
            return match.group(0)[0]  # "{{" → "{", "}}" → "}"
        return _value(match.group(1).strip(), cell_of, what)

    filled = _TOKEN.sub(replace, text)
    if len(filled) > MAX_PROMPT_CHARS:
        raise PlaceholderError(f"{what} is {len(filled):,} characters long once its placeholders "
                               f"are filled; the limit is {MAX_PROMPT_CHARS:,}. Shorten it.", "")
    return filled


def _value(name: str, cell_of: Callable[[str], tuple[bool, Any]], what: str) -> str:
    if not name:
        raise PlaceholderError(f'{what} has "{{}}" with no column name in it; write "{{{{}}}}" '
                               "for braces as text.", "")
    if name in COLUMN_NAMES or name in RESULT_COLUMNS:
        raise PlaceholderError(
            f'{what} uses {{{name}}}, but "{name}" is one of our own columns; a placeholder takes '
            f'its words from a column of yours (write {{{{{name}}}}} to keep the braces as text).',
            name)
    found, value = cell_of(name)
    if not found:
        raise PlaceholderError(
            f'{what} uses {{{name}}}, but there is no column headed "{name}". Add that column '
            "(the header exactly as in the braces) or change the placeholder.", name)
    if is_blank(value):
        raise PlaceholderError(
            f'{what} uses {{{name}}}, but this row\'s "{name}" cell is empty. Fill it in.', name)
    return CONTROL_CHARACTERS.sub("", text_of(value))
