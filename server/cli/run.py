"""`sheetbatch run`: a whole batch of a local file, from validation to the ZIP.

The CLI is one more client of the same pipeline the web app uses: it starts a batch in Redis
(with the estimate and the monthly budget), starts RQ workers in separate processes that die
with it, and watches the batch until it settles. A second run on the same folder makes only what
is missing, failed (for a reason worth retrying) or changed; images already made are kept.
"""
from __future__ import annotations

import errno
import fcntl
import getpass
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import redis
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from server.batches.launcher import OverBudget, Settled
from server.batches.status import BatchProgress
from server.batches.store import Batches, BatchNotFound
from server.cli.children import start_child, stop_children
from server.cli.embedded_redis import redis_url
from server.config import Settings
from server.files.check import CheckedFile
from server.files.workbook import WorkbookGrid
from server.generation.breaker import CircuitBreaker
from server.generation.maker import storage_place
from server.providers import is_free
from server.services import Services
from server.sheet.results import FILE_RESULT_COLUMNS, result_cells, result_positions
from server.sheet.statuses import RowStatus
from server.storage import LocalStorage
from server.storage.records import StorageUnavailable
from server.storage.zipper import write_zip

IMAGES_FOLDER = "images"
POLL_SECONDS = 0.25
EXIT_LOST = 3  # Redis or storage went away; everything made is kept

console = Console(highlight=False)


class RunError(Exception):
    """A run that cannot start or go on; the text is one line for the person."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class RunOptions:
    out: Path
    provider: str
    workers: int
    yes: bool = False
    max_cost: float | None = None
    retry_failed: bool = True
    confirm: Callable[[str], bool] | None = None  # asks the person; None when nobody can answer


@dataclass
class RunPlan:
    settled: Settled = field(default_factory=dict)  # made (or kept failed) before this run
    to_make: list[tuple[int, int]] = field(default_factory=list)
    changed_rows: set[int] = field(default_factory=set)
    kept_failed: int = 0
    cost: float = 0.0


@dataclass
class RunResult:
    status: BatchProgress
    paused: str | None  # why the batch could not go on (storage), if it could not


def run_batch(checked: CheckedFile, options: RunOptions, settings: Settings) -> RunResult:
    made = _missing_folders(options.out)
    launched = False
    try:
        options.out.mkdir(parents=True, exist_ok=True)
        state = run_state_folder(settings, options.out)
        with out_lock(options.out), redis_url(settings, state / "redis") as url:
            services = Services(settings, url)
            try:
                planned = plan(services, checked, options, state / "run.json")
                # From here on Ctrl-C (SIGTERM, SIGHUP) asks for the clean stop.
                with stop_signals() as stop:
                    if stop.asked.is_set():
                        raise RunError("Stopped before starting; nothing was generated.", 130)
                    batch_id = launch(services, checked, options, planned, state / "run.json")
                    launched = True
                    with stopping_on(stop.asked, services.batches, batch_id), \
                            worker_processes(url, options.workers, settings,
                                             state / "workers.log", stop.hurry):
                        status = watch(services, batch_id, stop)
            except (redis.ConnectionError, redis.TimeoutError) as error:
                raise RunError(f"Lost the connection to Redis ({error}). Every image already "
                               f"made is kept in {options.out / IMAGES_FOLDER}; run the same "
                               "command again to finish.", EXIT_LOST) from None
            paused = status.paused
            if paused:
                paused = pause_report(services, status, options.out, settings)
    finally:
        if not launched:
            for folder in made:  # a refused run leaves nothing behind
                _remove_if_empty(folder)
    try:
        write_outputs(checked, status, options.out)
    except RunError as error:
        raise RunError(paused or str(error), error.exit_code) from None
    return RunResult(status, paused)


def _missing_folders(folder: Path) -> list[Path]:
    """The folders that creating `folder` makes (its missing parents too), deepest first."""
    missing = []
    folder = folder.absolute()
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # something is in it (or it is gone): keep it


def run_state_folder(settings: Settings, out: Path) -> Path:
    """Where runs into `out` keep their Redis and last batch: in the data folder, not on the
    output's disk (a full or read-only output must not take the batch state with it)."""
    where = str(out.resolve())
    folder = settings.data_dir / "runs" / hashlib.sha256(where.encode()).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "out.txt").write_text(where + "\n")
    return folder


