"""Batches that come from an uploaded .csv/.xls/.xlsx file: receive it, check it for the chosen
provider, estimate, start it once, and discard it once started. The upload pages (the signed-in
batch page and the sidebar's signed upload link) are thin layers over this, as the API is over
`SheetBatches`, so a file gets the same provider, warnings and start on every surface."""
from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from server.batches import keys
from server.batches.launcher import Launcher
from server.config import Settings
from server.files import human_size
from server.files.check import CheckedFile
from server.generation.providers import make_provider
from server.providers import FALLBACK_PROVIDER, available_providers, canonical_name
from server.sheet.capabilities import PREVIEW, Capabilities
from server.uploads.store import Uploads


class ProviderUnavailable(ValueError):
    """The provider named cannot run here (unknown, or its key is not set): the message says
    what to set; `name` is the name as we keep it."""

    def __init__(self, name: str, reason: str):
        super().__init__(reason)
        self.name = name


@dataclass
class FileBatches:
    settings: Settings
    launcher: Launcher
    uploads: Uploads

    # -- the provider ---------------------------------------------------------------------------

    def offered_providers(self) -> tuple[str, ...]:
        """The providers a page offers: those that can run here."""
        return available_providers(self.settings)

    def provider(self, name: str | None = None) -> str:
        """The provider a file is checked and started with: the one named; with none named, the
        configured one, or the free preview when that cannot run here. `ProviderUnavailable`
        when the one named cannot run here (a page offers only those that can)."""
        if not name:
            default = self.settings.provider
            return default if default in self.offered_providers() else FALLBACK_PROVIDER
        provider = canonical_name(name)
        try:
            make_provider(provider, self.settings)
        except ValueError as error:
            raise ProviderUnavailable(provider, str(error)) from None
        return provider

    def provider_or_default(self, name: str | None) -> str:
        """For a page that shows the choice before anything is done with it: the one named if it
        can run here, else the one used when none is named."""
        try:
            return self.provider(name)
        except ProviderUnavailable:
            return self.provider()

    # -- the file -------------------------------------------------------------------------------

    @property
    def size_limit(self) -> str:
        return human_size(self.settings.max_upload_bytes)

    def too_large(self) -> str:
        """Why a request over the size limit was refused (before any of it was read)."""
        return (f"That file is larger than {self.size_limit}; a sheet of 499 prompts is far "
                "smaller: check that you chose the right file.")

    def receive(self, owner: str, filename: str, stream: BinaryIO,
                provider: str) -> tuple[str, CheckedFile]:
        """Keep the file and check it for `provider`: the upload id and what the check found.
        `UnreadableFile` when it cannot be read at all (it is not kept), `TooManyUploads` when
        the person's allowance is spent."""
        return self.uploads.receive(owner, filename, stream, self._capabilities(provider))

    def check(self, owner: str, upload_id: str, provider: str | None = None,
              sheet: str | None = None) -> CheckedFile:
        """Read the upload again and check it for `provider`'s limits (with none, the columns'
        own rules only); `sheet`: the workbook's tab (default: the one with a prompt header).
        `UploadNotFound` when it is gone or another person's, `UnreadableFile`."""
        return self.uploads.check(owner, upload_id, self._capabilities(provider), sheet)

    def estimate(self, checked: CheckedFile, provider: str, owner: str) -> dict:
        """What a page shows before Start: rows, images, credits required and available."""
        return self.launcher.estimate(checked.report, provider, owner)

    # -- the batch ------------------------------------------------------------------------------

    def started(self, owner: str, upload_id: str) -> str | None:
        """The batch this upload already started, if any (a browser's Back to a started file)."""
        return self.launcher.started(keys.upload_start(owner, upload_id))

    def start(self, owner: str, upload_id: str, provider: str,
              sheet: str | None = None) -> tuple[str, bool]:
        """Start the upload's batch at most once: the batch id, and whether this call started
        it (Start pressed twice gets the batch of the first). Raises as `check` does, and
        `InvalidSheet`, `OverBudget`, `StillStarting` (the first Start is still under way)."""
        return self.launcher.launch_once(keys.upload_start(owner, upload_id),
                                         lambda: self._launch(owner, upload_id, provider, sheet))

    def discard(self, owner: str, upload_id: str) -> None:
        """Delete the upload: its rows are in its batch, or it is of no more use."""
        self.uploads.discard(owner, upload_id)

    def _launch(self, owner: str, upload_id: str, provider: str, sheet: str | None) -> str:
        checked = self.check(owner, upload_id, provider, sheet)
        batch_id = self.launcher.launch(checked.report, owner, provider, checked.path.name)
        self.discard(owner, upload_id)
        return batch_id

    def _capabilities(self, provider: str | None) -> Capabilities:
        return PREVIEW if provider is None else self.launcher.capabilities(provider)
