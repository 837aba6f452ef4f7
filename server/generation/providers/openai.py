"""OpenAI-compatible image provider (`POST {base_url}/v1/images/generations`).

Every OpenAI spelling lives in this module. The API has no seed, style, palette or negative
prompt, so those sheet settings are expressed in the prompt text instead of being dropped silently.
"""
from __future__ import annotations

import base64
import binascii
import math
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import httpx

from server.config import Settings
from server.sheet.request import ImageRequest

from . import _http
from .base import GeneratedImage, PermanentProviderError

SERVICE = "The OpenAI image service"
PATH = "/v1/images/generations"
SIZES = ("1024x1024", "1536x1024", "1024x1536")  # accepted by every current OpenAI image model
# OpenAI answers a moderation refusal with HTTP 400 and one of these error codes.
REFUSAL_CODES = ("moderation_blocked", "content_policy_violation")
STYLE_HINT = {"realistic": "photorealistic", "design": "graphic design", "3d": "3D render",
              "anime": "anime illustration"}


def size_for(aspect_ratio: str) -> str:
    """The size whose shape is nearest the requested ratio (compared on a log scale)."""
    width, height = (int(part) for part in aspect_ratio.split(":"))
    wanted = math.log(width / height)

    def distance(size: str) -> float:
        w, h = (int(part) for part in size.split("x"))
        return abs(math.log(w / h) - wanted)

    return min(SIZES, key=distance)


def prompt_for(request: ImageRequest) -> str:
    parts = [request.prompt]
    if request.style in STYLE_HINT:
        parts.append(f"Style: {STYLE_HINT[request.style]}.")
    if isinstance(request.color_palette, tuple):
        parts.append(f"Colour palette: {', '.join(request.color_palette)}.")
    elif request.color_palette:
        parts.append(f"Colour palette: {request.color_palette}.")
    if request.negative_prompt:
        parts.append(f"Avoid: {request.negative_prompt}.")
    return " ".join(parts)


def body_for(request: ImageRequest, model: str) -> dict[str, Any]:
    # No response_format: gpt-image models reject it and always answer b64_json; others default to url.
    return {"model": model, "prompt": prompt_for(request), "n": 1,
            "size": size_for(request.aspect_ratio)}


class OpenAIProvider:
    name = "openai"

    def __init__(self, settings: Settings, client: httpx.Client):
        # make_provider has checked that the key is set.
        self._key = settings.openai_api_key
        self._base = settings.openai_base_url.rstrip("/")
        self._model = settings.openai_model
        self._timeout = settings.provider_timeout
        # Image links are only trusted from the API's own host (see _http.host_allowed).
        self._hosts = (urlsplit(self._base).hostname or "",)
        self._client = client

    def generate(self, request: ImageRequest, seed: int | None) -> GeneratedImage:
        body = body_for(request, self._model)
        response = _http.send(self._client, "POST", self._base + PATH, service=SERVICE,
                              timeout=self._timeout, json=body,
                              headers={"Authorization": f"Bearer {self._key}"})
        _http.raise_for_status(response, service=SERVICE, secret=self._key,
                               refusal=_refusal(response))
        image = _http.first_image(response, SERVICE)
        # No seed: the API has none, so claiming one would make "used_seed" a lie.
        made = GeneratedImage(data=None, media_type=None, seed=None,
                              prompt=image.get("revised_prompt") or body["prompt"])
        if image.get("b64_json"):
            return replace(made, data=(data := _decoded(image["b64_json"])),
                           media_type=_sniff(data))
        if image.get("url"):
            return self.fetch(replace(made, url=image["url"]))
        raise PermanentProviderError(f"{SERVICE} answered without an image.")

    def fetch(self, image: GeneratedImage) -> GeneratedImage:
        return _http.fetch(self._client, image, hosts=self._hosts, service=SERVICE,
                           timeout=self._timeout)


def _decoded(b64: str) -> bytes:
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise PermanentProviderError(f"{SERVICE} sent an image we could not decode.") from None


def _refusal(response: httpx.Response) -> str | None:
    if response.status_code != 400:
        return None
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return None
    if isinstance(error, dict) and error.get("code") in REFUSAL_CODES:
        return f"{SERVICE} refused the prompt (safety check): {error.get('message', '')}".strip()
    return None


def _sniff(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"
