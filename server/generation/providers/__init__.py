"""Image providers: pick one by name with make_provider()."""
from __future__ import annotations

import httpx

from server.config import Settings
from server.sheet.capabilities import PROVIDER_NAMES

from .base import (
    AccountProviderError,
    GeneratedImage,
    PermanentProviderError,
    Provider,
    ProviderError,
    TransientProviderError,
)

__all__ = ["AccountProviderError", "GeneratedImage", "PermanentProviderError", "Provider",
           "ProviderError", "TransientProviderError", "PROVIDER_NAMES", "available_providers",
           "make_provider"]


def make_provider(name: str, settings: Settings, client: httpx.Client | None = None) -> Provider:
    """The provider called `name`; `client` lets callers share one connection pool."""
    key = (name or "").strip().lower()
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
    return tuple(name for name in PROVIDER_NAMES if name == "preview" or _key(name, settings)[1])


def _key(name: str, settings: Settings) -> tuple[str, str | None]:
    return {"ideogram": ("IDEOGRAM_API_KEY", settings.ideogram_api_key),
            "openai": ("OPENAI_API_KEY", settings.openai_api_key)}[name]


def _require_key(name: str, settings: Settings) -> None:
    variable, value = _key(name, settings)
    if not value:
        raise ValueError(f"The {name} provider needs an API key: set {variable} in the environment "
                         "(or use the free 'preview' provider, which draws placeholders).")
