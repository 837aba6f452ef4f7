"""The structured answer asked of the chat model, shaped from our own column rules
(`server/sheet/columns.py`): a strict JSON schema, so the service checks the shape and the
enumerations, and validation checks the rest (rules across columns, the prompt's text)."""
from __future__ import annotations

from typing import Any, Iterable

from server.sheet.columns import COLUMNS_BY_NAME

# What the model may choose when the person has not fixed it. Visibility, the number of images
# and the seed are the person's decisions (money, privacy, repeatability), never the model's.
TEXT_COLUMNS = ("prompt", "negative_prompt")
CHOSEN_COLUMNS = ("aspect_ratio", "magic_prompt", "model", "rendering", "style", "color_palette")
SCHEMA_NAME = "batch_rows"
# The settings the web and sidebar forms let a person fix for every row.
FIXABLE_COLUMNS = ("aspect_ratio", "model", "style", "rendering", "magic_prompt", "num_images",
                   "visibility")


def written_columns(fixed: Iterable[str],
                    allowed: Iterable[str] | None = None) -> tuple[str, ...]:
    """The columns the model writes: the prompt, and the negative prompt and every setting it
    may choose (of `allowed`, when given: a sheet's own columns), less those the person fixed."""
    fixed = set(fixed)
    allowed = None if allowed is None else set(allowed) | {"prompt"}
    return tuple(name for name in (*TEXT_COLUMNS, *CHOSEN_COLUMNS)
                 if name not in fixed and (allowed is None or name in allowed))


def _column_schema(name: str) -> dict[str, Any]:
    column = COLUMNS_BY_NAME[name]
    if name == "prompt":
        return {"type": "string", "description": "The image prompt: one self-contained "
                "description of the picture, in the language style of the examples."}
    if name == "negative_prompt":
        return {"type": ["string", "null"], "description": "Keywords separated by commas for "
                "what the image must not show, or null when the goal asks for none."}
    return {"anyOf": [{"type": "string", "enum": list(column.choices)}, {"type": "null"}],
            "description": f"{column.description}; null for the default ({column.default})."}


def response_schema(rows: int, columns: Iterable[str]) -> dict[str, Any]:
    """Exactly `rows` rows, each with every one of `columns` (strict mode wants every property
    required and no others; null stands for a blank cell)."""
    columns = list(columns)
    row = {"type": "object", "additionalProperties": False, "required": list(columns),
           "properties": {name: _column_schema(name) for name in columns}}
    return {"type": "object", "additionalProperties": False, "required": ["rows"],
            "properties": {"rows": {"type": "array", "minItems": rows, "maxItems": rows,
                                    "items": row}}}


def response_format(rows: int, columns: Iterable[str]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {
        "name": SCHEMA_NAME, "strict": True, "schema": response_schema(rows, columns)}}
