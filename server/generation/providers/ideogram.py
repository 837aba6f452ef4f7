"""Ideogram API provider. Every Ideogram spelling lives in this module, so a correction is one edit.

Model 3.0 uses `POST /v1/ideogram-v3/generate` (multipart/form-data); models 2.0, 2a and 1.0
use the legacy `POST /generate` with a JSON `{"image_request": {...}}`. Both are checked against
the provider's published OpenAPI description. What a model cannot take (2a: palette and negative
prompt; 1.0: style) is never sent: it travels as words in the prompt, following
`server.sheet.capabilities.IDEOGRAM`, which also makes validation warn about it.
"""
from __future__ import annotations

import json
from typing import Any

import httpx

from server.config import Settings
from server.sheet.capabilities import IDEOGRAM
from server.sheet.request import ImageRequest

from . import _http
from .base import (
    WITHHELD,
    AccountProviderError,
    GeneratedImage,
    InflightLimited,
    PermanentProviderError,
)

SERVICE = "The Ideogram image service"
API_KEY_HEADER = "Api-Key"
V3_PATH = "/v1/ideogram-v3/generate"
LEGACY_PATH = "/generate"

# Model 3.0 (multipart form fields)
V3_RENDERING_SPEED = {"default": "DEFAULT", "turbo": "TURBO", "quality": "QUALITY"}
V3_STYLE_TYPE = {"auto": "AUTO", "general": "GENERAL", "realistic": "REALISTIC", "design": "DESIGN"}

# Legacy models (JSON image_request)
LEGACY_MODEL = {
    ("2.0", "default"): "V_2", ("2.0", "turbo"): "V_2_TURBO",
    ("2a", "default"): "V_2A", ("2a", "turbo"): "V_2A_TURBO",
    ("1.0", "default"): "V_1", ("1.0", "turbo"): "V_1_TURBO",
}
LEGACY_STYLE_TYPE = V3_STYLE_TYPE | {"3d": "RENDER_3D", "anime": "ANIME"}

# What a refusal's `reject_reason` means (the rate-limits and errors pages): 402 is the account
# (balance or plan), never the row; 429 `inflight_limit` is too many images in progress.
INFLIGHT_LIMIT = "inflight_limit"
CANNOT_PAY = {
    "insufficient_funds": "The Ideogram account has run out of credit (insufficient_funds); "
                          "add credit in Ideogram's billing settings.",
    "daily_limit": "The Ideogram account reached its daily limit (daily_limit); it lifts the "
                   "next day, or raise it in Ideogram's settings.",
}

MAGIC_PROMPT = {"on": "ON", "off": "OFF"}
# Recommended to descend; the API accepts 0.05..1.0.
PALETTE_WEIGHTS = (1.0, 0.8, 0.6, 0.4, 0.2)


def v3_aspect_ratio(ratio: str) -> str:
    return ratio.replace(":", "x")  # "16:9" → "16x9"


def legacy_aspect_ratio(ratio: str) -> str:
    return "ASPECT_" + ratio.replace(":", "_")  # "16:9" → "ASPECT_16_9"


def color_palette(palette: str | tuple[str, ...] | None) -> dict[str, Any] | None:
    if palette is None:
        return None
    if isinstance(palette, str):
        return {"name": palette.upper()}
    return {"members": [{"color_hex": colour, "color_weight": weight}
                        for colour, weight in zip(palette, PALETTE_WEIGHTS)]}


def v3_fields(request: ImageRequest, seed: int | None) -> list[tuple[str, str]]:
    """Form fields for model 3.0. Nested values (color_palette) travel as a JSON string field."""
    fields = {
        "prompt": IDEOGRAM.prompt(request.__dict__),
        "aspect_ratio": v3_aspect_ratio(request.aspect_ratio),
        "rendering_speed": V3_RENDERING_SPEED[request.rendering],
        "magic_prompt": MAGIC_PROMPT[request.magic_prompt],
        "style_type": V3_STYLE_TYPE[request.style],
        "num_images": "1",
        "seed": None if seed is None else str(seed),
        "negative_prompt": _if_sent(request, "negative_prompt", request.negative_prompt),
        "color_palette": _json_or_none(
            _if_sent(request, "color_palette", color_palette(request.color_palette))),
    }
    return [(name, value) for name, value in fields.items() if value is not None]


