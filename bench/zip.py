"""Benchmark: streaming ZIP of a 2,000-image batch against `zip -0` and zipfile.

    .venv/bin/python -m bench.zip [--images 2000] [--repeat 3]

Prints figures; asserts nothing. All timings read files from a warm page cache
(the files were just written), so they measure the ZIP path, not the disk.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

from server.storage import LocalStorage
from server.storage.zipper import batch_zip
from testkit import ROOT

BATCH = "bench"
PNG_HEAD = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
            b"\x00\x00\x04\x00\x00\x00\x04\x00\x08\x06\x00\x00\x00")


def make_images(root: Path, count: int) -> tuple[LocalStorage, int]:
    """`count` PNG-looking files of 100-300 KB of random bytes, saved through LocalStorage."""
    store = LocalStorage(root, fsync=False)  # setup speed only; fsync is not what we measure
    rng = random.Random(1)
    total = 0
    for n in range(count):
        data = PNG_HEAD + os.urandom(rng.randint(100_000, 300_000))
        store.save(BATCH, 2 + n // 4, 1 + n % 4, f"benchmark prompt {n}", data, seed=n,
                   used_prompt=f"benchmark prompt {n}, magic", media_type="image/png",
                   preview=False)
        total += len(data)
    return store, total


def best_of(repeat: int, fn) -> tuple[float, int | None]:
    """Fastest of `repeat` runs: the least disturbed by other load on the machine."""
    runs = [fn() for _ in range(repeat)]
    return min(runs, key=lambda run: run[0])


def time_streaming(store: LocalStorage) -> tuple[float, int]:
    start = time.perf_counter()
    zs = batch_zip(store, BATCH)
    with open(os.devnull, "wb") as sink:
        written = 0
        for chunk in zs:
            written += sink.write(chunk)
    assert written == len(zs)
    return time.perf_counter() - start, written


def time_zip_cli(store: LocalStorage) -> tuple[float, None]:
    if shutil.which("zip") is None:
        return None
    # "-" = write the archive to stdout, so it goes to /dev/null like ours.
    start = time.perf_counter()
    subprocess.run(["zip", "-0", "-q", "-r", "-", ".", "-x", ".meta/*"],
                   cwd=store.batch_dir(BATCH), check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, None


class UnseekableSink:
    """/dev/null that cannot seek: /dev/null's tell() is always 0, which breaks
    zipfile's offsets; without seek/tell zipfile streams like a socket would."""

    def __init__(self):
        self._fh = open(os.devnull, "wb")

    def write(self, data: bytes) -> int:
        return self._fh.write(data)

    def flush(self) -> None:
        self._fh.flush()


def time_zipfile(store: LocalStorage) -> tuple[float, int]:
    start = time.perf_counter()
    images = store.list(BATCH)
    with zipfile.ZipFile(UnseekableSink(), "w", zipfile.ZIP_STORED) as zf:
        for img in images:
            zf.write(store.path(BATCH, img.name), img.name)
    return time.perf_counter() - start, sum(i.size for i in images)


def measure_memory(root: str) -> dict[str, float]:
    """Run in a fresh subprocess: its ru_maxrss starts from a clean baseline."""
    store = LocalStorage(Path(root), fsync=False)
    # Baseline after imports, before anything reads the batch: the delta covers
    # listing 2,000 sidecars plus streaming the whole archive.
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    time_streaming(store)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()  # separate pass: tracing slows allocation down
    time_streaming(store)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"rss_before_kb": before, "rss_delta_kb": after - before, "tracemalloc_peak": peak}


def memory_in_subprocess(root: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-m", "bench.zip", "--memory-child", str(root)],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{cpu}, {os.cpu_count()} CPUs, {mem_gb:.0f} GiB RAM, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        print(json.dumps(measure_memory(args.memory_child)))
        return

    with tempfile.TemporaryDirectory(prefix="sheetbatch-bench-") as tmp:
        root = Path(tmp)
        print(f"machine: {machine()}")
        t0 = time.perf_counter()
        store, total = make_images(root, args.images)
        print(f"setup: {args.images} images, {total / 1e6:.0f} MB in "
              f"{time.perf_counter() - t0:.1f} s")

        rows = []
        elapsed, size = best_of(args.repeat, lambda: time_streaming(store))
        rows.append(("sheetbatch batch_zip -> /dev/null", elapsed, size))
        cli = best_of(args.repeat, lambda: time_zip_cli(store)) if shutil.which("zip") else None
        if cli is None:
            print("`zip` not found: skipping that baseline (hint: apt-get install -y zip)")
        else:
            rows.append(("zip -0 -q -r - > /dev/null", *cli))
        elapsed, size = best_of(args.repeat, lambda: time_zipfile(store))
        rows.append(("zipfile ZIP_STORED -> /dev/null", elapsed, size))

        # Throughput over the image bytes, the same payload for every method.
        print(f"\n{'method':<36} {'seconds':>8} {'MB/s':>8}")
        for name, secs, _ in rows:
            print(f"{name:<36} {secs:>8.2f} {total / 1e6 / secs:>8.0f}")
        print(f"streamed archive: {rows[0][2]:,} bytes = len(batch_zip(...)) announced up front")

        mem = memory_in_subprocess(root)
        print(f"\nstreaming memory (fresh subprocess): tracemalloc peak "
              f"{mem['tracemalloc_peak'] / 2**20:.2f} MiB, ru_maxrss delta "
              f"{mem['rss_delta_kb']:,} KiB (baseline after imports "
              f"{mem['rss_before_kb'] / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()
