"""OpenAI-compatible image provider (`POST {OPENAI_BASE_URL}/images/generations`).

`OPENAI_BASE_URL` follows OpenAI's own SDK: it includes `/v1`. The request is shaped per model
(`OPENAI_IMAGE_MODEL`, one of `OPENAI_MODELS`) from `server.sheet.capabilities`: the
nearest size the model makes, `quality` from `rendering` where the model has one, and base64
answers (so no image link on another host has to be trusted after the image was paid for). The
API has no seed, magic prompt, style, palette or negative prompt: style, palette and negative
prompt travel as words in the prompt, and validation warns about all of them, so nothing is
dropped silently.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import replace
from typing import Any

import httpx

from server.config import Settings
from server.sheet.capabilities import Capabilities, openai_capabilities
from server.sheet.request import ImageRequest

from . import _http
from .base import AccountProviderError, GeneratedImage, PermanentProviderError

SERVICE = "The OpenAI image service"
PATH = "/images/generations"
# OpenAI answers a moderation refusal with HTTP 400 and one of these error codes.
REFUSAL_CODES = ("moderation_blocked", "content_policy_violation")
# A 429 with this code is billing, not a rate limit: waiting does not help.
QUOTA_CODE = "insufficient_quota"


def body_for(request: ImageRequest, capabilities: Capabilities) -> dict[str, Any]:
    """The JSON body for one image of this row with the provider's model."""
    settings = request.__dict__
    model = capabilities.openai
    body = {"model": model.name, "prompt": capabilities.prompt(settings), "n": 1,
            "size": capabilities.size(request.aspect_ratio)}
    quality = capabilities.quality(request.rendering)
    if quality:
        body["quality"] = quality
    if model.takes_response_format:
        body["response_format"] = "b64_json"  # gpt-image models refuse it and always answer so
    return body


class OpenAIProvider:
    name = "openai"

    def __init__(self, settings: Settings, client: httpx.Client):
        # make_provider has checked that the key is set.
        self._key = settings.openai_api_key
        self._base = settings.openai_base_url.rstrip("/")
        self._capabilities = openai_capabilities(settings.openai_model)
        self._timeout = settings.provider_timeout
        # We ask for base64; a compatible server that answers a link anyway is trusted only on
        # the hosts listed (see _http.host_allowed).
        self._hosts = settings.openai_image_hosts
        self._client = client

    def generate(self, request: ImageRequest, seed: int | None) -> GeneratedImage:
        body = body_for(request, self._capabilities)
        response = _http.send(self._client, "POST", self._base + PATH, service=SERVICE,
                              timeout=self._timeout, json=body,
                              headers={"Authorization": f"Bearer {self._key}"})
        _raise_if_out_of_credit(response)
        _http.raise_for_status(response, service=SERVICE, secret=self._key,
                               refusal=_refusal(response))
        image = _http.first_image(response, SERVICE)
        # No seed: the API has none, so claiming one would make "used_seed" a lie.
        made = GeneratedImage(data=None, media_type=None, seed=None,
                              prompt=image.get("revised_prompt") or body["prompt"],
                              size=body["size"])
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


def _error(response: httpx.Response) -> dict[str, Any]:
    """OpenAI's `{"error": {"message", "type", "param", "code"}}`, or {}."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}


def _raise_if_out_of_credit(response: httpx.Response) -> None:
    error = _error(response) if response.status_code == 429 else {}
    if QUOTA_CODE in (error.get("code"), error.get("type")):
        raise AccountProviderError(
            f"{SERVICE} says the account has no credit left (insufficient_quota): add credit "
            "or raise the limit in the OpenAI billing settings.")


def _refusal(response: httpx.Response) -> str | None:
    if response.status_code != 400:
        return None
    error = _error(response)
    if error.get("code") in REFUSAL_CODES:
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
