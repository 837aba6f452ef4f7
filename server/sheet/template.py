"""The brief's templates: a simple one (the columns most people need) and the full one, with the
input rules (dropdowns, number ranges) that both the workbook and the Google Sheets tab offer."""
from __future__ import annotations

from dataclasses import dataclass

from server.sheet.columns import COLUMNS, COLUMNS_BY_NAME

SIMPLE_COLUMNS = ("prompt", "visibility", "aspect_ratio", "model", "style")
FULL_COLUMNS = tuple(column.name for column in COLUMNS)
TEXT_COLUMNS = ("prompt", "aspect_ratio", "model", "negative_prompt", "color_palette")

EXAMPLE_ROWS = (
    {"prompt": "A sticker design of a cute cat with a curious expression peeking out of a "
               'cardboard box where it barely fits. The text "If I Fits, I Sits" is written in a '
               "quirky font below the cat. The background is white.",
     "visibility": "private", "aspect_ratio": "1:1", "magic_prompt": "on", "model": "2.0",
     "num_images": 4, "rendering": "default", "style": "design"},
    {"prompt": "A charming and whimsical sticker design featuring a sleepy owl perched on a book, "
               "its eyes half-closed. The sticker has a thick white outline.",
     "visibility": "private", "aspect_ratio": "16:9", "magic_prompt": "off", "model": "3.0",
     "num_images": 2, "seed_number": 12345, "rendering": "quality",
     "negative_prompt": "blurry, text", "style": "general", "color_palette": "pastel"},
    {"prompt": 'A vibrant, retro-inspired sticker with bold white outlines. The phrase "NEVER GIVE '
               'UP!" is written in a dynamic 1950s cursive font.',
     "visibility": "public", "aspect_ratio": "2:3", "magic_prompt": "on", "model": "2a",
     "num_images": 1, "rendering": "turbo", "style": "3d",
     "color_palette": "#CBA324 #F86C14 #C71E71"},
)

# The full template also shows a prompt filled from a column of the person's own
# (server/sheet/placeholders.py): one extra column after the brief's, used by one extra row.
PLACEHOLDER_EXAMPLE_COLUMN = "animal"
PLACEHOLDER_EXAMPLE = {
    "prompt": "A sticker design of a {animal} wearing a tiny party hat, thick white outline.",
    "visibility": "private", "aspect_ratio": "1:1", "model": "3.0", "num_images": 1,
    "style": "design", PLACEHOLDER_EXAMPLE_COLUMN: "red panda"}


def template_rows(full: bool) -> list[list]:
    names = (*FULL_COLUMNS, PLACEHOLDER_EXAMPLE_COLUMN) if full else SIMPLE_COLUMNS
    examples = (*EXAMPLE_ROWS, PLACEHOLDER_EXAMPLE) if full else EXAMPLE_ROWS
    return [list(names)] + [[example.get(name) for name in names] for example in examples]


@dataclass(frozen=True)
class InputRule:
    """What a column accepts while the person types: a list of choices or a whole-number range.
    A loose rule only suggests (hex colours are allowed beside the palette presets)."""
    message: str
    choices: tuple[str, ...] = ()
    whole_numbers: tuple[int, int] | None = None
    strict: bool = True


def input_rule(name: str) -> InputRule | None:
    column = COLUMNS_BY_NAME.get(name)
    if column is None:
        return None
    if column.whole_numbers:
        low, high = column.whole_numbers
        return InputRule(f"A whole number from {low} to {high}", whole_numbers=(low, high))
    if column.choices:
        return InputRule(column.description, choices=column.choices,
                         strict=name != "color_palette")
    return None