@contextmanager
def out_lock(out: Path) -> Iterator[None]:
    """One run per output folder at a time, whatever data folder each uses: the lock is taken
    on the folder itself (it dies with its process, and needs nothing written into it)."""
    handle = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_holder(handle)
            raise RunError(f"Another sheetbatch run (process {holder or '?'}) is writing into "
                           f"{out}; wait for it to end or choose another --out.", 2) from None
        yield
    finally:
        os.close(handle)


def _lock_holder(handle: int) -> int | None:
    """The process holding the lock on this open folder, as the kernel lists it."""
    info = os.fstat(handle)
    inode = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    try:
        for line in Path("/proc/locks").read_text().splitlines():
            fields = line.split()
            if len(fields) > 5 and fields[1] == "FLOCK" and fields[5] == inode:
                return int(fields[4])
    except (OSError, ValueError):
        pass
    return None


def plan(services: Services, checked: CheckedFile, options: RunOptions,
         state_file: Path) -> RunPlan:
    """Plan against what the folder already holds, say what it will do and cost, and have the
    spending confirmed."""
    previous = _previous_batch(state_file)
    _retire(services, previous)
    plan = plan_run(services.batches, checked, options, previous)
    plan.cost = services.launcher.estimate(checked.report, options.provider, _owner(),
                                           plan.settled)["estimate"]["cost"]
    describe_plan(plan, options, checked.cost.currency)
    check_spending(plan, options, checked.cost.currency)
    return plan


def launch(services: Services, checked: CheckedFile, options: RunOptions, plan: RunPlan,
           state_file: Path) -> str:
    try:
        batch_id = services.launcher.launch(
            checked.report, _owner(), options.provider, checked.path.name, settled=plan.settled,
            storage_root=str(options.out.resolve()), storage_key=IMAGES_FOLDER)
    except OverBudget as error:
        raise RunError(f"{error} (SHEETBATCH_MONTHLY_BUDGET sets the limit.)", 1) from None
    state_file.write_text(json.dumps({"batch_id": batch_id}))
    return batch_id


def plan_run(batches: Batches, checked: CheckedFile, options: RunOptions,
             previous: str | None) -> RunPlan:
    """Which images the folder already holds for exactly these settings (kept, not paid again),
    which failed last time for a reason not worth retrying, and which are to make."""
    storage = LocalStorage(options.out)
    failures = _failures(batches, previous, options.provider)
    plan = RunPlan()
    for row, request in checked.report.rows.items():
        for index in range(1, request.num_images + 1):
            fingerprint = request.fingerprint(index, options.provider)
            stored = storage.find(IMAGES_FOLDER, row, index)
            failure = failures.get((row, index))
            if stored is None or stored.fingerprint != fingerprint:
                # Made for these very settings by an earlier run (an edit undone): reuse it.
                stored = storage.reuse(IMAGES_FOLDER, row, index, fingerprint) or stored
            if stored is not None and stored.fingerprint == fingerprint:
                plan.settled[(row, index)] = (RowStatus.DONE, stored.result())
            elif failure and failure[0] == fingerprint and not (
                    options.retry_failed and failure[1].get("retryable")):
                plan.settled[(row, index)] = (RowStatus.FAILED, failure[1])
                plan.kept_failed += 1
            else:
                if stored is not None:
                    plan.changed_rows.add(row)
                plan.to_make.append((row, index))
    return plan


def _failures(batches: Batches, batch_id: str | None,
              provider: str) -> dict[tuple[int, int], tuple[str, dict]]:
    """(row, index) → (fingerprint, result) of each image the previous run failed."""
    if batch_id is None:
        return {}
    try:
        status = batches.status(batch_id)
        requests = batches.requests(batch_id)
    except BatchNotFound:
        return {}
    previous_provider = status.batch.provider
    failed = {}
    for row, result in status.rows.items():
        for index in range(1, requests[row].num_images + 1):
            made = {image["index"] for image in result.images}
            if result.status == RowStatus.FAILED and index not in made and result.error:
                failed[(row, index)] = (requests[row].fingerprint(index, previous_provider),
                                        {"error": result.error,
                                         "retryable": result.retryable})
    return failed


def _retire(services: Services, batch_id: str | None) -> None:
    """The previous run's batch, if a stopped or killed run left it going, stops for good (its
    images are in the folder, and two batches must never make the same image), and is settled:
    what it made is charged, the rest of its reservation goes back to the month's budget."""
    if batch_id is not None:
        try:
            if not services.batches.status(batch_id).finished:
                services.batches.stop(batch_id)
            services.launcher.settle(batch_id)
        except BatchNotFound:
            pass


