"""One normalised data row: what a provider is asked to make."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ImageRequest:
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


def settings_as_dict(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as the person would write them (a palette of colours as one text)."""
    palette = settings["color_palette"]
    # A palette read back from JSON is a list.
    joined = " ".join(palette) if isinstance(palette, (tuple, list)) else palette
    return settings | {"color_palette": joined}
