"""What each image provider can carry of a row, as data (pure: no HTTP here).

Validation warns, cell by cell, about every setting the chosen provider cannot carry and says
what happens instead; the provider clients (`server/generation/providers/`) follow the same data
and fold the same text into the prompt, so the warning and the request cannot disagree.

Everything else about a provider (whether it is free, its key, its client, which of these
capabilities it has) is the provider table's, `server.providers`: the sheet rules are handed a
provider's capabilities and need nothing more.

The facts come from the provider's published OpenAPI description (Ideogram) and OpenAI's
documented per-model parameters (`shared/reference/image-api.md`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from server.sheet.columns import MODELS

# How a style travels as words when a model or provider has no style field ("auto" and
# "general" ask for no particular look, so they add nothing).
STYLE_KEYWORDS = {"realistic": "photorealistic", "design": "graphic design", "3d": "3D render",
                  "anime": "anime illustration"}


@dataclass(frozen=True)
class OpenAIModel:
    name: str
    sizes: tuple[str, ...]  # "WxH", the only sizes the model makes
    quality: Mapping[str, str] | None  # rendering → the model's quality; None: it has none
    rewrites_prompt: bool  # dall-e-3 always rewrites the prompt (its "revised_prompt")
    max_prompt: int  # characters
    takes_response_format: bool  # gpt-image-1 refuses the field and always answers base64


GPT_IMAGE_1 = OpenAIModel("gpt-image-1", ("1024x1024", "1536x1024", "1024x1536"),
                          {"turbo": "low", "default": "medium", "quality": "high"},
                          rewrites_prompt=False, max_prompt=32000, takes_response_format=False)
OPENAI_MODELS = {model.name: model for model in (
    GPT_IMAGE_1,
    OpenAIModel("dall-e-3", ("1024x1024", "1792x1024", "1024x1792"),
                {"turbo": "standard", "default": "standard", "quality": "hd"},
                rewrites_prompt=True, max_prompt=4000, takes_response_format=True),
    OpenAIModel("dall-e-2", ("256x256", "512x512", "1024x1024"), None,
                rewrites_prompt=False, max_prompt=1000, takes_response_format=True),
)}
DEFAULT_OPENAI_MODEL = GPT_IMAGE_1.name  # OPENAI_IMAGE_MODEL's default


def nearest_size(sizes: tuple[str, ...], aspect_ratio: str) -> str:
    """The largest of `sizes` whose shape is nearest the ratio (compared on a log scale)."""
    width, height = (int(part) for part in aspect_ratio.split(":"))
    wanted = math.log(width / height)

    def distance(size: str) -> tuple[float, int]:
        w, h = (int(part) for part in size.split("x"))
        return round(abs(math.log(w / h) - wanted), 9), -w * h

    return min(sizes, key=distance)


def _same_shape(size: str, aspect_ratio: str) -> bool:
    w, h = (int(part) for part in size.split("x"))
    a, b = (int(part) for part in aspect_ratio.split(":"))
    return w * b == h * a


@dataclass(frozen=True)
class Capabilities:
    """What one provider (and, for OpenAI, its image model) does with each column.

    Anything a row asks for that is not carried is either folded into the prompt as words
    (style, palette, negative prompt) or cannot be done at all (seed, magic prompt), and the
    person is warned about it on the cell before anything is paid.
    """
    provider: str
    negative_prompt_models: tuple[str, ...] = MODELS  # models whose negative prompt is sent
    palette_models: tuple[str, ...] = MODELS  # models whose palette is sent
    style_models: tuple[str, ...] = MODELS  # models whose style is sent
    openai: OpenAIModel | None = None  # set for the OpenAI provider: one model for every row

    # -- what reaches the API --------------------------------------------------------------

    def folded(self, settings: Mapping[str, Any]) -> dict[str, str]:
        """Column → the words added to the prompt because the API has no field for it."""
        model = settings["model"]
        words = {}
        style = STYLE_KEYWORDS.get(settings["style"])
        if style and (self.openai or model not in self.style_models):
            words["style"] = f"Style: {style}."
        palette = settings["color_palette"]
        if palette and (self.openai or model not in self.palette_models):
            shown = ", ".join(palette) if isinstance(palette, tuple) else palette
            words["color_palette"] = f"Colour palette: {shown}."
        negative = settings["negative_prompt"]
        if negative and (self.openai or model not in self.negative_prompt_models):
            words["negative_prompt"] = f"Avoid: {negative}."
        return words

    def prompt(self, settings: Mapping[str, Any]) -> str:
        """The prompt sent: the row's own, then the words for what has no field, cut to the
        model's limit."""
        text = self._full_prompt(settings)
        return text[:self.openai.max_prompt] if self.openai else text

    def _full_prompt(self, settings: Mapping[str, Any]) -> str:
        return " ".join([settings["prompt"], *self.folded(settings).values()])

    def sends(self, column: str, settings: Mapping[str, Any]) -> bool:
        """Whether the column travels as its own API field for this row."""
        if self.openai:
            return False
        allowed = {"negative_prompt": self.negative_prompt_models,
                   "color_palette": self.palette_models, "style": self.style_models}
        return settings["model"] in allowed.get(column, MODELS)

    def size(self, aspect_ratio: str) -> str | None:
        """The OpenAI size made for a ratio; None where the ratio is sent as it is."""
        return nearest_size(self.openai.sizes, aspect_ratio) if self.openai else None

    def quality(self, rendering: str) -> str | None:
        if self.openai is None or self.openai.quality is None:
            return None
        return self.openai.quality[rendering]

    def price_key(self, settings: Mapping[str, Any]) -> tuple[str, str]:
        """(price-table entry, tier) of one image of this row."""
        if self.openai is None:
            return settings["model"], settings["rendering"]
        tier = " ".join(part for part in (self.quality(settings["rendering"]),
                                          self.size(settings["aspect_ratio"])) if part)
        return f"openai/{self.openai.name}", tier

    # -- what the person is told -----------------------------------------------------------

    def warnings(self, settings: Mapping[str, Any], written: set[str]) -> dict[str, str]:
        """Column → what will happen instead, for each written cell this provider cannot
        carry as asked (`written`: the columns whose cell is not blank)."""
        notes = {column: f"{self._lacks(column, settings)} It will be added to the prompt as "
                         f'"{words}" (see used_prompt).'
                 for column, words in self.folded(settings).items()}
        if self.openai:
            notes.update(self._openai_warnings(settings))
        return {column: message for column, message in notes.items() if column in written}

    def _lacks(self, column: str, settings: Mapping[str, Any]) -> str:
        what = {"style": "style", "color_palette": "colour palette",
                "negative_prompt": "negative prompt"}[column]
        if self.openai:
            return f"OpenAI's {self.openai.name} takes no {what}."
        return f"Ideogram model {settings['model']} cannot take a {what}."

    def _openai_warnings(self, settings: Mapping[str, Any]) -> dict[str, str]:
        model = self.openai
        notes = {"model": f"The openai provider makes every image with {model.name}; the model "
                          "column picks an Ideogram model, so it is ignored.",
                 "seed_number": f"{model.name} takes no seed: each image is random and "
                                "used_seed stays empty."}
        if model.rewrites_prompt and settings["magic_prompt"] == "off":
            notes["magic_prompt"] = (f"{model.name} always rewrites the prompt (magic prompt "
                                     "cannot be turned off); used_prompt shows its version.")
        elif not model.rewrites_prompt and settings["magic_prompt"] == "on":
            notes["magic_prompt"] = (f"{model.name} has no magic prompt: the prompt is sent as "
                                     "written.")
        if model.quality is None and settings["rendering"] != "default":
            notes["rendering"] = (f"{model.name} has a single quality, so rendering "
                                  f"{settings['rendering']} changes nothing.")
        size = self.size(settings["aspect_ratio"])
        if not _same_shape(size, settings["aspect_ratio"]):
            notes["aspect_ratio"] = (f"{model.name} cannot make {settings['aspect_ratio']}: the "
                                     f"nearest size it makes is {size}.")
        if len(self._full_prompt(settings)) > model.max_prompt:
            notes["prompt"] = (f"{model.name} takes at most {model.max_prompt} characters; "
                               "the rest of the prompt is cut off.")
        return notes


IDEOGRAM = Capabilities(
    "ideogram",
    # From the description's per-model rules: negative_prompt "only available for V_1,
    # V_1_TURBO, V_2 and V_2_TURBO" (and 3.0's own endpoint); color_palette "not supported by
    # V_1, V_1_TURBO, V_2A and V_2A_TURBO"; style_type "should not be specified for V_1".
    negative_prompt_models=("3.0", "2.0", "1.0"),
    palette_models=("3.0", "2.0"),
    style_models=("3.0", "2.0", "2a"),
)
PREVIEW = Capabilities("preview")  # carries everything: it draws a placeholder of any row


def openai_capabilities(model: str) -> Capabilities:
    """The OpenAI provider's limits with this image model (the OPENAI_IMAGE_MODEL setting)."""
    if model not in OPENAI_MODELS:
        raise ValueError(f"Unknown OpenAI image model {model!r}; choose one of: "
                         f"{', '.join(OPENAI_MODELS)}.")
    return Capabilities("openai", openai=OPENAI_MODELS[model])
