"""HTTP plumbing shared by the paid providers: status → error mapping, and safe image downloads.

Each provider keeps its own wire spellings; only the behaviour that must be identical for every
provider (what is retried, which hosts we fetch images from) lives here.
"""
from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import urljoin, urlsplit

import httpx

from server.retry import parse_retry_after

from .base import (
    GeneratedImage,
    ImageNotFetched,
    PermanentProviderError,
    TransientProviderError,
)

MAX_IMAGE_BYTES = 50 * 1024 * 1024
MAX_REDIRECTS = 3
MESSAGE_LIMIT = 300


def redact(text: str, *secrets: str | None) -> str:
    """Keys must never reach a sheet or a log, even when an API echoes them back, in any case
    (host names, for one, come back lowercased)."""
    for secret in secrets:
        if secret:
            text = re.sub(re.escape(secret), "[redacted]", text, flags=re.IGNORECASE)
    return text



def api_message(response: httpx.Response) -> str:
    """The service's own explanation, whichever of the usual JSON shapes it uses."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:MESSAGE_LIMIT]
    if isinstance(body, dict):
        for key in ("error", "detail", "message"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value.get("detail")
            if isinstance(value, list):  # FastAPI-style validation details
                value = "; ".join(str(item.get("msg", item)) if isinstance(item, dict)
                                  else str(item) for item in value)
            if value:
                return str(value)[:MESSAGE_LIMIT]
    return str(body)[:MESSAGE_LIMIT]


def first_image(response: httpx.Response, service: str) -> dict:
    """The first entry of the answer's `data` list, where both APIs put the image."""
    try:
        image = response.json()["data"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        raise PermanentProviderError(f"{service} answered without an image.") from None
    if not isinstance(image, dict):
        raise PermanentProviderError(f"{service} answered without an image.")
    return image


def send(client: httpx.Client, method: str, url: str, *, service: str, timeout: float,
         **kwargs) -> httpx.Response:
    """One HTTP exchange; network trouble becomes a TransientProviderError."""
    try:
        return client.request(method, url, timeout=timeout, **kwargs)
    except httpx.TimeoutException:
        raise TransientProviderError(
            f"{service} did not answer within {timeout:g} seconds.") from None
    except (httpx.NetworkError, httpx.RemoteProtocolError) as error:
        raise TransientProviderError(
            f"The connection to {service} was lost ({type(error).__name__}).") from None
    except httpx.HTTPError as error:
        raise PermanentProviderError(
            f"Could not talk to {service} ({type(error).__name__}); check its address.") from None


def raise_for_status(response: httpx.Response, *, service: str, secret: str | None,
                     refusal: str | None = None) -> None:
    """Map an error answer to the right exception; `refusal` overrides the message for safety
    refusals."""
    status = response.status_code
    if status < 400:
        return
    said = redact(api_message(response), secret) or response.reason_phrase
    if status == 429:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        hint = f" We will try again in {wait:g} seconds." if wait is not None else ""
        raise TransientProviderError(
            f"{service} is busy and asked us to slow down (too many requests).{hint}", wait)
    if status >= 500:
        raise TransientProviderError(f"{service} had a temporary problem (HTTP {status}): {said}")
    if status == 422 or refusal:
        reason = redact(refusal, secret) if refusal else \
            f"{service} refused the prompt (safety check): {said}"
        raise PermanentProviderError(reason)
    if status in (401, 403):
        raise PermanentProviderError(
            f"{service} did not accept the API key (HTTP {status}): {said}")
    if status == 400:
        raise PermanentProviderError(f"{service} said the request is invalid: {said}")
    raise PermanentProviderError(f"{service} gave an unexpected answer (HTTP {status}): {said}")


def host_allowed(url: str, hosts: tuple[str, ...]) -> bool:
    """https from a listed host or its subdomains; plain http only from a host listed exactly.

    Following an arbitrary URL from an API answer would let anyone who can influence it make
    us fetch internal addresses, so only the provider's own image hosts are trusted.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    listed = [entry.lower().strip().rstrip(".") for entry in hosts if entry.strip()]
    if parts.scheme == "http":
        return host in listed
    if parts.scheme != "https" or not host:
        return False
    return any(host == entry or host.endswith("." + entry) for entry in listed)


def fetch(client: httpx.Client, image: GeneratedImage, *, hosts: tuple[str, ...], service: str,
          timeout: float) -> GeneratedImage:
    """The image with its bytes, fetched now from its temporary link; a transient failure raises
    ImageNotFetched (retry the fetch: the generation is already paid for)."""
    try:
        data, media_type = _download_once(client, image.url, hosts=hosts, service=service,
                                          timeout=timeout)
    except ImageNotFetched:
        raise
    except TransientProviderError as error:
        raise ImageNotFetched(error.reason, image) from None
    return replace(image, data=data, media_type=media_type)


def _download_once(client: httpx.Client, url: str, *, hosts: tuple[str, ...], service: str,
                   timeout: float) -> tuple[bytes, str]:
    for _hop in range(MAX_REDIRECTS + 1):
        if not host_allowed(url, hosts):
            raise PermanentProviderError(
                f"{service} sent an image link on a host we do not trust "
                f"({urlsplit(url).hostname}); it was not downloaded.")
        response = send(client, "GET", url, service=service, timeout=timeout)
        if response.is_redirect and "location" in response.headers:
            url = urljoin(url, response.headers["location"])
            continue
        return _image_from(response, service)
    raise PermanentProviderError(f"{service}'s image link redirected too many times.")


def _image_from(response: httpx.Response, service: str) -> tuple[bytes, str]:
    status = response.status_code
    if status in (403, 404, 410):
        raise PermanentProviderError(
            f"The image link from {service} had expired before it could be downloaded "
            f"(HTTP {status}).")
    if status == 429 or status >= 500:
        raise TransientProviderError(
            f"Downloading the image from {service} failed (HTTP {status}).")
    if status != 200:
        raise PermanentProviderError(
            f"Downloading the image from {service} failed (HTTP {status}).")
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if not media_type.startswith("image/"):
        raise PermanentProviderError(
            f"{service}'s image link did not return an image "
            f"(it returned {media_type or 'nothing'}).")
    if len(response.content) > MAX_IMAGE_BYTES:
        raise PermanentProviderError(f"{service}'s image is larger than we accept.")
    return response.content, media_type
