"""Images in a local folder: ``root/<batch_id>/<image name>`` plus a JSON sidecar per image.

Workers call ``find`` before paying for an image and ``save`` after, so both must be cheap and
``save`` must be safe when a redelivered job races the original: the first complete save of a
key wins and every later save returns what is already stored.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from server.storage.names import (
    check_batch_id,
    check_fingerprint,
    check_name,
    extension_for,
    image_name,
)
from server.storage.records import StorageUnavailable, StoredImage, _from_meta, _meta_record


class LocalStorage:
    """``root/<batch_id>/<image name>`` plus ``root/<batch_id>/.meta/<row>_<index>.json``.

    Every file is written to a temp file in its final directory and renamed into
    place, so a reader (the ZIP streamer, the gallery) never sees half a file.
    The sidecar is renamed before the image: an image never exists without it.
    """

    def __init__(self, root: Path | str, *, fsync: bool = True):
        self.root = Path(root)
        # fsync before rename makes the save survive a power cut, not just a crash.
        self.fsync = fsync

    # paths ---------------------------------------------------------------

    def batch_dir(self, batch_id: str) -> Path:
        return self.root / check_batch_id(batch_id)

    def _meta_path(self, batch_id: str, row: int, index: int) -> Path:
        return self.batch_dir(batch_id) / ".meta" / f"{int(row)}_{int(index)}.json"

    def path(self, batch_id: str, name: str) -> Path:
        return self.batch_dir(batch_id) / check_name(name)

    # writing -------------------------------------------------------------

    def save(self, batch_id: str, row: int, index: int, source_prompt: str, data: bytes, *,
             seed: int | None, used_prompt: str, media_type: str = "image/png",
             preview: bool = False, fingerprint: str | None = None,
             dimensions: str | None = None) -> StoredImage:
        existing = self.find(batch_id, row, index)
        if existing is not None and existing.fingerprint == fingerprint:
            return existing  # cheap fast path; re-checked under the lock below
        name = image_name(row, index, source_prompt, extension_for(media_type))
        meta = _meta_record(name, row, index, seed, used_prompt, media_type, preview,
                            len(data), source_prompt, fingerprint, dimensions)
        meta_path = self._meta_path(batch_id, row, index)
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        # The slow part (writing bytes) happens outside the lock; only the
        # check-and-rename is serialised.
        image_tmp = self._write_temp(meta_path.parent.parent, data)
        meta_tmp = self._write_temp(meta_path.parent, json.dumps(meta).encode())
        try:
            with self._batch_lock(batch_id):
                existing = self.find(batch_id, row, index)
                if existing is not None and existing.fingerprint == fingerprint:
                    return existing  # first complete save wins; never replace a paid image
                if existing is not None:
                    self._keep(batch_id, existing)  # paid for: an undone edit reuses it
                os.replace(meta_tmp, meta_path)
                os.replace(image_tmp, self.path(batch_id, name))
                if existing is not None and existing.name != name:
                    self.path(batch_id, existing.name).unlink(missing_ok=True)  # stale
        finally:
            for leftover in (image_tmp, meta_tmp):
                leftover.unlink(missing_ok=True)
        return _from_meta(batch_id, meta, len(data))

    def reuse(self, batch_id: str, row: int, index: int, fingerprint: str) -> StoredImage | None:
        """Put a kept image of exactly these settings (`fingerprint`) back into the slot
        (row, index), or None when none was ever kept: editing a prompt and undoing the edit
        pays for nothing."""
        kept = self._kept_dir(batch_id)
        try:
            meta = json.loads((kept / f"{check_fingerprint(fingerprint)}.json").read_bytes())
            data = (kept / check_name(meta["file"])).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return self.save(batch_id, row, index, meta["source_prompt"], data, seed=meta["seed"],
                         used_prompt=meta["prompt"], media_type=meta["media_type"],
                         preview=meta["preview"], fingerprint=fingerprint,
                         dimensions=meta.get("dimensions"))

    def _keep(self, batch_id: str, image: StoredImage) -> None:
        """A replaced image stays, by fingerprint, in the hidden `.kept/` folder (a hard link:
        no copy of its bytes); the ZIP and the listing never see it."""
        if not image.fingerprint:
            return
        kept = self._kept_dir(batch_id)
        kept.mkdir(exist_ok=True)
        file = f"{check_fingerprint(image.fingerprint)}.{image.name.rsplit('.', 1)[-1]}"
        target = kept / file
        target.unlink(missing_ok=True)
        os.link(self.path(batch_id, image.name), target)
        meta = json.loads(self._meta_path(batch_id, image.row, image.index).read_bytes())
        record = self._write_temp(kept, json.dumps(meta | {"file": file}).encode())
        os.replace(record, kept / f"{image.fingerprint}.json")

    def _kept_dir(self, batch_id: str) -> Path:
        return self.batch_dir(batch_id) / ".kept"

    def check_room(self, batch_id: str, min_free: int) -> None:
        """Refuse before a paid call when the folder cannot be written or is nearly full."""
        folder = self.batch_dir(batch_id)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            free = shutil.disk_usage(folder).free
            with tempfile.TemporaryFile(dir=folder, prefix=".probe-") as probe:
                probe.write(b"x")
                probe.flush()
                os.fsync(probe.fileno())
        except OSError as error:
            raise StorageUnavailable.explain(error) from None
        if free < min_free:
            raise StorageUnavailable(
                f"Images cannot be stored: only {free // 2**20} MB free, less than the "
                f"{min_free // 2**20} MB kept in reserve. The batch is paused: nothing more is "
                "paid for until there is room and it is resumed.")

    def _write_temp(self, directory: Path, data: bytes) -> Path:
        # Same directory as the target so os.replace is an atomic rename, and a
        # leading dot so list() and the ZIP never pick it up.
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; a web server must be able to read images
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if self.fsync:
                fh.flush()
                os.fsync(fh.fileno())
        return Path(tmp)

    @contextmanager
    def _batch_lock(self, batch_id: str) -> Iterator[None]:
        # flock is per process and released by the kernel if the holder dies,
        # so a crashed worker can never leave a batch locked.
        lock_path = self.batch_dir(batch_id) / ".meta" / ".lock"
        with open(lock_path, "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def check_writable(self) -> None:
        """Write and remove a small file; raises OSError when storage would refuse an image."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._write_temp(self.root, b"ready").unlink()

    def describe(self) -> str:
        return f"local folder {self.root}"

    def delete_batch(self, batch_id: str) -> None:
        shutil.rmtree(self.batch_dir(batch_id), ignore_errors=True)

    # reading -------------------------------------------------------------

    def find(self, batch_id: str, row: int, index: int) -> StoredImage | None:
        return self._load(batch_id, self._meta_path(batch_id, row, index))

    def list(self, batch_id: str) -> list[StoredImage]:
        meta_dir = self.batch_dir(batch_id) / ".meta"
        if not meta_dir.is_dir():
            return []
        images = (self._load(batch_id, p) for p in meta_dir.glob("*.json"))
        return sorted((i for i in images if i is not None), key=lambda i: (i.row, i.index))

    def _load(self, batch_id: str, meta_path: Path) -> StoredImage | None:
        """The stored image, or None when the save never completed."""
        try:
            meta = json.loads(meta_path.read_bytes())
            size = self.path(batch_id, meta["name"]).stat().st_size
        except (FileNotFoundError, NotADirectoryError):
            return None  # metadata renamed, image not yet (or the writer died; or no folder)
        return _from_meta(batch_id, meta, size)

    def open(self, batch_id: str, name: str) -> IO[bytes]:
        return open(self.path(batch_id, name), "rb")
