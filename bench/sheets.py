"""Google Sheets API budget of write-back, counted from the emulator's request log.

    .venv/bin/python -m bench.sheets                       # 1 sheet: 499 rows × 4 images
    .venv/bin/python -m bench.sheets --sheets 50 --rows 40 --images 1 --latency 0.5

Prints: the requests to validate a 499-row sheet (1 sheet only); the write-back requests per
flush (goal 1); reads and writes a minute, all requests and write-back's alone (peak in any 60 s
window; goal for write-back ≤ 240, SHEETBATCH_SHEETS_REQUESTS_PER_MINUTE); the status delay,
from an image's file stored to its row's status written (median and worst; goal ≤ 15 s at 50
sheets); and the characters of our developer metadata per sheet (keys + values) while the
batch runs and once it is over (goal 0).

Each sheet belongs to its own person (token), as 50 concurrent sheets would. The emulator keeps
Google's quotas (60 reads + 60 writes a minute per person, 300 + 300 per project).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rq import Worker

from server.batches import keys
from server.cli.embedded_redis import EmbeddedRedis
from server.config import Settings
from server.gsheets.contents import ROW_KEY, ROW_KEY_PREFIX
from server.gsheets.tokens import store_token
from server.services import Services, connect
from testkit import ROOT
from testkit.clients import gspread_client
from testkit.fakes.image_api import FakeImageAPI
from testkit.sheets_emulator.metadata import sheet_of
from testkit.sheets_emulator.server import EmulatorServer
from testkit.sheets_requests import is_write_back, peak_per_minute


def person(n: int) -> tuple[str, str]:
    return f"ya29.bench-{n}", f"bench{n}@example.com"


def make_sheet(emulator: EmulatorServer, token: str, rows: int, images: int,
               visibility: str = "private") -> tuple[str, int]:
    client = gspread_client(emulator, token)
    spreadsheet = client.create("bench")
    values = [["prompt", "visibility", "model", "num_images", "magic_prompt"]]
    values += [[f"a sticker of a cat number {n}", visibility, "3.0", images, "off"]
               for n in range(1, rows + 1)]
    spreadsheet.sheet1.update(values, "A1", value_input_option="RAW")
    return spreadsheet.id, spreadsheet.sheet1.id


def count(entries: list[dict]) -> dict:
    return {"reads": sum(e["kind"] == "read" for e in entries),
            "writes": sum(e["kind"] == "write" for e in entries)}


def metadata_characters(emulator: EmulatorServer, spreadsheet_id: str, sheet_id: int) -> int:
    """Keys plus values of our developer metadata on one sheet (its rows, columns, itself)."""
    return sum(len(m.get("metadataKey") or "") + len(m.get("metadataValue") or "")
               for m in emulator.state.spreadsheets[spreadsheet_id].metadata.values()
               if sheet_of(m) == sheet_id
               and m["metadataKey"].startswith(("sheetbatch.", ROW_KEY_PREFIX)))


def status_delays(services: Services, entries: list[dict], batch_ids: list[str]) -> list[float]:
    """Per row: from its last image's file stored to the first write of its "done" status."""
    shown: dict[tuple[str, str], float] = {}
    for entry in entries:
        if not entry["path"].endswith("values:batchUpdateByDataFilter") or entry["status"] != 200:
            continue
        for item in entry["body"]["data"]:
            lookup = item["dataFilter"]["developerMetadataLookup"]
            if "'done" in item["values"][0]:
                shown.setdefault((lookup["metadataKey"], lookup["metadataValue"]), entry["time"])
    delays = []
    for batch_id in batch_ids:
        stored: dict[str, float] = {}
        for meta in services.settings.data_dir.glob(f"**/{batch_id}/.meta/*.json"):
            row = meta.name.split("_")[0]
            stored[row] = max(stored.get(row, 0.0), meta.stat().st_mtime)
        key = ROW_KEY.format(batch_id=batch_id)
        delays += [shown[(key, row)] - when for row, when in stored.items()
                   if (key, row) in shown]
    return delays


def start_batch(services: Services, token: str, owner: str, spreadsheet_id: str,
                sheet_id: int) -> str:
    """As the sidebar's Start: validate, then start; tried again (like a person would) when
    Google asks us to slow down."""
    for _ in range(30):
        grid = services.sheets.grid(token, spreadsheet_id, sheet_id)
        try:
            return services.sheets.start(grid, services.sheets.validate(grid), owner, "ideogram",
                                         "http://127.0.0.1:8000/")
        except Exception as error:  # 429 or our 17 s deadline: a person clicks again
            print(f"  start refused ({type(error).__name__}: {str(error)[:80]}); again in 2 s")
            time.sleep(2)
    raise RuntimeError("could not start the batch")


