"""The provider table: each row's parts agree with each other and with the settings."""
from __future__ import annotations

import dataclasses

import pytest

from server.config import Settings
from server.generation.providers import make_provider
from server.providers import (
    FALLBACK_PROVIDER,
    PROVIDERS,
    available_providers,
    capabilities_for,
    is_free,
    provider_named,
)

FIELDS = {field.name for field in dataclasses.fields(Settings)}


@pytest.mark.parametrize("provider", PROVIDERS.values(), ids=list(PROVIDERS))
def test_each_row_agrees_with_itself_and_the_settings(provider):
    assert provider.capabilities().provider == provider.name
    assert provider.client_class().name == provider.name
    if provider.key_variable:
        assert provider.key_setting in FIELDS and not provider.free
        settings = Settings.from_env({provider.key_variable: "a-key"})
        assert provider.api_key(settings) == "a-key" and provider.can_run(settings)
        assert make_provider(provider.name, settings).name == provider.name
    else:
        assert provider.can_run(Settings())


def test_only_the_fallback_is_free_and_runs_without_a_key():
    assert [name for name in PROVIDERS if is_free(name)] == [FALLBACK_PROVIDER]
    assert not is_free("dalle") and available_providers(Settings()) == (FALLBACK_PROVIDER,)


def test_names_are_looked_up_as_kept():
    assert provider_named(" OpenAI ").name == "openai"
    with pytest.raises(ValueError, match="choose one of: ideogram, openai, preview"):
        provider_named("dalle")
    assert capabilities_for("openai", "dall-e-3").openai.name == "dall-e-3"
