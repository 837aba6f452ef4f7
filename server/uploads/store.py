"""Spreadsheet files uploaded through the web pages, checked with the same readers and rules as
the command line, and kept no longer than needed: a file that cannot be started is deleted as
soon as it is checked, a good one when its batch starts, and any left over after KEEP_SECONDS.
Each person may upload MAX_UPLOADS_PER_HOUR files an hour and keep MAX_PENDING_UPLOADS at once,
so nobody can fill the disk."""
from __future__ import annotations

import secrets
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import redis
from werkzeug.utils import secure_filename

from server.batches import keys
from server.config import Settings
from server.files import SUPPORTED, UnreadableFile
from server.files.check import CheckedFile, check_file
from server.money.prices import PriceTable
from server.sheet.capabilities import Capabilities

KEEP_SECONDS = 30 * 60
MAX_UPLOADS_PER_HOUR = 30
MAX_PENDING_UPLOADS = 3  # with the upload size limit, at most 30 MB per person on disk
MAX_NAME_CHARS = 100
READ_WAIT_SECONDS = 30


class UploadNotFound(KeyError):
    pass


class TooManyUploads(Exception):
    """The person's hourly upload allowance is spent; `retry_after` says when it renews."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class Uploads:
    def __init__(self, connection: redis.Redis, settings: Settings, prices: PriceTable):
        self.redis = connection
        self.settings = settings
        self.prices = prices
        self.folder = settings.data_dir / "uploads"

    def receive(self, owner: str, filename: str, stream: BinaryIO,
                capabilities: Capabilities) -> tuple[str, CheckedFile]:
        """Keep the file and check it for a provider; `UnreadableFile` when it cannot be read at
        all, `TooManyUploads` when the person's allowance is spent."""
        name = stored_name(filename)
        self._count_upload(owner)
        self.sweep()
        upload_id = secrets.token_hex(8)
        path = self.folder / upload_id / name
        path.parent.mkdir(parents=True)
        with path.open("wb") as out:
            shutil.copyfileobj(stream, out, 64 * 1024)
        self.redis.set(keys.upload(upload_id), f"{owner}\n{path}", ex=KEEP_SECONDS)
        self._keep_pending(owner, upload_id)
        try:
            checked = self.check(owner, upload_id, capabilities)
        except (UnreadableFile, UploadNotFound):
            # Newer uploads of the person's, sent at once, may have replaced it while it waited.
            set_aside = not self.redis.exists(keys.upload(upload_id))
            self.discard(owner, upload_id)
            if set_aside:
                raise UnreadableFile(f"You sent more than {MAX_PENDING_UPLOADS} files at once; "
                                     f"{name} was set aside. Upload it again.") from None
            raise
        # A file with problems stays for the short keep time too: the batch page shows its
        # problems and offers the marked copy (the fixed file comes back as a new upload).
        return upload_id, checked

    def check(self, owner: str, upload_id: str, capabilities: Capabilities,
              sheet: str | None = None) -> CheckedFile:
        """`sheet`: the workbook's tab to read (default: the one holding a prompt header)."""
        path = self._path(owner, upload_id)
        with turn_of(owner):
            return check_file(path, sheet, self.settings, self.prices, capabilities)

    def discard(self, owner: str, upload_id: str) -> None:
        """Delete the file (after its batch started, or once it is of no more use)."""
        shutil.rmtree(self.folder / Path(upload_id).name, ignore_errors=True)
        self.redis.delete(keys.upload(upload_id))
        self.redis.zrem(keys.owner_uploads(owner), upload_id)

    def sweep(self) -> None:
        """Delete every upload older than KEEP_SECONDS (their Redis records have expired)."""
        if not self.folder.is_dir():
            return
        oldest = time.time() - KEEP_SECONDS
        for folder in self.folder.iterdir():
            try:
                stale = folder.stat().st_mtime < oldest
            except FileNotFoundError:  # another request just deleted it
                continue
            if stale:
                shutil.rmtree(folder, ignore_errors=True)

    def _path(self, owner: str, upload_id: str) -> Path:
        value = self.redis.get(keys.upload(upload_id))
        if value is None:
            raise UploadNotFound(upload_id)
        stored_owner, path = value.decode().split("\n", 1)
        if not secrets.compare_digest(stored_owner.encode(), owner.encode()):
            raise UploadNotFound(upload_id)
        return Path(path)

    def _count_upload(self, owner: str) -> None:
        key = keys.upload_count(owner)
        with self.redis.pipeline() as pipe:
            pipe.set(key, 0, ex=3600, nx=True)  # the hour starts with the first upload
            pipe.incr(key)
            pipe.ttl(key)
            _, count, ttl = pipe.execute()
        if count > MAX_UPLOADS_PER_HOUR:
            minutes = max(1, -(-ttl // 60))
            raise TooManyUploads(f"You have uploaded {MAX_UPLOADS_PER_HOUR} files in the last "
                                 f"hour, the most we take; try again in {minutes} minutes.", ttl)

    def _keep_pending(self, owner: str, upload_id: str) -> None:
        """Remember the upload; the person's oldest ones beyond MAX_PENDING_UPLOADS go."""
        key = keys.owner_uploads(owner)
        self.redis.zadd(key, {upload_id: time.time()})
        self.redis.expire(key, KEEP_SECONDS)
        for old in self.redis.zrange(key, 0, -MAX_PENDING_UPLOADS - 1):
            self.discard(owner, old.decode())


class _PersonQueue:
    """One file checked at a time per person (per web process), the others of that person
    waiting their turn: each check runs in a child within a memory ceiling (server/files/child.py),
    so one person's files cost at most one ceiling and never hold up anyone else's."""

    def __init__(self):
        self._guard = threading.Lock()
        self._queues: dict[str, list] = {}  # person → [lock, how many hold or wait for it]

    @contextmanager
    def turn(self, person: str):
        with self._guard:
            entry = self._queues.setdefault(person, [threading.Lock(), 0])
            entry[1] += 1
        try:
            if not entry[0].acquire(timeout=READ_WAIT_SECONDS):
                raise UnreadableFile("Your other files are still being checked; try again in a "
                                     "minute.")
            try:
                yield
            finally:
                entry[0].release()
        finally:
            with self._guard:
                entry[1] -= 1
                if not entry[1]:
                    del self._queues[person]


turn_of = _PersonQueue().turn


def stored_name(filename: str) -> str:
    """A safe, short file name that keeps the extension (a 300-character name is legal in a
    browser but not on most disks)."""
    name = secure_filename(filename or "") or "upload"
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED:
        shown = filename if len(filename) <= 60 else filename[:59] + "…"
        raise UnreadableFile(f"{shown}: upload a .csv, .xls or .xlsx file.")
    return Path(name).stem[:MAX_NAME_CHARS] + suffix
