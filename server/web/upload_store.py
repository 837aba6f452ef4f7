"""Spreadsheet files uploaded through the web page: kept for a day, per person, checked with
the same readers and rules as the command line."""
from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import BinaryIO

import redis
from werkzeug.utils import secure_filename

from server.batches import keys
from server.config import Settings
from server.files import SUPPORTED, UnreadableFile
from server.files.check import CheckedFile, check_file
from server.money.prices import PriceTable
from server.sheet.capabilities import PREVIEW, Capabilities

KEEP_SECONDS = 24 * 3600


class UploadNotFound(KeyError):
    pass


class Uploads:
    def __init__(self, connection: redis.Redis, settings: Settings, prices: PriceTable):
        self.redis = connection
        self.settings = settings
        self.prices = prices
        self.folder = settings.data_dir / "uploads"

    def receive(self, owner: str, filename: str, stream: BinaryIO,
                capabilities: Capabilities = PREVIEW) -> tuple[str, CheckedFile]:
        """Keep the file and check it for a provider; `UnreadableFile` when it cannot be read."""
        name = secure_filename(filename or "") or "upload"
        if Path(name).suffix.lower() not in SUPPORTED:
            raise UnreadableFile(f"{filename}: upload a .csv, .xls or .xlsx file.")
        upload_id = secrets.token_hex(8)
        path = self.folder / upload_id / name
        path.parent.mkdir(parents=True)
        with path.open("wb") as out:
            shutil.copyfileobj(stream, out, 64 * 1024)
        self.redis.set(keys.upload(upload_id), f"{owner}\n{path}", ex=KEEP_SECONDS)
        return upload_id, self.check(owner, upload_id, capabilities)

    def check(self, owner: str, upload_id: str,
              capabilities: Capabilities = PREVIEW) -> CheckedFile:
        value = self.redis.get(keys.upload(upload_id))
        if value is None:
            raise UploadNotFound(upload_id)
        stored_owner, path = value.decode().split("\n", 1)
        if not secrets.compare_digest(stored_owner, owner):
            raise UploadNotFound(upload_id)
        return check_file(Path(path), None, self.settings, self.prices, capabilities)
