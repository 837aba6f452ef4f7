"""The one place long-lived objects are built and wired, from one `Settings`: the web app, the
command line and the workers all take theirs from a `Services`.

Each object is made on first use, so a command builds (and imports) only what it needs: checking
a file never loads gspread, RQ or Flask.
"""
from __future__ import annotations

from functools import cached_property

import redis

from server.config import Settings


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, health_check_interval=30)


class Services:
    def __init__(self, settings: Settings, redis_url: str | None = None):
        self.settings = settings
        self.redis_url = redis_url or settings.redis_url

    @cached_property
    def redis(self) -> redis.Redis:
        if not self.redis_url:
            raise RuntimeError("No Redis to talk to: set REDIS_URL (sheetbatch serve, worker and "
                               "run start an embedded one when it is unset).")
        return connect(self.redis_url)

    @cached_property
    def prices(self):
        from server.money.prices import PriceTable
        return PriceTable.load(self.settings.prices_file)

    @cached_property
    def batches(self):
        from server.batches.store import Batches
        return Batches(self.redis, self.settings.outage_deadline)

    @cached_property
    def budgets(self):
        from server.money.budget import Budgets
        return Budgets(self.redis, self.settings.monthly_budget, self.prices.currency)

    @cached_property
    def launcher(self):
        from server.batches.launcher import Launcher
        from server.generation.providers import account_id
        return Launcher(self.redis, self.batches, self.budgets, self.prices,
                        lambda provider: account_id(provider, self.settings), self.capabilities)

    def capabilities(self, provider: str):
        """What `provider` can carry of a row, with this install's OpenAI image model."""
        from server.providers import capabilities_for
        return capabilities_for(provider, self.settings.openai_model)

    @cached_property
    def signer(self):
        from server.links import Signer, load_secret
        return Signer(load_secret(self.settings.secret_key, self.settings.data_dir))

    @cached_property
    def writeback(self):
        from server.gsheets.writeback import WriteBack
        return WriteBack(self.batches, self.settings, self.signer)

    @cached_property
    def sheets(self):
        from server.gsheets.sheet_batches import SheetBatches
        return SheetBatches(self.settings, self.launcher, self.writeback)

    @cached_property
    def uploads(self):
        from server.uploads.store import Uploads
        return Uploads(self.redis, self.settings, self.prices)

    @cached_property
    def file_batches(self):
        from server.uploads.file_batches import FileBatches
        return FileBatches(self.settings, self.launcher, self.uploads)

    @cached_property
    def auth(self):
        from server.auth import Authenticator
        return Authenticator(self.settings)

    @cached_property
    def notices(self):
        from server.batches.notices import Notices
        return Notices(self.settings, self.signer)

    def chat_client(self, http):
        """The chat model that writes prompts, over `http` (an httpx.Client); ChatError with
        what to set when no key is configured: it is never faked."""
        from server.prompts.chat import ChatClient, ChatError, no_key_message
        if not self.settings.openai_api_key:
            raise ChatError(no_key_message(self.settings.chat_model))
        return ChatClient(self.settings.openai_base_url, self.settings.openai_api_key,
                          self.settings.chat_model, http, self.settings.provider_timeout)

    @cached_property
    def image_maker(self):
        from server.generation.maker import ImageMaker
        return ImageMaker(self.batches, self.settings)
