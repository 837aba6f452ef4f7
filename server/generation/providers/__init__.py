"""Image providers: pick one by name with make_provider()."""
from __future__ import annotations

import httpx

from server.config import Settings

from .base import (
    GeneratedImage,
    PermanentProviderError,
    Provider,
    ProviderError,
    TransientProviderError,
)

PROVIDER_NAMES = ("ideogram", "openai", "preview")

__all__ = ["GeneratedImage", "PermanentProviderError", "Provider", "ProviderError",
           "TransientProviderError", "PROVIDER_NAMES", "available_providers", "make_provider"]


def available_providers(settings: Settings) -> list[str]:
    """The providers that can run here: those with an API key, and the preview always."""
    def runnable(name: str) -> bool:
        try:
            _require_key(name, settings)
        except ValueError:
            return False
        return True
    return [name for name in PROVIDER_NAMES if name == "preview" or runnable(name)]


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


def _require_key(name: str, settings: Settings) -> None:
    variable, value = {"ideogram": ("IDEOGRAM_API_KEY", settings.ideogram_api_key),
                       "openai": ("OPENAI_API_KEY", settings.openai_api_key)}[name]
    if not value:
        raise ValueError(f"The {name} provider needs an API key: set {variable} in the environment "
                         "(or use the free 'preview' provider, which draws placeholders).")
