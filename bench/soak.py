"""The soak through the sheet path at full size (the CI test `tests/gsheets/test_soak.py` runs
it small): 499 rows × 4 images through gunicorn, 8 workers, the strict Sheets emulator with its
quotas, the image-API fake (1–3 s per image, 3 % answered 429 and 3 % 503); mid-batch the person
inserts, sorts and deletes rows (twice), Redis is restarted (append-only file), Sheets answers
429 to everything for 2 minutes, and the web process is restarted.

    .venv/bin/python -m bench.soak [--rows 499] [--images 4] [--workers 8] [--outage 120]

Prints what was injected and when, and what held; the figures go in docs/reliability.md ("Soak").
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from testkit.soak import Soak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=499)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--outage", type=float, default=120.0, help="seconds of Sheets 429s")
    parser.add_argument("--latency", type=float, nargs=2, default=(1.0, 3.0))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        outcome = Soak(Path(folder), args.rows, args.images, args.workers, tuple(args.latency),
                       args.outage).run()
    wanted = args.rows * args.images
    print(f"{args.rows} rows × {args.images} images, {args.workers} workers, image API "
          f"{args.latency[0]:g}–{args.latency[1]:g} s with 3 % 429 and 3 % 503; "
          f"{outcome.seconds:.0f} s from start to every status on the sheet")
    for second, what in outcome.events:
        print(f"  at {second:>4} s: {what}")
    print(f"rows done on their own row: {outcome.rows_done_on_their_row} of {args.rows} "
          f"(misplaced: {outcome.misplaced or 'none'})")
    print(f"distinct images linked in the sheet: {outcome.distinct_images}, stored: "
          f"{outcome.stored_images} (wanted {wanted})")
    print(f"images the provider made and billed: {outcome.paid} (paid twice: "
          f"{outcome.paid - wanted})")
    print(f"estimate ${outcome.estimate:.2f}, bill ${outcome.bill:.2f}")
    print(f"write-back: peak {outcome.write_back_peak_per_minute} requests in any 60 s "
          f"(goal ≤ 240); the person's peak {outcome.person_peak_per_minute} reads or writes "
          "(quota 60)")


if __name__ == "__main__":
    main()
