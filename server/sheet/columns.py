"""Every column of the batch sheet, its allowed values and its default: the single source that
the CLI, the web API (and through it the add-in), the workers and the tests read."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_SHEET_ROWS = 500  # including the header, as the brief says
MAX_DATA_ROWS = MAX_SHEET_ROWS - 1
MAX_SEED = 2147483647
MAX_PALETTE_COLOURS = 5
MAX_IMAGES_PER_ROW = 4
# The longest prompt any provider we call accepts (OpenAI's gpt-image-1: 32,000 characters; the
# Ideogram API publishes no limit). Longer text is an error, never stored or sent.
MAX_PROMPT_CHARS = 32_000

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
VISIBILITIES = ("public", "private")
SWITCH = ("on", "off")


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()
    whole_numbers: tuple[int, int] | None = None  # inclusive bounds of a whole-number column


COLUMNS = (
    Column("prompt", "Any text", required=True),
    Column("visibility", "public or private", required=True, choices=VISIBILITIES),
    Column("aspect_ratio", "A predefined ratio such as 16:9", "1:1", choices=ASPECT_RATIOS),
    Column("magic_prompt", "on or off", "on", choices=SWITCH),
    Column("model", "3.0, 2.0, 2a or 1.0", "2.0", choices=MODELS),
    Column("num_images", f"A whole number from 1 to {MAX_IMAGES_PER_ROW}", MAX_IMAGES_PER_ROW,
           whole_numbers=(1, MAX_IMAGES_PER_ROW)),
    Column("seed_number", f"A whole number from 0 to {MAX_SEED}", whole_numbers=(0, MAX_SEED)),
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

IMAGE_COLUMNS = tuple(f"image_{index}" for index in range(1, MAX_IMAGES_PER_ROW + 1))
RESULT_COLUMNS = ("status", *IMAGE_COLUMNS, "preview", "used_seed", "used_size", "used_prompt",
                  "error")


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters
