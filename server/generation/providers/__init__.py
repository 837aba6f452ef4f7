"""Image providers: pick one by name with make_provider()."""
from __future__ import annotations

import hashlib

import httpx

from server.config import Settings
from server.sheet.capabilities import PROVIDER_NAMES

from .base import (
    AccountProviderError,
    GeneratedImage,
    InflightLimited,
    PermanentProviderError,
    Provider,
    ProviderError,
    TransientProviderError,
)

__all__ = ["AccountProviderError", "GeneratedImage", "InflightLimited", "PermanentProviderError",
           "Provider",
           "ProviderError", "TransientProviderError", "PROVIDER_NAMES", "account_id",
           "accounts_held", "available_providers", "make_provider"]


def canonical_name(name: str | None) -> str:
    """A provider name as we keep it ("PREVIEW " is "preview")."""
    return (name or "").strip().lower()


def make_provider(name: str, settings: Settings, client: httpx.Client | None = None) -> Provider:
    """The provider called `name`; `client` lets callers share one connection pool."""
    key = canonical_name(name)
    if key == "preview":
        from .preview import PreviewProvider
        return PreviewProvider()
    if key not in PROVIDER_NAMES:
        raise ValueError(f"Unknown image provider {name!r}; choose one of: "
                         f"{', '.join(PROVIDER_NAMES)}.")
    _require_key(key, settings)
    client = client or httpx.Client(timeout=settings.provider_timeout)
    if key == "ideogram":
        from .ideogram import IdeogramProvider
        return IdeogramProvider(settings, client)
    from .openai import OpenAIProvider
    return OpenAIProvider(settings, client)


def available_providers(settings: Settings) -> tuple[str, ...]:
    """The providers that can run here: those whose key is set, and the free preview."""
    return tuple(name for name in PROVIDER_NAMES if name == "preview" or _api_key(name, settings))


def account_id(name: str, settings: Settings) -> str:
    """The provider account these settings pay with: an id of its API key (the key itself never
    reaches Redis). A batch records it; only workers holding the same key make its images."""
    return hashlib.sha256(f"{name}:{_api_key(name, settings) or ''}".encode()).hexdigest()[:16]


def accounts_held(settings: Settings) -> list[str]:
    """The accounts a worker with these settings can pay with."""
    return [account_id(name, settings) for name in available_providers(settings)]


def _api_key(name: str, settings: Settings) -> str | None:
    return {"ideogram": settings.ideogram_api_key, "openai": settings.openai_api_key}.get(name)


def _require_key(name: str, settings: Settings) -> None:
    variable = {"ideogram": "IDEOGRAM_API_KEY", "openai": "OPENAI_API_KEY"}[name]
    if not _api_key(name, settings):
        raise ValueError(f"The {name} provider needs an API key: set {variable} in the environment "
                         "(or use the free 'preview' provider, which draws placeholders).")
