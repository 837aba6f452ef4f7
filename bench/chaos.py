"""Chaos at full size: what happens to people's runs (issue 8), done to a real `sheetbatch run`
of 120 rows × 4 images against the image-API fake, then the same command again. Prints the
table of docs/reliability.md; asserts nothing (the reduced suite, tests/chaos/, asserts).

    .venv/bin/python -m bench.chaos [--rows 120] [--images 4] [--latency 0.6] [--only NAME]

Run as root for the disk scenarios (they mount a small tmpfs as the output folder).
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from server.cli.embedded_redis import EmbeddedRedis
from testkit import ROOT, chaos
from testkit.fakes.image_api import FakeImageAPI

COLUMNS = ["scenario", "images", "delivered", "paid calls", "duplicates paid", "stale",
           "rows stuck", "estimate USD", "bill USD", "paid after stop", "exit codes", "notes"]


def person_env(fake: FakeImageAPI, data: Path) -> dict[str, str]:
    env = dict(os.environ, SHEETBATCH_DATA=str(data), IDEOGRAM_API_KEY=fake.api_key,
               IDEOGRAM_BASE_URL=fake.url, IDEOGRAM_IMAGE_HOSTS=fake.image_host,
               SHEETBATCH_PROVIDER="ideogram", PYTHONPATH=str(ROOT))
    env.pop("REDIS_URL", None)
    return env


def scenarios(rows: int, images: int, latency: float) -> dict:
    def fresh(fake, folder):
        return chaos.Run(person_env(fake, folder / "data"), folder, fake, rows, images)

    def on_small_disk(how):
        def scenario(fake, folder):
            disk = folder / "disk"
            disk.mkdir()
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={rows * images // 6 + 2}m",
                            "tmpfs", str(disk)], check=True)
            try:
                run = chaos.Run(person_env(fake, folder / "data"), disk, fake, rows, images)
                return chaos.storage_fails(run, disk, how)
            finally:
                subprocess.run(["umount", "-l", str(disk)])
        return scenario

    def two_runs(fake, folder):
        server = EmbeddedRedis(folder / "shared-redis").start()
        try:
            fake.configure(extra_api_keys=["second-person-key"])
            env = dict(person_env(fake, folder / "data"), REDIS_URL=server.url)
            (folder / "a").mkdir()
            (folder / "b").mkdir()
            (folder / "solo").mkdir()
            solo = chaos.Run(env, folder / "solo", fake, 10, images)
            solo.prompts = {row: f"a lone boat number {row}" for row in solo.prompts}
            solo.write_sheet()
            started = time.monotonic()
            solo.run(IDEOGRAM_API_KEY="second-person-key")
            alone = time.monotonic() - started  # its own ideal: the same command, on its own
            fake.configure(reset=True, latency=latency, extra_api_keys=["second-person-key"])
            big = chaos.Run(env, folder / "a", fake, rows, images)
            small = chaos.Run(env, folder / "b", fake, 10, images)
            small.prompts = {row: f"a small boat number {row}" for row in small.prompts}
            small.write_sheet()
            figures, timing = chaos.two_runs(big, small, fake.api_key, "second-person-key")
            figures.notes += (f"; small batch {timing['small_seconds']:.1f} s during the big "
                              f"one, {alone:.1f} s alone: "
                              f"{timing['small_seconds'] / alone:.2f}× its own time")
            return figures
        finally:
            server.stop()

    def two_data_folders(fake, folder):
        first, second = (chaos.Run(person_env(fake, folder / name), folder, fake, rows, images)
                         for name in ("data-a", "data-b"))
        figures, refused, _ = chaos.two_data_folders(first, second)
        figures.notes = ("second refused while the first ran" if "Another sheetbatch run" in
                         refused else "NOT REFUSED")
        return figures

    def edit_undone(fake, folder):
        run = fresh(fake, folder)
        figures, outputs = chaos.edit_reverted(run, 2 + rows // 2)
        figures.notes = ("the undo: 0 to make" if "0 image(s) to make" in outputs[2]
                         else "UNDO PAID")
        return figures

    return {
        "sigint": lambda fake, folder: chaos.interrupted(fresh(fake, folder), signal.SIGINT,
                                                           "Ctrl-C (SIGINT to the group)"),
        "sighup": lambda fake, folder: chaos.interrupted(fresh(fake, folder), signal.SIGHUP,
                                                           "terminal closed (SIGHUP)"),
        "kill-run": lambda fake, folder: chaos.killed_run(fresh(fake, folder)),
        "kill-worker": lambda fake, folder: chaos.worker_killed(fresh(fake, folder)),
        "redis": lambda fake, folder: chaos.redis_killed(fresh(fake, folder)),
        "disk-full": on_small_disk("full"),
        "read-only": on_small_disk("read-only"),
        "outage": lambda fake, folder: chaos.outage(fresh(fake, folder), seconds=30),
        "two-runs": two_runs,
        "edited": lambda fake, folder: chaos.edited(fresh(fake, folder)),
        "downloads": lambda fake, folder: chaos.downloads_fail(fresh(fake, folder)),
        "two-data-folders": two_data_folders,
        "edit-undone": edit_undone,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=120)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.6)
    parser.add_argument("--only", action="append")
    args = parser.parse_args()
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + " --- |" * len(COLUMNS))
    for name, scenario in scenarios(args.rows, args.images, args.latency).items():
        if args.only and name not in args.only:
            continue
        with FakeImageAPI() as fake, tempfile.TemporaryDirectory() as folder:
            fake.configure(latency=args.latency)
            started = time.monotonic()
            try:
                figures = scenario(fake, Path(folder))
            except Exception as error:  # a benchmark reports a scenario that broke, and goes on
                print(f"| {name} | failed: {type(error).__name__}: {error} |", flush=True)
                continue
            figures.notes += f"; {time.monotonic() - started:.0f} s"
            print("| " + " | ".join(map(str, figures.row())) + " |", flush=True)


if __name__ == "__main__":
    main()
