"""One ZIP of a whole batch, streamed: constant memory whatever the batch size.

Entries are stored, not deflated: PNG/JPEG/WebP are already compressed, so
deflate would burn CPU for nothing, and stored entries of known size let
zipstream-ng compute the archive's final length before the first byte is sent
(``len(zs)`` -> Content-Length, so browsers show a real progress bar).
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path
from typing import Iterator

import zipstream

from server.storage import LocalStorage, Storage, StoredImage

MANIFEST_NAME = "manifest.csv"
MANIFEST_COLUMNS = ("row", "image", "file", "seed", "used_prompt", "preview")
READ_CHUNK = 256 * 1024
# Excel, LibreOffice and Sheets evaluate a CSV cell that starts with one of these as a formula
# (OWASP "CSV injection"); a leading apostrophe makes them show it as the text it is.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value: object) -> object:
    """A text cell that a spreadsheet program shows as text, never runs as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def manifest_csv(images: list[StoredImage]) -> bytes:
    """Small table of what is in the archive; one line per image."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")  # RFC 4180, what spreadsheets expect
    writer.writerow(MANIFEST_COLUMNS)
    for img in images:
        seed = "" if img.seed is None else img.seed
        writer.writerow([inert(cell) for cell in (img.row, img.index, img.name, seed, img.prompt,
                                                  "yes" if img.preview else "no")])
    # BOM so Excel reads non-ASCII prompts as UTF-8 instead of the local code page.
    return buf.getvalue().encode("utf-8-sig")


def _chunks(storage: Storage, batch_id: str, name: str) -> Iterator[bytes]:
    """Read one stored image in chunks; opened only when zipstream reaches it."""
    with storage.open(batch_id, name) as body:
        while chunk := body.read(READ_CHUNK):
            yield chunk


def batch_zip(storage: Storage, batch_id: str,
              extras: dict[str, bytes] | None = None) -> zipstream.ZipStream:
    """A sized ZipStream of every stored image of the batch plus ``manifest.csv`` (and any
    `extras`, name → bytes, such as the results workbook).

    Nothing is read here: entries are queued and pulled one at a time while
    the caller iterates. ``len(result)`` is the exact byte count.
    """
    images = storage.list(batch_id)
    zs = zipstream.ZipStream(compress_type=zipstream.ZIP_STORED, sized=True)
    zs.add(manifest_csv(images), MANIFEST_NAME)
    for name, data in (extras or {}).items():
        zs.add(data, name)
    for img in images:
        if isinstance(storage, LocalStorage):
            # add_path reads the file in small blocks while streaming.
            zs.add_path(storage.path(batch_id, img.name), img.name)
        else:
            # A size must be given, or a sized ZipStream reads the whole
            # iterable into memory up front to learn it.
            zs.add(_chunks(storage, batch_id, img.name), img.name, size=img.size)
    return zs


def write_zip(storage: Storage, batch_id: str, path: Path | str) -> int:
    """Write the batch ZIP to ``path`` atomically; returns its size in bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    zs = batch_zip(storage, batch_id)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in zs:
                fh.write(chunk)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(zs)
