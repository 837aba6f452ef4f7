"""Free local placeholder: a PNG of the requested shape and palette that shows the prompt.

It exists so a sheet can be tried end to end without an API key; the label makes sure nobody
mistakes it for a generated image.
"""
from __future__ import annotations

import hashlib
import io
import random
import secrets
import textwrap

from PIL import Image, ImageDraw, ImageFont

from server.sheet.columns import MAX_SEED
from server.sheet.request import ImageRequest

from .base import GeneratedImage

LONGEST_SIDE = 512
# ASCII only: the bundled default font has no em dash.
LABEL = "PREVIEW - not a generated image"
# A fixed look per preset, loosely after the preset's name.
PRESET_COLOURS = {
    "ember": ("#3B0A0A", "#B3261E", "#F28C28", "#FFD166"),
    "fresh": ("#E8F6EF", "#7BD389", "#38A3A5", "#22577A"),
    "jungle": ("#0B3D20", "#1E6F3D", "#6BAA75", "#C9E4CA"),
    "magic": ("#2A0944", "#7B2CBF", "#C77DFF", "#F3C4FB"),
    "melon": ("#FFE5D9", "#FFB4A2", "#E5989B", "#6D9F71"),
    "mosaic": ("#264653", "#2A9D8F", "#E9C46A", "#E76F51"),
    "pastel": ("#FDE2E4", "#E2ECE9", "#CDDAFD", "#FFF1E6"),
    "ultramarine": ("#03045E", "#0033A0", "#4361EE", "#90E0EF"),
}


def size_for(aspect_ratio: str) -> tuple[int, int]:
    width, height = (int(part) for part in aspect_ratio.split(":"))
    scale = LONGEST_SIDE / max(width, height)
    return round(width * scale), round(height * scale)


def seed_for(seed: int | None) -> int:
    """Like a real model, an unseeded request gets a random seed (so a row's images differ)."""
    return secrets.randbelow(MAX_SEED + 1) if seed is None else seed


def colours_for(request: ImageRequest) -> tuple[str, ...]:
    palette = request.color_palette
    if isinstance(palette, tuple) and palette:
        return palette
    if isinstance(palette, str) and palette in PRESET_COLOURS:
        return PRESET_COLOURS[palette]
    digest = hashlib.sha256(request.prompt.encode()).digest()
    return tuple("#%02X%02X%02X" % tuple(digest[i:i + 3]) for i in range(0, 12, 3))


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _ink_on(colour: str) -> str:
    red, green, blue = _rgb(colour)
    return "#000000" if red * 299 + green * 587 + blue * 114 > 128_000 else "#FFFFFF"


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size)
    except TypeError:  # Pillow without FreeType: the bitmap font has one size
        return ImageFont.load_default()


def render(request: ImageRequest, seed: int) -> bytes:
    width, height = size_for(request.aspect_ratio)
    colours = colours_for(request)
    image = Image.new("RGB", (width, height), colours[0])
    draw = ImageDraw.Draw(image)
    shapes = random.Random(seed)  # the seed changes the picture, as it would for a real model
    for index in range(12):
        x, y = shapes.randrange(width), shapes.randrange(height)
        radius = shapes.randrange(10, max(11, min(width, height) // 3))
        draw.ellipse((x - radius, y - radius, x + radius, y + radius),
                     fill=colours[1 + index % max(1, len(colours) - 1)] if len(colours) > 1
                     else colours[0], outline=_ink_on(colours[0]))
    _draw_text(draw, request.prompt, width, height)
    _draw_label(draw, width, height, seed)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _draw_text(draw: ImageDraw.ImageDraw, prompt: str, width: int, height: int) -> None:
    size = max(10, min(width, height) // 18)
    font = _font(size)
    columns = max(8, int(width * 0.9 / (size * 0.55)))
    lines = textwrap.wrap(prompt, columns)[: max(1, int(height * 0.6 / (size * 1.3)))]
    top = height * 0.2
    for number, line in enumerate(lines):
        draw.text((width * 0.05, top + number * size * 1.3), line, font=font, fill="#FFFFFF",
                  stroke_width=2, stroke_fill="#000000")


def _draw_label(draw: ImageDraw.ImageDraw, width: int, height: int, seed: int) -> None:
    size = max(10, min(width, height) // 16)
    band = int(size * 1.8)
    draw.rectangle((0, 0, width, band), fill="#FFD400")
    draw.text((6, band * 0.2), LABEL, font=_font(size), fill="#000000")
    small = max(9, size * 2 // 3)
    draw.text((6, height - small * 1.6), f"seed {seed}", font=_font(small), fill="#FFFFFF",
              stroke_width=1, stroke_fill="#000000")


class PreviewProvider:
    name = "preview"

    def generate(self, request: ImageRequest, seed: int | None) -> GeneratedImage:
        used_seed = seed_for(seed)
        return GeneratedImage(data=render(request, used_seed), media_type="image/png",
                              seed=used_seed, prompt=request.prompt, preview=True,
                              size="%dx%d" % size_for(request.aspect_ratio))

    def fetch(self, image: GeneratedImage) -> GeneratedImage:
        return image  # drawn here: nothing to fetch