def _previous_batch(state_file: Path) -> str | None:
    try:
        return json.loads(state_file.read_text())["batch_id"]
    except (OSError, ValueError, KeyError):
        return None


def _owner() -> str:
    """Whose monthly budget a command-line run counts against."""
    return f"cli:{getpass.getuser()}"


def describe_plan(plan: RunPlan, options: RunOptions, currency: str) -> None:
    reused = sum(1 for state, _ in plan.settled.values() if state == RowStatus.DONE)
    if not plan.to_make:  # a rerun of a finished folder: say so, not "Generating 0/8"
        left = f"; {plan.kept_failed} failed image(s) left failed" if plan.kept_failed else ""
        console.print(f"Nothing to make: {reused} image(s) already made and kept{left}. "
                      "The results are written again.")
        return
    cost = "free: placeholder images" if is_free(options.provider) else \
        f"{currency} {plan.cost:.2f}"
    parts = [f"{len(plan.to_make)} image(s) to make with {options.provider} ({cost})"]
    if plan.changed_rows:
        parts.insert(0, f"{len(plan.changed_rows)} row(s) changed")
    if reused:
        parts.append(f"{reused} already made and kept")
    if plan.kept_failed:
        parts.append(f"{plan.kept_failed} failed image(s) left failed")
    console.print(", ".join(parts) + f"; {options.workers} workers.")


def check_spending(plan: RunPlan, options: RunOptions, currency: str) -> None:
    """A paid run asks before it spends, unless --yes or a --max-cost ceiling it stays under
    says yes already; never above --max-cost."""
    if is_free(options.provider) or not plan.to_make:
        return
    if options.max_cost is not None:
        if plan.cost > options.max_cost + 1e-9:
            raise RunError(f"This run would cost {currency} {plan.cost:.2f}, more than --max-cost "
                           f"{options.max_cost:.2f}; nothing was generated.", 1)
        return
    if options.yes:
        return
    if options.confirm is None:
        raise RunError(f"This run will cost {currency} {plan.cost:.2f}. Run it again with --yes "
                       f"to confirm, or with --max-cost {plan.cost:.2f} (or more) as a ceiling.",
                       1)
    if not options.confirm(f"Spend {currency} {plan.cost:.2f}?"):
        raise RunError("Nothing was generated.", 1)


@contextmanager
def worker_processes(url: str, count: int, settings: Settings, log: Path,
                     hurry: threading.Event) -> Iterator[subprocess.Popen]:
    """`sheetbatch worker -n COUNT`, dying with this process; stopped in order on the way out
    (each worker finishes the image it is making, so nothing paid is thrown away) unless the
    person asked twice (`hurry`). Their log goes to `log`: the terminal shows only the run's
    own lines."""
    env = dict(os.environ, REDIS_URL=url)
    # The progress bar tells the person how it goes; a line per image would bury it.
    env.setdefault("SHEETBATCH_LOG_LEVEL", "WARNING")
    with open(log, "ab") as output:
        process = start_child([sys.executable, "-m", "server", "worker", "-n", str(count)],
                              env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=output)
    try:
        yield process
    finally:
        # A little longer than the supervisor gives its own workers, so it can end them itself.
        stop_children([process], settings.stop_grace_seconds + 5, hurry)


@dataclass
class StopRequest:
    asked: threading.Event = field(default_factory=threading.Event)  # the first signal
    hurry: threading.Event = field(default_factory=threading.Event)  # a second: don't wait


@contextmanager
def stop_signals() -> Iterator[StopRequest]:
    """Ctrl-C, SIGTERM or SIGHUP (the terminal closed) ask for a clean stop; a second one stops
    without waiting for the images in progress (the results are still written). The handler
    only sets flags: raising from it could land anywhere, mid-write included. Installed
    explicitly, so it works even when started with SIGINT ignored."""
    request = StopRequest()

    def handle(signum, frame) -> None:
        if signum == signal.SIGHUP:
            _quiet()  # no terminal to write to any more
        (request.hurry if request.asked.is_set() else request.asked).set()

    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {signum: signal.signal(signum, handle) for signum in signals}
    try:
        yield request
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _quiet() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:
            pass
        os.dup2(devnull, stream.fileno())


