"""A batch's own record: who started it, from what, paying with which account, and whether it is
still wanted. Only the batch store (`store.py`) reads and writes it, and every Redis key of a
batch is named here (`BatchKeys`), as rq's `Job` owns its keys.

The record is a Redis hash of strings (Lua scripts in the store read `control` in place); these
classes are the one place its field names and spellings are written.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Mapping


class Control(StrEnum):
    """Whether the batch's images are still wanted (the store's Lua scripts spell these too)."""
    ACTIVE = "active"
    STOPPING = "stopping"  # stopped by the person or paused: nothing new starts


class WriteBackState(StrEnum):
    """How writing a sheet batch's status into its sheet is doing."""
    OK = "ok"
    WAITING = "waiting_for_person"  # no live token of the person's: rows wait, nothing is lost
    STOPPED = "stopped"  # the sheet is gone or no longer shared


@dataclass(frozen=True)
class SheetPlace:
    """The tab of a Google Sheet a batch came from, and writes its results into."""
    spreadsheet_id: str
    sheet_id: int | None = None

    @property
    def tab_key(self) -> str:
        """The tab's id as write-back's Redis keys spell it ("" for the first tab)."""
        return "" if self.sheet_id is None else str(self.sheet_id)


@dataclass(frozen=True)
class BatchKeys:
    """Every Redis key of one batch, all under `sb:b:<id>`."""
    batch_id: str

    PARTS = ("req", "state", "img", "reaps", "dirty", "jobs", "reservation")

    @property
    def record(self) -> str:
        """Hash: the batch's `Batch` fields."""
        return f"sb:b:{self.batch_id}"

    def part(self, name: str) -> str:
        """req (hash) row → its ImageRequest JSON; state (hash) "row:index" → RowStatus; img
        (hash) "row:index" → the settled image's result JSON; reaps (hash) how often a dead
        worker's image was taken back; dirty (set) rows changed since the last write-back; jobs
        (set) RQ job ids that may still be queued; reservation (hash) its budget reservation
        (money.budget)."""
        assert name in self.PARTS, name
        return f"{self.record}:{name}"

    def claim(self, row: int, index: int) -> str:
        """The lease of the worker making that image (a string: the worker's token)."""
        return f"sb:claim:{self.batch_id}:{row}:{index}"

    def every_key(self) -> tuple[str, ...]:
        return (self.record, *(self.part(name) for name in self.PARTS))


@dataclass(frozen=True)
class Batch:
    id: str
    owner: str
    provider: str
    account: str  # an id of the provider key it pays with, never the key
    title: str = ""
    created: float = 0.0
    control: Control = Control.ACTIVE
    storage_root: str = ""  # a local folder of the person's own (`sheetbatch run --out`), or ours
    storage_key: str = ""
    sheet: SheetPlace | None = None  # None: the batch came from a file
    public_url: str = ""  # what links written for it start with (sheet batches)
    paused: str | None = None  # why it stopped on its own, in one line; None once resumed
    reused_cost: float = 0.0  # what the images an earlier run made would have cost
    writeback: WriteBackState = WriteBackState.OK
    writeback_message: str = ""

    @property
    def is_sheet(self) -> bool:
        return self.sheet is not None

    @property
    def in_own_folder(self) -> bool:
        """Images kept in the person's own folder (`sheetbatch run`): never ours to delete."""
        return bool(self.storage_root)

    def to_hash(self) -> dict[str, str]:
        fields = {"id": self.id, "owner": self.owner, "provider": self.provider,
                  "account": self.account, "title": self.title, "created": repr(self.created),
                  "control": self.control.value, "storage_root": self.storage_root,
                  "storage_key": self.storage_key or self.id,
                  "kind": "sheet" if self.sheet else "file",
                  "reused_cost": repr(self.reused_cost), "public_url": self.public_url}
        if self.sheet:
            fields |= {"spreadsheet_id": self.sheet.spreadsheet_id,
                       "sheet_id": self.sheet.tab_key}
        return fields

    @classmethod
    def from_hash(cls, raw: Mapping[bytes, bytes]) -> Batch:
        fields = {key.decode(): value.decode() for key, value in raw.items()}
        sheet = None
        if fields.get("kind") == "sheet":
            tab = fields.get("sheet_id")
            sheet = SheetPlace(fields["spreadsheet_id"], int(tab) if tab else None)
        return cls(
            id=fields["id"], owner=fields.get("owner", ""), provider=fields.get("provider", ""),
            account=fields.get("account", ""), title=fields.get("title", ""),
            created=float(fields.get("created") or 0),
            control=Control(fields.get("control", Control.ACTIVE)),
            storage_root=fields.get("storage_root", ""),
            storage_key=fields.get("storage_key") or fields["id"], sheet=sheet,
            public_url=fields.get("public_url", ""), paused=fields.get("paused") or None,
            reused_cost=float(fields.get("reused_cost") or 0),
            writeback=WriteBackState(fields.get("writeback", WriteBackState.OK)),
            writeback_message=fields.get("writeback_message", ""))
