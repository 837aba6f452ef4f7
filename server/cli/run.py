"""`sheetbatch run`: a whole batch of a local file, from validation to the ZIP.

The CLI is one more client of the same pipeline the web app uses: it creates a batch in Redis,
starts RQ workers in separate processes, and watches the batch until it settles.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from server.batches.status import BatchProgress
from server.batches.store import Batches, BatchNotFound
from server.cli.embedded_redis import redis_url
from server.config import Settings
from server.files.check import CheckedFile
from server.files.workbook import WorkbookGrid
from server.services import Services
from server.sheet.results import FILE_RESULT_COLUMNS, result_cells, result_positions
from server.storage import LocalStorage
from server.storage.zipper import write_zip

IMAGES_FOLDER = "images"
STATE_FILE = ".sheetbatch-run.json"
POLL_SECONDS = 0.25

console = Console(highlight=False)


@dataclass
class RunOptions:
    out: Path
    provider: str
    workers: int


@contextmanager
def worker_processes(url: str, count: int) -> Iterator[subprocess.Popen]:
    env = dict(os.environ, REDIS_URL=url)
    # The progress bar tells the person how it goes; a line per image would bury it.
    env.setdefault("SHEETBATCH_LOG_LEVEL", "WARNING")
    process = subprocess.Popen([sys.executable, "-m", "server", "worker", "-n", str(count)],
                               env=env, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        yield process
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def start_or_resume(batches: Batches, checked: CheckedFile, options: RunOptions) -> str:
    """A second run of the same file into the same folder resumes its batch."""
    state_path = options.out / STATE_FILE
    digest = file_digest(checked.path)
    if state_path.exists():
        state = json.loads(state_path.read_text())
        if state.get("digest") == digest and state.get("provider") == options.provider:
            try:
                batches.fields(state["batch_id"])
                again = batches.resume(state["batch_id"])
                console.print(f"Resuming the earlier run: {again} image(s) still to make.")
                return state["batch_id"]
            except BatchNotFound:
                pass
    batch_id = batches.create(checked.report.rows, owner="cli", provider=options.provider,
                              title=checked.path.name, storage_root=str(options.out.resolve()),
                              storage_key=IMAGES_FOLDER)
    state_path.write_text(json.dumps({"batch_id": batch_id, "digest": digest,
                                      "provider": options.provider}))
    return batch_id


@contextmanager
def stop_signals() -> Iterator[threading.Event]:
    """Ctrl-C (or SIGTERM) asks for a clean stop; a second one quits at once. Installed
    explicitly, so it works even when the parent started us with SIGINT ignored."""
    requested = threading.Event()

    def handle(signum, frame) -> None:
        if requested.is_set():
            raise KeyboardInterrupt
        requested.set()

    previous = {signum: signal.signal(signum, handle) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield requested
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def watch(batches: Batches, batch_id: str) -> BatchProgress:
    """Show progress until the batch settles; Ctrl-C stops it and keeps what is made."""
    status = batches.status(batch_id)
    stopping = False
    with stop_signals() as stop_requested, Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("images"), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("Generating", total=status.images["total"])
        while not status.finished:
            time.sleep(POLL_SECONDS)
            if stop_requested.is_set() and not stopping:
                stopping = True
                progress.update(task, description="Stopping (images in progress finish)")
                batches.stop(batch_id)
            status = batches.status(batch_id)
            progress.update(task, completed=status.images["done"] + status.images["failed"])
    return status


def write_outputs(checked: CheckedFile, status: BatchProgress, out: Path) -> Path:
    grid = WorkbookGrid(checked.path, checked.table)
    grid.mark(checked.report)
    width = max((len(values) for values in checked.table.rows), default=0)
    positions = result_positions(checked.report.result_columns, width, FILE_RESULT_COLUMNS)
    cells = {row: result_cells(result, lambda image: f"{IMAGES_FOLDER}/{image['name']}")
             for row, result in status.rows.items()}
    for name, column in positions.items():
        grid.write_column(name, column + 1, ((row, values[name]) for row, values in cells.items()),
                          links=name.startswith("image_"))
    path = out / f"{checked.path.stem}-results.xlsx"
    grid.save(path)
    write_zip(LocalStorage(out), IMAGES_FOLDER, out / "images.zip")
    return path


def run_batch(checked: CheckedFile, options: RunOptions, settings: Settings) -> BatchProgress:
    options.out.mkdir(parents=True, exist_ok=True)
    with redis_url(settings) as url:
        batches = Services(settings, url).batches
        batch_id = start_or_resume(batches, checked, options)
        with worker_processes(url, options.workers):
            status = watch(batches, batch_id)
    write_outputs(checked, status, options.out)
    return status