@contextmanager
def stopping_on(requested: threading.Event, batches: Batches, batch_id: str) -> Iterator[None]:
    """Stop the batch in Redis the moment a stop is requested (not at the next progress poll):
    every worker checks right before each paid call, so nothing starts after the signal."""
    done = threading.Event()

    def stop_when_asked() -> None:
        while not done.is_set():
            if requested.wait(0.05):
                try:
                    batches.stop(batch_id)
                except redis.RedisError:
                    pass  # the watch loop meets the same Redis and says so
                return

    stopper = threading.Thread(target=stop_when_asked, daemon=True)
    stopper.start()
    try:
        yield
    finally:
        done.set()
        stopper.join(timeout=5)


def watch(services: Services, batch_id: str, stop: StopRequest) -> BatchProgress:
    """Show progress until the batch settles (with the provider's outage, if any), or until a
    second stop request says not to wait for the images in progress."""
    batches = services.batches
    status = batches.status(batch_id)
    if status.finished:
        return status  # nothing to make: no bar standing at 0 as if stuck
    breaker = CircuitBreaker(services.redis, status.batch.account,
                             services.settings.provider_timeout)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("images"), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("Generating", total=status.images["total"],
                                 completed=status.images["done"] + status.images["failed"])
        while not status.finished and not stop.hurry.is_set():
            stop.hurry.wait(POLL_SECONDS)
            status = batches.status(batch_id)
            progress.update(task, description=_describe(status, breaker, stop.asked),
                            completed=status.images["done"] + status.images["failed"])
    return status


def _describe(status: BatchProgress, breaker: CircuitBreaker,
              stop_requested: threading.Event) -> str:
    """The progress line's words: what is happening now, in the person's terms."""
    if stop_requested.is_set():
        return "Stopping (images in progress finish)"
    if status.paused:
        return "Paused (images in progress finish)"
    outage = breaker.outage()
    if outage is not None:
        return outage.describe(status.batch.provider)
    return "Generating"


def pause_report(services: Services, status: BatchProgress, out: Path,
                 settings: Settings) -> str:
    """Why the batch paused (storage as it is now, else the reason recorded: the provider
    account, say), what is where, and what to do for that fault."""
    images = out / IMAGES_FOLDER
    stored = len(LocalStorage(out).list(IMAGES_FOLDER)) if images.is_dir() else 0
    waiting = services.batches.count_unsaved(storage_place(status.batch))
    where = f"{stored} image(s) are in {images}"
    if waiting:
        where += (f"; {waiting} more were paid for and wait in the run's Redis (in "
                  f"{settings.data_dir}) until the next run stores them, free of charge")
    reason = storage_fault(images, settings.min_free_bytes) or status.paused
    return f"{reason.rstrip('.')}. {where}."


def storage_fault(folder: Path, min_free: int) -> str | None:
    """The fault with a folder, in words, with what to do about it (None: it works)."""
    try:
        LocalStorage(folder.parent).check_room(folder.name, min_free)
    except StorageUnavailable as error:
        code = error.errno
        if code in (errno.EROFS, errno.EACCES, errno.EPERM):
            return (f"Images cannot be stored in {folder} ({os.strerror(code)}): make it "
                    "writable (or choose another --out) and run the same command again.")
        if code is None:  # writable, but below the reserve kept free
            free = shutil.disk_usage(folder).free
            return (f"Images cannot be stored in {folder}: its disk has {_megabytes(free)} "
                    f"free, less than the {_megabytes(min_free)} kept free "
                    "(SHEETBATCH_MIN_FREE_BYTES): free space and run the same command again.")
        return (f"Images cannot be stored in {folder}: its disk cannot take more "
                f"({os.strerror(code)}): free space and run the same command again.")
    return None


def _megabytes(size: int) -> str:
    return f"{size / 2**20:,.1f} MB" if size < 2**30 else f"{size / 2**30:,.1f} GB"


def write_outputs(checked: CheckedFile, status: BatchProgress, out: Path) -> Path:
    """The results workbook and images.zip, each written aside and renamed into place."""
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
    try:
        _save_atomically(grid, path)
        write_zip(LocalStorage(out), IMAGES_FOLDER, out / "images.zip")
    except OSError as error:
        raise RunError(f"The results could not be written into {out} ({error.strerror or error}); "
                       f"every image made is in {out / IMAGES_FOLDER}. Free space and run the "
                       "same command again.", EXIT_LOST) from None
    return path


def _save_atomically(grid: WorkbookGrid, path: Path) -> None:
    """Built in memory (a workbook is small), written aside, renamed into place: a full disk
    leaves the previous results file whole, never a 0-byte one."""
    workbook = io.BytesIO()
    grid.save(workbook)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".xlsx")
    try:
        with os.fdopen(handle, "wb") as output:
            output.write(workbook.getvalue())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