def validation_figures(services: Services, emulator: EmulatorServer, rows: int,
                       images: int) -> None:
    token, _ = person(0)
    for label, visibility in (("clean sheet", "private"), ("every row bad", "secret")):
        grid = services.sheets.grid(token, *make_sheet(emulator, token, rows, images, visibility))
        mark = len(emulator.log)
        report = services.sheets.validate(grid).report
        used = count(emulator.log[mark:])
        print(f"validate {rows} rows, {label} ({len(report.errors)} errors): "
              f"{used['reads']} read(s) + {used['writes']} write(s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sheets", type=int, default=1)
    parser.add_argument("--rows", type=int, default=499)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp, EmulatorServer() as emulator, \
            FakeImageAPI() as fake:
        server = EmbeddedRedis(Path(temp) / "redis").start()
        fake.configure(latency=args.latency)
        env = dict(os.environ, REDIS_URL=server.url, SHEETBATCH_DATA=str(Path(temp) / "data"),
                   IDEOGRAM_API_KEY=fake.api_key, IDEOGRAM_BASE_URL=fake.url,
                   IDEOGRAM_IMAGE_HOSTS=fake.image_host, SHEETBATCH_GOOGLE_API_URL=emulator.url,
                   SHEETBATCH_SECRET_KEY="bench", SHEETBATCH_MONTHLY_BUDGET="100000",
                   PYTHONPATH=str(ROOT))
        os.environ.update(env)
        services = Services(Settings.from_env())
        redis = connect(server.url)
        if args.sheets == 1:
            validation_figures(services, emulator, args.rows, args.images)
        sheets = []
        for n in range(1, args.sheets + 1):
            token, owner = person(n)
            store_token(redis, owner, token, 3600 * 4)
            sheets.append((token, owner, *make_sheet(emulator, token, args.rows, args.images)))

        pool = subprocess.Popen([sys.executable, "-m", "server", "worker", "-n",
                                 str(args.workers)], env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
        while len(Worker.all(connection=redis)) < args.workers:
            time.sleep(0.1)
        mark = len(emulator.log)
        started = time.perf_counter()
        batch_ids = [start_batch(services, *sheet) for sheet in sheets]
        running_metadata = max(metadata_characters(emulator, s[2], s[3]) for s in sheets)
        while any(services.batches.status(b).status != "completed" for b in batch_ids):
            time.sleep(0.2)
        generated = time.perf_counter() - started
        while any(redis.sismember(keys.SHEET_BATCHES, b) for b in batch_ids):
            time.sleep(0.2)  # until the last write-back is out
        written = time.perf_counter() - started
        entries = emulator.log[mark:]
        while any(redis.zscore(keys.ANCHORS_TO_CLEAR, b) is not None for b in batch_ids):
            time.sleep(0.2)  # the housekeeper deletes the completed batches' anchors
        final_metadata = max(metadata_characters(emulator, s[2], s[3]) for s in sheets)
        delays = status_delays(services, entries, batch_ids)
        pool.terminate()
        pool.wait()
        server.stop()

    write_back = [e for e in entries if is_write_back(e)]
    flushes = sum(e["path"].endswith("values:batchUpdateByDataFilter") for e in write_back)
    refused = sum(e["status"] == 429 for e in entries)
    minutes = written / 60
    everything = count(entries)
    print(f"{args.sheets} sheet(s) × {args.rows} rows × {args.images} image(s); "
          f"{args.workers} workers; provider latency {args.latency}s")
    print(f"images done after {generated:.1f} s, last status written after {written:.1f} s")
    print(f"all requests (starts included): {everything['reads']} reads + "
          f"{everything['writes']} writes; {refused} answered 429")
    print(f"write-back: {len(write_back)} requests for {flushes} flushes = "
          f"{len(write_back) / max(flushes, 1):.2f} per flush (goal 1)")
    print(f"write-back per minute: {len(write_back) / minutes:.0f} on average, peak "
          f"{peak_per_minute(write_back)} in any 60 s (goal ≤ 240)")
    print(f"all requests per minute: peak {peak_per_minute(entries)} in any 60 s "
          f"(reads {peak_per_minute([e for e in entries if e['kind'] == 'read'])}, writes "
          f"{peak_per_minute([e for e in entries if e['kind'] == 'write'])}; quota 300 + 300)")
    print(f"status delay over {len(delays)} rows: median {statistics.median(delays):.1f} s, "
          f"worst {max(delays):.1f} s (goal ≤ 15 s at 50 sheets)")
    print(f"our metadata per sheet (most of any sheet): {running_metadata} characters while the "
          f"batch runs, {final_metadata} once it is over (goal 0)")


if __name__ == "__main__":
    main()
