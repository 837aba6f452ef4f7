"""Benchmark: memory and time per hostile upload (issues 10 and 23).

First, for each file, the reading child alone: a fresh interpreter that imports what the fork
server imports, sets the same address-space ceiling and runs the same code as the child every
upload is read in (server/files/child.py, `_read_and_send`, its answer pickled as for the pipe);
its peak RSS is its own VmHWM, its time the reading alone.

Then the server: starts a real `sheetbatch serve` (gunicorn, its default 2 processes × 8
threads, an embedded Redis), then uploads each file of the hostile corpus (full size: the shapes
the attack used) through the upload page, one at a time, and then several at once.
Before each upload the peak RSS of every gunicorn worker is reset (`5` to /proc/PID/clear_refs)
and afterwards read back (VmHWM in /proc/PID/status): the figure is the highest worker's peak.

Run: .venv/bin/python -m bench.hostile_uploads [--scale 1.0]
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from server.files.child import MEMORY_CEILING_BYTES
from server.links import Signer
from testkit import ROOT, hostile_files
from testkit.processes import free_port, wait_for
from testkit.sheet_files import realistic_rows, write_xlsx

SECRET = "bench-secret"


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def gunicorn_workers(serve: subprocess.Popen) -> list[int]:
    """sheetbatch serve → gunicorn master → its workers."""
    masters = [pid for pid in children(serve.pid)
               if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    return [worker for master in masters for worker in children(master)]


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peaks(workers: list[int]) -> None:
    for pid in workers:
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def upload(base: str, person: str, path: Path) -> tuple[int, float, str]:
    token = Signer(SECRET).upload_token(person)
    started = time.monotonic()
    with path.open("rb") as file:
        response = httpx.post(f"{base}/upload/{token}", files={"file": (path.name, file)},
                              data={"provider": "preview"}, timeout=600)
    elapsed = time.monotonic() - started
    text = response.text
    said = text.split('role="alert">', 1)[1].split("</p>", 1)[0] if 'role="alert">' in text \
        else f"checked: {text.count('<tr class=')} problem rows shown, {len(text) / 1024:.0f} KB"
    return response.status_code, elapsed, said


# Run in a fresh interpreter with only what the fork server imports: the same ceiling, the same
# code as the child (its answer pickled as for the pipe), its own reading time printed.
CHILD = """
import pickle, sys, time
from pathlib import Path
from server.files.child import MEMORY_CEILING_BYTES, _read_and_send

class Pipe:
    def send(self, outcome):
        pickle.dumps(outcome)
        self.outcome = outcome
    def close(self):
        pass

pipe, started = Pipe(), time.monotonic()
_read_and_send(pipe, Path(sys.argv[1]), None, 200 * 2**20, MEMORY_CEILING_BYTES)
print(time.monotonic() - started)
print(next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")))
print(pipe.outcome[0] if pipe.outcome[0] == "table" else pipe.outcome[1])
"""


def measure_child(path: Path) -> tuple[str, float, float]:
    """(answer, seconds reading, peak RSS in MB) of one file read the way the child reads it."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = child.stdout.read().strip().splitlines()
    child.wait()
    try:  # VmHWM, not wait4's maxrss: Linux carries the forking parent's peak across exec
        return output[-1], float(output[-3]), int(output[-2]) / 1024
    except (IndexError, ValueError):  # the ceiling or the CPU limit ended it
        return f"died: {output[-1:]}", float("nan"), float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--together", type=int, default=3, help="uploads sent at once")
    parser.add_argument("--scale", type=float, default=1.0, help="size of the hostile files")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="sheetbatch-hostile-"))
    files = [write_xlsx(folder / "legit-499-rows.xlsx", realistic_rows(499))]
    files += [make(folder, args.scale)
              for make in (*hostile_files.MAKERS, *hostile_files.MAKERS_23)]
    print(f"# the reading child, ceiling {MEMORY_CEILING_BYTES // 2**20} MB, scale {args.scale}\n")
    print("| file | size | time | child's peak RSS | answer |")
    print("| --- | --- | --- | --- | --- |")
    for path in files:
        answer, elapsed, peak = measure_child(path)
        print(f"| {path.name} | {path.stat().st_size / 2**20:.2f} MB | {elapsed:.1f} s | "
              f"{peak:.0f} MB | {answer[:110]} |", flush=True)
    print()
    port = free_port()
    env = dict(os.environ, SHEETBATCH_DATA=str(folder / "data"), SHEETBATCH_SECRET_KEY=SECRET,
               PYTHONPATH=str(ROOT))
    env.pop("REDIS_URL", None)
    serve = subprocess.Popen([sys.executable, "-m", "server", "serve", "--port", str(port)],
                             env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(base), timeout=60, what="sheetbatch serve")
        workers = gunicorn_workers(serve)
        print(f"# {platform.python_implementation()} {platform.python_version()}, "
              f"{os.cpu_count()} CPUs, {len(workers)} gunicorn workers")
        print(f"idle worker peak RSS: {max(peak_mb(pid) for pid in workers):.0f} MB "
              "(the reading children are not the worker's)\n")
        print("| file | size | answer | time | peak worker RSS | what the person reads |")
        print("| --- | --- | --- | --- | --- | --- |")
        for number, path in enumerate(files):
            reset_peaks(workers)
            status, elapsed, said = upload(base, f"bench{number}@example.com", path)
            print(f"| {path.name} | {path.stat().st_size / 2**20:.1f} MB | {status} | "
                  f"{elapsed:.1f} s | {max(peak_mb(pid) for pid in workers):.0f} MB | "
                  f"{said[:110]} |", flush=True)
        for path in (files[1], files[2]):  # the two worst: shared strings, wide sheet
            reset_peaks(workers)
            started = time.monotonic()
            with ThreadPoolExecutor(args.together) as pool:
                answers = list(pool.map(lambda n: upload(base, f"together{n}@example.com", path),
                                        range(args.together)))
            print(f"| {args.together} × {path.name} at once | | "
                  f"{', '.join(str(a[0]) for a in answers)} | {time.monotonic() - started:.1f} s | "
                  f"{max(peak_mb(pid) for pid in workers):.0f} MB | |")
    finally:
        serve.terminate()
        serve.wait(timeout=30)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
