"""Settings from the environment: each default is the field's, the provider default is the
table's rule, and a blank variable counts as unset."""
from __future__ import annotations

import dataclasses
import socket

from server.config import Settings, default_data_dir


def test_an_empty_environment_gives_the_field_defaults():
    read = Settings.from_env({})
    machine = {"data_dir": default_data_dir(), "node": socket.gethostname()}
    assert read == dataclasses.replace(Settings(), **machine)


def test_the_default_provider_is_the_first_paid_one_with_a_key():
    assert Settings.from_env({}).provider == "preview"
    assert Settings.from_env({"OPENAI_API_KEY": "k"}).provider == "openai"
    assert Settings.from_env({"OPENAI_API_KEY": "k", "IDEOGRAM_API_KEY": "k"}).provider == \
        "ideogram"
    assert Settings.from_env({"IDEOGRAM_API_KEY": "k", "SHEETBATCH_PROVIDER": "preview"}) \
        .provider == "preview"


def test_variables_are_read_by_their_kind():
    read = Settings.from_env({
        "SHEETBATCH_PROVIDER_CONCURRENCY": " 3 ", "SHEETBATCH_MONTHLY_BUDGET": "12.5",
        "GOOGLE_ISSUERS": "a, b,,", "SHEETBATCH_LOG_LEVEL": "debug", "SHEETBATCH_SINGLE_USER": "ON",
        "SHEETBATCH_SECRET_KEY": "  ", "GOOGLE_APPLICATION_CREDENTIALS": "/a.json",
        "OPENAI_API_KEY": "sk-1"})
    assert (read.provider_concurrency, read.monthly_budget, read.google_issuers) == \
        (3, 12.5, ("a", "b"))
    assert (read.log_level, read.single_user, read.secret_key) == ("DEBUG", "on", None)
    assert (read.service_account_file, read.openai_api_key) == ("/a.json", "sk-1")
    assert Settings.from_env({"GOOGLE_APPLICATION_CREDENTIALS": "/a.json",
                              "SHEETBATCH_SERVICE_ACCOUNT_FILE": "/b.json"}) \
        .service_account_file == "/b.json"
