"""Google Sheets API budget, counted from the emulator's request log.

    .venv/bin/python bench/sheets.py [--rows 499] [--images 4] [--workers 8]

(a) requests to validate a 499-row sheet (goal: 1 read + 1 write); (b) requests for a whole
499-row × 4-image batch with 8 workers, status written back through the coalescing flusher;
(c) the peak writes in any 60 s window (goal: ≤ 30, half the per-user quota); (d) the characters
of our developer metadata on the sheet (keys + values; Google limits it per sheet, ~30,000 is
quoted): while the batch runs (goal: < 20,000) and once it is over and its anchors are cleared.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import google.oauth2.credentials
import gspread
from rq import Worker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.cli.embedded_redis import EmbeddedRedis
from server.config import Settings  # noqa: E402
from server.gsheets.endpoint import point_session_at  # noqa: E402
from server.gsheets.tokens import store_token  # noqa: E402
from server.services import (
    Services,  # noqa: E402
    connect,  # noqa: E402
)
from tests.fakes.image_api import FakeImageAPI  # noqa: E402
from tests.sheets_emulator.server import EmulatorServer  # noqa: E402

TOKEN = "ya29.bench-user"
OWNER = "bench@example.com"


def make_sheet(emulator: EmulatorServer, rows: int, images: int,
               visibility: str = "private") -> tuple[str, int]:
    client = gspread.authorize(google.oauth2.credentials.Credentials(TOKEN))
    point_session_at(client.http_client.session, emulator.url)
    spreadsheet = client.create("bench")
    values = [["prompt", "visibility", "model", "num_images", "magic_prompt"]]
    values += [[f"a sticker of a cat number {n}", visibility, "3.0", images, "off"]
               for n in range(1, rows + 1)]
    spreadsheet.sheet1.update(values, "A1", value_input_option="RAW")
    return spreadsheet.id, spreadsheet.sheet1.id


def count(emulator: EmulatorServer, since: int) -> dict:
    entries = emulator.log[since:]
    return {"reads": sum(e["kind"] == "read" for e in entries),
            "writes": sum(e["kind"] == "write" for e in entries)}


def metadata_characters(emulator: EmulatorServer, spreadsheet_id: str, sheet_id: int) -> int:
    """Keys plus values of the developer metadata on one sheet (its rows, columns, itself)."""
    from tests.sheets_emulator.metadata import sheet_of
    return sum(len(m.get("metadataKey") or "") + len(m.get("metadataValue") or "")
               for m in emulator.state.spreadsheets[spreadsheet_id].metadata.values()
               if sheet_of(m) == sheet_id)


def main() -> None:
    parser = argparse.ArgumentParser()
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
        spreadsheet_id, sheet_id = make_sheet(emulator, args.rows, args.images)
        services = Services(Settings.from_env())
        store_token(connect(server.url), OWNER, TOKEN, 3600)
        grid = services.sheets.grid(TOKEN, spreadsheet_id, sheet_id)

        mark = len(emulator.log)
        report = services.sheets.validate(grid).report
        validation = count(emulator, mark)
        bad_grid = services.sheets.grid(TOKEN, *make_sheet(emulator, args.rows, args.images,
                                                           visibility="secret"))
        mark = len(emulator.log)
        bad_report = services.sheets.validate(bad_grid).report
        bad_validation = count(emulator, mark)

        pool = subprocess.Popen([sys.executable, "-m", "server", "worker", "-n",
                                 str(args.workers)], env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
        while len(Worker.all(connection=services.batches.redis)) < args.workers:
            time.sleep(0.1)
        mark = len(emulator.log)
        started = time.perf_counter()
        batch_id = services.sheets.start(grid, services.sheets.validate(grid), OWNER, "ideogram",
                                         "http://127.0.0.1:8000/")
        running_metadata = metadata_characters(emulator, spreadsheet_id, sheet_id)
        while services.batches.status(batch_id).status != "completed":
            time.sleep(0.2)
        generated = time.perf_counter() - started
        while services.batches.redis.sismember("sb:sheet-batches", batch_id):
            time.sleep(0.2)  # until the last write-back is out
        batch = count(emulator, mark)
        written = time.perf_counter() - started
        while services.batches.redis.zscore("sb:anchors-to-clear", batch_id) is not None:
            time.sleep(0.2)  # the housekeeper deletes a completed batch's row anchors
        final_metadata = metadata_characters(emulator, spreadsheet_id, sheet_id)
        pool.terminate()
        pool.wait()
        server.stop()
        peak = emulator.peak_in_window(kind="write", seconds=60)
    print(f"sheet: {report.row_count} rows, {report.images} images; {args.workers} workers; "
          f"provider latency {args.latency}s")
    print(f"validate, clean sheet: {validation['reads']} read(s) + {validation['writes']} "
          "write(s) (nothing to mark)")
    print(f"validate, {len(bad_report.errors)} bad cells: {bad_validation['reads']} read(s) + "
          f"{bad_validation['writes']} write(s)")
    print(f"batch:    {batch['reads']} reads + {batch['writes']} writes in {written:.1f} s "
          f"(images done after {generated:.1f} s)")
    print(f"peak writes in any 60 s window: {peak} (quota 60, goal ≤ 30)")
    print(f"our metadata on the sheet: {running_metadata} characters while the batch runs "
          f"(goal < 20,000), {final_metadata} once it is over")


if __name__ == "__main__":
    main()
