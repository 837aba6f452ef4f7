"""Names of stored images and the checks that keep a name inside its batch."""
from __future__ import annotations

import re
import unicodedata

SLUG_MAX = 40
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}


def slugify(text: str, max_len: int = SLUG_MAX) -> str:
    """ASCII, lowercase, dash-separated; "image" when nothing printable is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > max_len:
        # Cut at a word ("…-cheerful-santa", not "…-santa-cla"); one long word is cut anyway.
        kept = slug[:max_len + 1].rsplit("-", 1)[0]
        slug = kept if "-" in slug[:max_len + 1] else slug[:max_len]
    return slug.strip("-") or "image"


def image_name(row: int, index: int, prompt: str, ext: str = "png") -> str:
    """File name of one image: ``0007_2_a-sticker-design-of-a-cheerful-santa.png``.

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


def check_fingerprint(fingerprint: str) -> str:
    """A fingerprint names files of kept images: hex only (sheet.request makes it)."""
    if not isinstance(fingerprint, str) or not re.fullmatch(r"[0-9a-f]{8,64}", fingerprint):
        raise ValueError(f"not a fingerprint: {fingerprint!r}")
    return fingerprint


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
