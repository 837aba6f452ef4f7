"""One normalised data row: what a provider is asked to make."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

# The settings that shape an image; visibility and num_images do not change any one image.
SHAPING = ("prompt", "aspect_ratio", "magic_prompt", "model", "seed_number", "rendering",
           "negative_prompt", "style", "color_palette")


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

    def to_json(self) -> str:
        """The one serialisation of a request (Redis, job arguments): `from_json` gives it back
        with every type intact."""
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> "ImageRequest":
        data = json.loads(text)
        if isinstance(data.get("color_palette"), list):  # JSON has no tuples
            data["color_palette"] = tuple(data["color_palette"])
        return cls(**data)

    def fingerprint(self, index: int, provider: str) -> str:
        """What identifies image `index` of this row beyond its place: every setting that shapes
        it and the provider that makes it. An image stored under another fingerprint is stale."""
        shaping = {name: getattr(self, name) for name in SHAPING}
        text = json.dumps([shaping, index, provider], ensure_ascii=False, sort_keys=True,
                          default=list)
        return hashlib.sha256(text.encode()).hexdigest()[:24]


def settings_as_dict(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as the person would write them (a palette of colours as one text)."""
    palette = settings["color_palette"]
    # A palette read back from JSON is a list.
    joined = " ".join(palette) if isinstance(palette, (tuple, list)) else palette
    return settings | {"color_palette": joined}
