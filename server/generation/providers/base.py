"""What every image provider promises: one image per call, and errors that say what to do next."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from server.sheet.request import ImageRequest


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes | None  # None until fetched from `url`
    media_type: str | None
    seed: int | None  # the seed the provider used, when it tells us
    prompt: str  # the prompt the provider used (after magic prompt / rewriting)
    preview: bool = False  # a local placeholder, not a generated image
    url: str | None = None  # the provider's temporary link, when it answered with one
    size: str | None = None  # "WxH" as made, when the provider says (it may differ from the ratio)


class ProviderError(Exception):
    """A failed generation; `reason` is written on the person's row, so it reads as plain
    English."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class TransientProviderError(ProviderError):
    """Worth retrying later: rate limits, 5xx, timeouts, dropped connections."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after  # seconds the service asked us to wait, if it said


class ImageNotFetched(TransientProviderError):
    """The image was made, and paid for, but fetching it failed: retry the fetch
    (`Provider.fetch(error.image)`), never the generation."""

    def __init__(self, reason: str, image: GeneratedImage):
        super().__init__(reason)
        self.image = image


class PermanentProviderError(ProviderError):
    """Retrying cannot help (and could pay twice): bad input, bad key, safety refusals.
    `billed`: the call ran and the account paid for it although no image came back (an image
    the safety check withheld), so it counts in the person's spend."""

    def __init__(self, reason: str, billed: bool = False):
        super().__init__(reason)
        self.billed = billed


# The row's error when the provider made an image and withheld it (billed all the same).
WITHHELD = "Image withheld by the provider's safety check (billed) — reword the prompt."


class AccountProviderError(PermanentProviderError):
    """The provider account cannot pay now (Ideogram's 402 `insufficient_funds`/`daily_limit`,
    OpenAI's `insufficient_quota`): no image can be made until credit or the day's limit allows,
    and no row is at fault, so the batch pauses (nothing more is paid) until it is resumed."""


class InflightLimited(TransientProviderError):
    """The account has as many images in progress as it may (Ideogram's `inflight_limit`): not
    run, not billed; fewer calls at once, then try again. `limit` is the account's own figure,
    in images, when the service says it."""

    def __init__(self, reason: str, limit: int | None = None):
        super().__init__(reason)
        self.limit = limit


class Provider(Protocol):
    name: str

    def generate(self, request: ImageRequest, seed: int | None) -> GeneratedImage:
        """Make exactly one image; `request.num_images` is the pipeline's business, not ours.
        Raises ImageNotFetched when it was made but could not be downloaded."""
        ...

    def fetch(self, image: GeneratedImage) -> GeneratedImage:
        """Download an image made earlier (the one an ImageNotFetched carries)."""
        ...