def legacy_body(request: ImageRequest, seed: int | None) -> dict[str, Any]:
    rendering = "turbo" if request.rendering == "turbo" else "default"
    image_request = {
        "prompt": IDEOGRAM.prompt(request.__dict__),
        "model": LEGACY_MODEL[(request.model, rendering)],
        "aspect_ratio": legacy_aspect_ratio(request.aspect_ratio),
        "magic_prompt_option": MAGIC_PROMPT[request.magic_prompt],
        "style_type": _if_sent(request, "style", LEGACY_STYLE_TYPE[request.style]),
        "num_images": 1,
        "seed": seed,
        "negative_prompt": _if_sent(request, "negative_prompt", request.negative_prompt),
        "color_palette": _if_sent(request, "color_palette", color_palette(request.color_palette)),
    }
    return {"image_request": {k: v for k, v in image_request.items() if v is not None}}


def _if_sent(request: ImageRequest, column: str, value: Any) -> Any:
    """The value when the row's model takes the field; otherwise nothing (the prompt carries it)."""
    return value if value and IDEOGRAM.sends(column, request.__dict__) else None


def _json_or_none(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


class IdeogramProvider:
    name = "ideogram"

    def __init__(self, settings: Settings, client: httpx.Client):
        # make_provider has checked that the key is set.
        self._key = settings.ideogram_api_key
        self._base = settings.ideogram_base_url.rstrip("/")
        self._hosts = settings.ideogram_image_hosts
        self._timeout = settings.provider_timeout
        self._client = client

    def generate(self, request: ImageRequest, seed: int | None) -> GeneratedImage:
        headers = {API_KEY_HEADER: self._key, "Accept": "application/json"}
        if request.model == "3.0":
            # (None, value) parts make httpx send plain form fields as multipart/form-data.
            files = [(name, (None, value)) for name, value in v3_fields(request, seed)]
            response = self._post(V3_PATH, headers=headers, files=files)
        else:
            response = self._post(LEGACY_PATH, headers=headers, json=legacy_body(request, seed))
        image = _safe_image(response)
        return self.fetch(GeneratedImage(data=None, media_type=None, url=image["url"],
                                         seed=image.get("seed", seed),
                                         prompt=image.get("prompt")
                                         or IDEOGRAM.prompt(request.__dict__),
                                         size=image.get("resolution")))

    def fetch(self, image: GeneratedImage) -> GeneratedImage:
        return _http.fetch(self._client, image, hosts=self._hosts, service=SERVICE,
                           timeout=self._timeout)

    def _post(self, path: str, **kwargs) -> httpx.Response:
        response = _http.send(self._client, "POST", self._base + path, service=SERVICE,
                              timeout=self._timeout, **kwargs)
        _raise_for_refusal(response)
        _http.raise_for_status(response, service=SERVICE, secret=self._key)
        return response


def _raise_for_refusal(response: httpx.Response) -> None:
    """The refusals whose `reject_reason` says more than the status: the account cannot pay
    (402), or has too many images in progress (429 inflight_limit)."""
    if response.status_code not in (402, 429):
        return
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    reason = body.get("reject_reason")
    if response.status_code == 402:
        raise AccountProviderError(CANNOT_PAY.get(
            reason, f"The Ideogram account cannot pay for more images ({reason or 'HTTP 402'})."))
    if reason == INFLIGHT_LIMIT:
        limit = body.get("max_inflight_requests")
        raise InflightLimited(f"{SERVICE} has as many images in progress as the account allows.",
                              limit if isinstance(limit, int) and limit > 0 else None)


def _safe_image(response: httpx.Response) -> dict[str, Any]:
    """The image, unless the safety check withheld it: that generation ran and is billed."""
    image = _http.first_image(response, SERVICE)
    if image.get("is_image_safe") is False or not image.get("url"):
        raise PermanentProviderError(WITHHELD, billed=True)
    return image
