"""Where generated images live: one folder (or key prefix) per batch.

An image is identified by its job key (batch_id, row, image index). Workers call
``find`` before paying for an image and ``save`` after, so both must be cheap and
``save`` must be safe when a redelivered job races the original: the first
complete save of a key wins and every later save returns what is already stored.

Two backends share one interface: ``LocalStorage`` (a folder, the default) and
``S3Storage`` (any S3-compatible service through boto3).
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
import unicodedata
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterator, Protocol

SLUG_MAX = 40
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}


# --------------------------------------------------------------------------- names


def slugify(text: str, max_len: int = SLUG_MAX) -> str:
    """ASCII, lowercase, dash-separated; "image" when nothing printable is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    # Cutting may leave a dash at the end ("santa-" + "claus"): strip again.
    return slug[:max_len].strip("-") or "image"


def image_name(row: int, index: int, prompt: str, ext: str = "png") -> str:
    """File name of one image: ``0007_2_a-sticker-design-of-a-cheerful-santa-cla.png``.

    Row first, zero-padded, so names sort in sheet order and the (row, index)
    prefix alone locates an image (S3 looks images up by that prefix).
    """
    if not 0 <= row <= 9999:
        raise ValueError(f"row must be 0-9999, got {row!r}")
    if not 1 <= index <= 4:
        raise ValueError(f"image index must be 1-4, got {index!r}")
    if not re.fullmatch(r"[a-z0-9]{1,8}", ext):
        raise ValueError(f"bad file extension {ext!r}")
    return f"{row:04d}_{index}_{slugify(prompt)}.{ext}"


def extension_for(media_type: str) -> str:
    return _EXTENSIONS.get(media_type.split(";")[0].strip().lower(), "bin")


def check_batch_id(batch_id: str) -> str:
    if not isinstance(batch_id, str) or not _BATCH_ID.fullmatch(batch_id):
        raise ValueError(f"batch id must be 1-128 of A-Z a-z 0-9 _ -, got {batch_id!r}")
    return batch_id


def check_name(name: str) -> str:
    """Refuse anything that could leave the batch folder or reach its metadata."""
    if (
        not isinstance(name, str)
        or not name
        or "/" in name
        or "\\" in name
        or "\0" in name
        or ".." in name
        or name.startswith(".")  # .meta, temp files
    ):
        raise ValueError(f"not a valid image name: {name!r}")
    return name


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class StoredImage:
    batch_id: str
    row: int
    index: int
    name: str
    seed: int | None
    prompt: str  # the prompt actually used (after magic prompt)
    media_type: str
    size: int
    preview: bool


def _meta_record(name: str, row: int, index: int, seed: int | None, used_prompt: str,
                 media_type: str, preview: bool, size: int, source_prompt: str) -> dict[str, Any]:
    return {
        "name": name, "row": row, "index": index, "seed": seed, "prompt": used_prompt,
        "media_type": media_type, "preview": bool(preview), "size": size,
        "source_prompt": source_prompt,
    }


def _from_meta(batch_id: str, meta: dict[str, Any], size: int) -> StoredImage:
    return StoredImage(
        batch_id=batch_id, row=int(meta["row"]), index=int(meta["index"]), name=meta["name"],
        seed=meta.get("seed"), prompt=meta.get("prompt", ""), media_type=meta["media_type"],
        size=size, preview=bool(meta.get("preview", False)),
    )


class Storage(Protocol):
    def save(self, batch_id: str, row: int, index: int, source_prompt: str, data: bytes, *,
             seed: int | None, used_prompt: str, media_type: str = "image/png",
             preview: bool = False) -> StoredImage: ...
    def find(self, batch_id: str, row: int, index: int) -> StoredImage | None: ...
    def list(self, batch_id: str) -> list[StoredImage]: ...
    def open(self, batch_id: str, name: str) -> IO[bytes]: ...
    def delete_batch(self, batch_id: str) -> None: ...


# --------------------------------------------------------------------------- local


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
             preview: bool = False) -> StoredImage:
        existing = self.find(batch_id, row, index)
        if existing is not None:
            return existing  # cheap fast path; re-checked under the lock below
        name = image_name(row, index, source_prompt, extension_for(media_type))
        meta = _meta_record(name, row, index, seed, used_prompt, media_type, preview,
                            len(data), source_prompt)
        meta_path = self._meta_path(batch_id, row, index)
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        # The slow part (writing bytes) happens outside the lock; only the
        # check-and-rename is serialised.
        image_tmp = self._write_temp(meta_path.parent.parent, data)
        meta_tmp = self._write_temp(meta_path.parent, json.dumps(meta).encode())
        try:
            with self._batch_lock(batch_id):
                existing = self.find(batch_id, row, index)
                if existing is not None:
                    return existing  # first complete save wins; never replace a paid image
                os.replace(meta_tmp, meta_path)
                os.replace(image_tmp, self.path(batch_id, name))
        finally:
            for leftover in (image_tmp, meta_tmp):
                leftover.unlink(missing_ok=True)
        return _from_meta(batch_id, meta, len(data))

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
        except FileNotFoundError:
            return None  # metadata renamed, image not yet (or the writer died)
        return _from_meta(batch_id, meta, size)

    def open(self, batch_id: str, name: str) -> IO[bytes]:
        return open(self.path(batch_id, name), "rb")


# --------------------------------------------------------------------------- S3


