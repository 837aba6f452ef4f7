"""The image providers we know, one row each: the table every caller asks.

A row says everything the rest of the code may know about a provider: its name, whether it is
free, the environment variable of its API key and the `Settings` field holding it, its
capabilities (for OpenAI, those of the configured image model), and its client. As in
notifications-api's provider clients, callers look a provider up by name here and never spell a
provider's particulars themselves (no `== "preview"`, no list of names, no key variable).

The table is pure data, so that every layer can read it: `config` (the default provider),
`money` (what is free), the command line and the web pages (what can run). The sheet rules
(`server/sheet/`) do not read it: they are handed a provider's capabilities by their callers.
Each client is named by its import path and imported only when one is made
(`server.generation.providers.make_provider`), which keeps HTTP out of this module and of
everything that imports it.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Callable

from server.sheet.capabilities import (
    DEFAULT_OPENAI_MODEL,
    IDEOGRAM,
    PREVIEW,
    Capabilities,
    openai_capabilities,
)

if TYPE_CHECKING:
    from server.config import Settings


@dataclass(frozen=True)
class ProviderInfo:
    name: str
    free: bool
    key_variable: str | None  # the environment variable of its API key; None: it needs none
    key_setting: str | None  # the Settings field that variable fills
    client: str  # "module:Class" of its client, imported only when one is made
    limits: Callable[[str], Capabilities]  # the OpenAI image model → its capabilities

    def capabilities(self, openai_model: str = DEFAULT_OPENAI_MODEL) -> Capabilities:
        return self.limits(openai_model)

    def api_key(self, settings: Settings) -> str | None:
        return getattr(settings, self.key_setting) if self.key_setting else None

    def can_run(self, settings: Settings) -> bool:
        """A provider runs here when it needs no key or its key is set."""
        return self.key_setting is None or bool(self.api_key(settings))

    def client_class(self) -> type:
        module, _, name = self.client.partition(":")
        return getattr(import_module(module), name)


PROVIDERS = {provider.name: provider for provider in (
    ProviderInfo("ideogram", free=False, key_variable="IDEOGRAM_API_KEY",
                 key_setting="ideogram_api_key",
                 client="server.generation.providers.ideogram:IdeogramProvider",
                 limits=lambda openai_model: IDEOGRAM),
    ProviderInfo("openai", free=False, key_variable="OPENAI_API_KEY",
                 key_setting="openai_api_key",
                 client="server.generation.providers.openai:OpenAIProvider",
                 limits=openai_capabilities),
    ProviderInfo("preview", free=True, key_variable=None, key_setting=None,
                 client="server.generation.providers.preview:PreviewProvider",
                 limits=lambda openai_model: PREVIEW),
)}
PROVIDER_NAMES = tuple(PROVIDERS)  # in the order they are offered
# What runs when no paid provider can: free, and needs no key.
FALLBACK_PROVIDER = next(p.name for p in PROVIDERS.values() if p.free and not p.key_variable)


def canonical_name(name: str | None) -> str:
    """A provider name as we keep it ("PREVIEW " is "preview")."""
    return (name or "").strip().lower()


def provider_named(name: str) -> ProviderInfo:
    """The row of a provider by name; ValueError, naming the choices, for one we do not know."""
    provider = PROVIDERS.get(canonical_name(name))
    if provider is None:
        raise ValueError(f"Unknown image provider {name!r}; choose one of: "
                         f"{', '.join(PROVIDER_NAMES)}.")
    return provider


def is_free(name: str) -> bool:
    """Whether a provider costs nothing (an unknown name is not free)."""
    provider = PROVIDERS.get(name)
    return provider is not None and provider.free


def capabilities_for(name: str, openai_model: str = DEFAULT_OPENAI_MODEL) -> Capabilities:
    """The capabilities of a provider by name (`openai_model`: the OPENAI_IMAGE_MODEL setting)."""
    return provider_named(name).capabilities(openai_model)


def default_provider(key_of: Callable[[ProviderInfo], str | None]) -> str:
    """The provider used when none is named: the first paid one whose key is set (`key_of`
    reads it), else the free fallback."""
    paid = (p for p in PROVIDERS.values() if not p.free)
    return next((p.name for p in paid if key_of(p)), FALLBACK_PROVIDER)


def available_providers(settings: Settings) -> tuple[str, ...]:
    """The providers that can run with these settings, in the order they are offered."""
    return tuple(p.name for p in PROVIDERS.values() if p.can_run(settings))


def api_keys(settings: Settings) -> tuple[str, ...]:
    """Every provider key set, for scrubbing them from whatever we store or log."""
    return tuple(key for p in PROVIDERS.values() if (key := p.api_key(settings)))


def require_key(provider: ProviderInfo, settings: Settings) -> None:
    """ValueError, saying which variable to set, when a provider's key is missing."""
    if not provider.can_run(settings):
        raise ValueError(f"The {provider.name} provider needs an API key: set "
                         f"{provider.key_variable} in the environment (or use the free "
                         f"'{FALLBACK_PROVIDER}' provider, which draws placeholders).")
