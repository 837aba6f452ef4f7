"""Every file is read in a child process with a hard memory ceiling (RLIMIT_AS) and a time limit,
so a file nobody thought of costs the server at most that ceiling, for at most that time, and
the answer is the table or one readable line — never a worker killed or swapping.

Children are forked from a small single-threaded fork server (multiprocessing's "forkserver",
started on first use with the readers already imported), not from the threaded web process: a
child starts in a few milliseconds, holds none of the parent's memory, and its address space is
its own to limit.
"""
from __future__ import annotations

import multiprocessing
import resource
from multiprocessing.connection import Connection
from pathlib import Path

from server.files.csvfile import read_csv
from server.files.table import Table, UnreadableFile
from server.files.xlsfile import read_xls
from server.files.xlsxfile import read_xlsx

# A sheet of 499 prompts reads in under 60 MB; the largest file inside every limit, in ~120 MB.
MEMORY_CEILING_BYTES = 300 * 2**20
TIME_LIMIT_SECONDS = 20
_CONTEXT = multiprocessing.get_context("forkserver")
# (As multiprocessing does, a main script started by its path — the `sheetbatch` command — is
# imported again in each child; guarded by `if __name__ == "__main__"`, it runs nothing.)
_CONTEXT.set_forkserver_preload([__name__])


def read_in_child(path: Path, sheet: str | None, max_unzipped_bytes: int,
                  ceiling: int = MEMORY_CEILING_BYTES) -> Table:
    """The table of one sheet of the file, read by a child within the memory ceiling (bytes of
    address space) and time limit; `UnreadableFile` with one line for anything else."""
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    child = _CONTEXT.Process(target=_read_and_send,
                             args=(sender, path, sheet, max_unzipped_bytes, ceiling),
                             name="sheetbatch-read")
    child.start()
    sender.close()
    try:
        if not receiver.poll(TIME_LIMIT_SECONDS):
            raise UnreadableFile(f"{path.name} took more than {TIME_LIMIT_SECONDS} seconds to "
                                 "read, far longer than a sheet of prompts needs; save only the "
                                 "batch sheet and upload it again.")
        outcome, value = receiver.recv()
    except EOFError:  # the child died: the ceiling, or a library crashing on the file
        raise needs_more_memory(path, ceiling) from None
    finally:
        receiver.close()
        child.kill()
        child.join()
        child.close()
    if outcome == "refused":
        raise UnreadableFile(value)
    return value


def needs_more_memory(path: Path, ceiling: int) -> UnreadableFile:
    return UnreadableFile(f"{path.name} needs more memory than a sheet of prompts should (over "
                          f"{ceiling // 2**20} MB) to read; save only the batch sheet "
                          "as a new file and upload it again.")


def _read_and_send(sender: Connection, path: Path, sheet: str | None, max_unzipped_bytes: int,
                   ceiling: int) -> None:
    """In the child: limit ourselves, read, send the table or the refusal."""
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
    cpu = TIME_LIMIT_SECONDS + 5  # the parent kills us first; this holds if the parent is gone
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    try:
        outcome = ("table", read_here(path, sheet, max_unzipped_bytes))
    except UnreadableFile as refusal:
        outcome = ("refused", str(refusal))
    except (MemoryError, RecursionError):
        outcome = ("refused", str(needs_more_memory(path, ceiling)))
    except Exception as error:  # a library failing on a damaged file: one line, no traceback
        outcome = ("refused", f"{path.name} could not be read; it looks damaged "
                              f"({type(error).__name__}).")
    try:
        sender.send(outcome)
    except MemoryError:
        sender.send(("refused", str(needs_more_memory(path, ceiling))))
    sender.close()


def read_here(path: Path, sheet: str | None, max_unzipped_bytes: int) -> Table:
    """Read in this process (only ever called inside the child)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(path)
    if suffix == ".xls":
        return read_xls(path, sheet)
    return read_xlsx(path, sheet, max_unzipped_bytes)