class S3Storage:
    """``<prefix>/<batch_id>/<image name>`` plus a sidecar per save attempt.

    S3 has no rename and no lock, so consistency comes from two rules:
    - each save writes its sidecar under a unique key
      ``.meta/<row>_<index>.<token>.json`` first, so writers never clobber each
      other's metadata and an image never exists without its sidecar;
    - the image is written with ``If-None-Match: *``: the first writer wins
      atomically and the image's own metadata names its sidecar's token.
    Losers delete their sidecar and return the winner.
    """

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None,
                 client: Any = None):
        if client is None:
            import boto3  # optional dependency: only needed when S3 is configured

            client = boto3.client("s3", endpoint_url=endpoint_url)
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    # keys ------------------------------------------------------------------

    def _batch_prefix(self, batch_id: str) -> str:
        head = f"{self.prefix}/" if self.prefix else ""
        return f"{head}{check_batch_id(batch_id)}/"

    def key(self, batch_id: str, name: str) -> str:
        return self._batch_prefix(batch_id) + check_name(name)

    def _meta_key(self, batch_id: str, row: int, index: int, token: str) -> str:
        return f"{self._batch_prefix(batch_id)}.meta/{int(row)}_{int(index)}.{token}.json"

    def path(self, batch_id: str, name: str) -> str:
        """The object key (there is no local path); see also ``url``."""
        return self.key(batch_id, name)

    def url(self, batch_id: str, name: str, expires: int = 3600) -> str:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self.key(batch_id, name)},
            ExpiresIn=expires)

    # writing ---------------------------------------------------------------

    def save(self, batch_id: str, row: int, index: int, source_prompt: str, data: bytes, *,
             seed: int | None, used_prompt: str, media_type: str = "image/png",
             preview: bool = False) -> StoredImage:
        existing = self.find(batch_id, row, index)
        if existing is not None:
            return existing
        name = image_name(row, index, source_prompt, extension_for(media_type))
        meta = _meta_record(name, row, index, seed, used_prompt, media_type, preview,
                            len(data), source_prompt)
        token = uuid.uuid4().hex
        meta_key = self._meta_key(batch_id, row, index, token)
        self.client.put_object(Bucket=self.bucket, Key=meta_key, Body=json.dumps(meta).encode(),
                               ContentType="application/json")
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.key(batch_id, name), Body=data,
                                   ContentType=media_type, Metadata={"token": token},
                                   IfNoneMatch="*")
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "412"):
                raise
            self.client.delete_object(Bucket=self.bucket, Key=meta_key)
            winner = self.find(batch_id, row, index)
            if winner is None:
                raise
            return winner
        return _from_meta(batch_id, meta, len(data))

    def delete_batch(self, batch_id: str) -> None:
        keys = [obj["Key"] for obj in self._objects(self._batch_prefix(batch_id))]
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys
            chunk = keys[start:start + 1000]
            self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True})

    # reading ---------------------------------------------------------------

    def _objects(self, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Contents", [])

    def find(self, batch_id: str, row: int, index: int) -> StoredImage | None:
        # The name starts with the zero-padded key, so a prefix listing finds it
        # without knowing the prompt.
        prefix = f"{self._batch_prefix(batch_id)}{int(row):04d}_{int(index)}_"
        for obj in self._objects(prefix):
            return self._load(batch_id, obj["Key"], row, index)
        return None

    def list(self, batch_id: str) -> list[StoredImage]:
        batch_prefix = self._batch_prefix(batch_id)
        images = []
        for obj in self._objects(batch_prefix):
            name = obj["Key"][len(batch_prefix):]
            match = re.match(r"(\d{4})_(\d)_", name)
            if match:
                images.append(self._load(batch_id, obj["Key"], int(match[1]), int(match[2])))
        return sorted((i for i in images if i is not None), key=lambda i: (i.row, i.index))

    def _load(self, batch_id: str, key: str, row: int, index: int) -> StoredImage | None:
        head = self.client.head_object(Bucket=self.bucket, Key=key)
        token = head.get("Metadata", {}).get("token", "")
        body = self.client.get_object(
            Bucket=self.bucket, Key=self._meta_key(batch_id, row, index, token))["Body"]
        meta = json.loads(body.read())
        return _from_meta(batch_id, meta, int(head["ContentLength"]))

    def open(self, batch_id: str, name: str) -> IO[bytes]:
        """A streaming body (read(n), iter_chunks(), close()); nothing is buffered."""
        return self.client.get_object(Bucket=self.bucket, Key=self.key(batch_id, name))["Body"]


# --------------------------------------------------------------------------- factory


def make_storage(settings: Any) -> LocalStorage | S3Storage:
    """Local folder ``<data_dir>/images`` unless ``SHEETBATCH_S3_BUCKET`` is set.

    The S3 knobs are read here from the environment because ``Settings`` has no
    fields for them yet; boto3 takes credentials from its usual sources.
    """
    bucket = os.environ.get("SHEETBATCH_S3_BUCKET", "").strip()
    if bucket:
        return S3Storage(
            bucket=bucket,
            prefix=os.environ.get("SHEETBATCH_S3_PREFIX", "").strip(),
            endpoint_url=os.environ.get("SHEETBATCH_S3_ENDPOINT", "").strip() or None,
        )
    return LocalStorage(Path(settings.data_dir) / "images")


def batch_storage(fields: dict[str, str], settings: Any) -> tuple[LocalStorage | S3Storage, str]:
    """Where a batch's images live, and its key there: a `run` keeps them in its own --out
    folder; everything else uses the configured storage."""
    if fields.get("storage_root"):
        return LocalStorage(fields["storage_root"]), fields["storage_key"]
    return make_storage(settings), fields["storage_key"]
