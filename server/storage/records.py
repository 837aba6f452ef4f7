"""What storage knows of an image, and the one interface both backends offer."""
from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any, Protocol


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
    dimensions: str | None = None  # "WxH" as the provider made it, when it said
    fingerprint: str | None = None  # of the settings it was made for (sheet.request)

    def result(self) -> dict[str, Any]:
        """What a batch records of a made image."""
        return {"name": self.name, "seed": self.seed, "prompt": self.prompt,
                "preview": self.preview, "dimensions": self.dimensions}


class StorageUnavailable(Exception):
    """Storage cannot take an image now (full, read-only, gone); the text says so in one line,
    `errno` which fault it was (None: below the free-space reserve)."""

    def __init__(self, message: str, errno: int | None = None):
        super().__init__(message)
        self.errno = errno

    @classmethod
    def explain(cls, error: OSError) -> "StorageUnavailable":
        return cls(f"Images cannot be stored ({error.strerror or error}). The batch is paused: "
                   "nothing more is paid for until storage works again and it is resumed.",
                   error.errno)


def _meta_record(name: str, row: int, index: int, seed: int | None, used_prompt: str,
                 media_type: str, preview: bool, size: int, source_prompt: str,
                 fingerprint: str | None, dimensions: str | None = None) -> dict[str, Any]:
    return {
        "name": name, "row": row, "index": index, "seed": seed, "prompt": used_prompt,
        "media_type": media_type, "preview": bool(preview), "size": size,
        "source_prompt": source_prompt, "fingerprint": fingerprint, "dimensions": dimensions,
    }


def _from_meta(batch_id: str, meta: dict[str, Any], size: int) -> StoredImage:
    return StoredImage(
        batch_id=batch_id, row=int(meta["row"]), index=int(meta["index"]), name=meta["name"],
        seed=meta.get("seed"), prompt=meta.get("prompt", ""), media_type=meta["media_type"],
        size=size, preview=bool(meta.get("preview", False)), fingerprint=meta.get("fingerprint"),
        dimensions=meta.get("dimensions"),
    )


class Storage(Protocol):
    def save(self, batch_id: str, row: int, index: int, source_prompt: str, data: bytes, *,
             seed: int | None, used_prompt: str, media_type: str = "image/png",
             preview: bool = False, fingerprint: str | None = None,
             dimensions: str | None = None) -> StoredImage:
        """Store an image; the first complete save of a (row, index) and fingerprint wins, and
        a save with another fingerprint replaces the stale image."""
    def check_room(self, batch_id: str, min_free: int) -> None:
        """Raise StorageUnavailable unless an image can be stored now."""
    def find(self, batch_id: str, row: int, index: int) -> StoredImage | None: ...
    def list(self, batch_id: str) -> list[StoredImage]: ...
    def open(self, batch_id: str, name: str) -> IO[bytes]: ...
    def delete_batch(self, batch_id: str) -> None: ...
