"""Image providers: make one by name with make_provider(), from the provider table
(`server.providers`)."""
from __future__ import annotations

import hashlib

import httpx

from server.config import Settings
from server.providers import PROVIDERS, available_providers, provider_named, require_key

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
           "Provider", "ProviderError", "TransientProviderError", "account_id", "accounts_held",
           "make_provider"]


def make_provider(name: str, settings: Settings, client: httpx.Client | None = None) -> Provider:
    """The provider called `name`; `client` lets callers share one connection pool. A provider
    that needs no key is local: it takes neither settings nor a connection."""
    provider = provider_named(name)
    if provider.key_setting is None:
        return provider.client_class()()
    require_key(provider, settings)
    client = client or httpx.Client(timeout=settings.provider_timeout)
    return provider.client_class()(settings, client)


def account_id(name: str, settings: Settings) -> str:
    """The provider account these settings pay with: an id of its API key (the key itself never
    reaches Redis). A batch records it; only workers holding the same key make its images."""
    provider = PROVIDERS.get(name)
    key = provider.api_key(settings) if provider else None
    return hashlib.sha256(f"{name}:{key or ''}".encode()).hexdigest()[:16]


def accounts_held(settings: Settings) -> list[str]:
    """The accounts a worker with these settings can pay with."""
    return [account_id(name, settings) for name in available_providers(settings)]
