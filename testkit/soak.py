"""The soak through the sheet path, all real parts: a person's sheet on the strict Sheets emulator
(quotas on), `sheetbatch serve` (gunicorn), RQ worker processes, Redis with its append-only file,
the image-API fake (latency, some 429s and 5xx) and a local Google token issuer.

While the batch runs: the person inserts, sorts and deletes rows; Redis is restarted; Sheets
answers 429 to everything for a while; the web process is restarted. `Soak.run()` returns what
held (see `Outcome`); the CI test (`tests/gsheets/test_soak.py`) runs it small, `bench/soak.py`
at full size.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import gspread
import httpx

from server.cli.embedded_redis import EmbeddedRedis
from testkit import ROOT
from testkit.clients import gspread_client
from testkit.fakes.google_auth import FakeGoogleAuth
from testkit.fakes.image_api import FakeImageAPI
from testkit.processes import free_port, wait_for
from testkit.sheets_emulator.server import EmulatorServer
from testkit.sheets_requests import is_write_back, peak_per_minute

PERSON = "soak@example.com"
HEADER = ["prompt", "visibility", "model", "num_images", "magic_prompt"]
ADDED = "a row added during the batch"


@dataclass
class Outcome:
    rows: int = 0
    rows_done_on_their_row: int = 0
    misplaced: list = field(default_factory=list)
    distinct_images: int = 0
    stored_images: int = 0
    paid: int = 0  # images the provider made and billed
    estimate: float = 0.0
    bill: float = 0.0
    write_back_peak_per_minute: int = 0
    person_peak_per_minute: int = 0
    events: list = field(default_factory=list)  # (seconds after the start, what was done)
    seconds: float = 0.0


class Soak:
    def __init__(self, folder: Path, rows: int, images: int, workers: int,
                 latency: tuple[float, float], sheets_outage: float, faults: float = 0.03):
        self.folder, self.rows, self.images, self.workers = folder, rows, images, workers
        self.latency, self.sheets_outage, self.faults = latency, sheets_outage, faults
        self.processes: dict[str, subprocess.Popen] = {}
        # Seconds the batch may take: four times what the images alone need, plus the outage.
        self.patience = 4 * rows * images * sum(latency) / 2 / workers + sheets_outage + 120
        self.outcome = Outcome()

    # -- the parts ---------------------------------------------------------------------------
    def run(self) -> Outcome:
        with EmulatorServer() as emulator, FakeImageAPI() as image_api, \
                FakeGoogleAuth() as google:
            self.emulator, self.image_api = emulator, image_api
            image_api.configure(latency=self.latency[0], latency_max=self.latency[1],
                                rate_limit_fraction=self.faults,
                                server_error_fraction=self.faults, rng_seed=12)
            self.redis = EmbeddedRedis(self.folder / "redis").start()
            self.port = free_port()
            self.env = dict(
                os.environ, REDIS_URL=self.redis.url, SHEETBATCH_DATA=str(self.folder / "data"),
                IDEOGRAM_API_KEY=image_api.api_key, IDEOGRAM_BASE_URL=image_api.url,
                IDEOGRAM_IMAGE_HOSTS=image_api.image_host, SHEETBATCH_PROVIDER="ideogram",
                GOOGLE_CLIENT_ID=google.audience, GOOGLE_CERTS_URL=google.certs_url,
                GOOGLE_TOKENINFO_URL=google.tokeninfo_url, SHEETBATCH_GOOGLE_API_URL=emulator.url,
                SHEETBATCH_SECRET_KEY="soak-secret", SHEETBATCH_MONTHLY_BUDGET="100000",
                PYTHONPATH=str(ROOT))
            self.identity = google.identity_token(PERSON, expires_in=6 * 3600)
            self.access = google.access_token(PERSON)
            try:
                self._start_web()
                self._start("workers", ["worker", "-n", str(self.workers)])
                self._batch()
            finally:
                for process in self.processes.values():
                    process.terminate()
                for process in self.processes.values():
                    process.wait(timeout=60)
                self.redis.stop()
        return self.outcome

    def _start(self, name: str, arguments: list[str]) -> None:
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "server", *arguments], env=self.env, cwd=ROOT,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _start_web(self) -> None:
        self.env = dict(self.env, SHEETBATCH_PUBLIC_URL=self._backend)
        self._start("web", ["serve", "--port", str(self.port)])
        wait_for(self._web_answers, timeout=60, what="sheetbatch serve to answer")

    def _web_answers(self) -> bool:
        try:
            return httpx.get(f"{self._backend}/api/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    @property
    def _backend(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(self, method: str, path: str, json: dict | None = None) -> httpx.Response:
        return httpx.request(method, f"{self._backend}{path}", json=json, timeout=60, headers={
            "Authorization": f"Bearer {self.identity}", "X-Google-Access-Token": self.access})

    # -- the batch -----------------------------------------------------------------------------
    def _batch(self) -> None:
        client = gspread_client(self.emulator, self.access)
        spreadsheet = client.create("Soak")
        self.sheet = sheet = spreadsheet.sheet1
        sheet.resize(rows=self.rows + 20)
        sheet.update([HEADER] + [[self.prompt(n), "private", "3.0", self.images, "off"]
                                 for n in range(1, self.rows + 1)], "A1", value_input_option="RAW")
        sheet_ref = {"spreadsheet_id": spreadsheet.id, "sheet_id": sheet.id}
        assert self.call("POST", "/api/validate", sheet_ref).json()["valid"]
        offer = self.call("POST", "/api/batches", sheet_ref | {"provider": "ideogram"}).json()
        started = self.call("POST", "/api/batches", sheet_ref | {"provider": "ideogram",
                                                                "confirm": True})
        assert started.status_code == 201, started.text
        self.batch_id, self.outcome.estimate = started.json()["batch"]["id"], \
            offer["estimate"]["cost"]
        self.started = time.monotonic()
        for share, event in ((0.10, self._edit_rows), (0.25, self._restart_redis),
                             (0.40, self._sheets_outage), (0.55, self._restart_web),
                             (0.70, self._edit_rows)):
            wait_for(lambda: self._done_share() >= share, timeout=3600, interval=1.0,
                     what=f"{share:.0%} of the rows done")
            event()
        try:
            wait_for(lambda: self._status() == "completed", timeout=self.patience, interval=1.0,
                     what="the batch to complete")
        except AssertionError as error:
            raise AssertionError(f"{error}: {self._progress().get('counts')}, "
                                 f"events {self.outcome.events}") from None
        self._note("batch completed")
        wait_for(self._all_written, timeout=600, interval=5.0, what="every status written")
        self._note("every status on the sheet")
        self.outcome.seconds = time.monotonic() - self.started
        self._check(sheet_ref)

    @staticmethod
    def prompt(n: int) -> str:
        return f"soak sticker number {n:04d}"

    def _progress(self) -> dict:
        try:
            answer = self.call("GET", f"/api/batches/{self.batch_id}")
        except httpx.HTTPError:  # the web process is being restarted
            return {}
        return answer.json() if answer.status_code == 200 else {}

    def _status(self) -> str | None:
        return self._progress().get("status")

    def _done_share(self) -> float:
        counts = self._progress().get("counts") or {}
        return counts.get("done", 0) / max(counts.get("total", 0), 1)

    def _note(self, what: str) -> None:
        self.outcome.events.append((round(time.monotonic() - self.started), what))

    # -- what happens to it --------------------------------------------------------------------
    def _edit_rows(self) -> None:
        """Three rows inserted at the top, every row sorted (descending, then ascending next
        time), one inserted row deleted again."""
        sheet = self.sheet
        order = "des" if not any("sorted" in e for _, e in self.outcome.events) else "asc"
        self._as_person(lambda: sheet.insert_rows([[ADDED, "public"]] * 3, row=2))
        self._as_person(lambda: sheet.sort((1, order), range=f"A2:Z{sheet.row_count}"))
        self._as_person(lambda: sheet.delete_rows(sheet.col_values(1).index(ADDED) + 1))
        self._note(f"3 rows inserted, rows sorted ({order}), 1 inserted row deleted")

    def _as_person(self, edit) -> None:
        """A person's edit in the Sheets UI, which our 429 outage does not stop: sent again
        until it goes through (a refused request changed nothing)."""
        def done() -> bool:
            try:
                edit()
            except gspread.exceptions.APIError as error:
                if error.response.status_code != 429:
                    raise
                return False
            return True
        wait_for(done, timeout=600, interval=1.0, what="the person's edit")

    def _restart_redis(self) -> None:
        self.redis.stop()
        self.redis.start()
        self._note("Redis restarted (append-only file)")

    def _sheets_outage(self) -> None:
        self.emulator.inject(status=429, seconds=self.sheets_outage)
        self._note(f"Sheets answers 429 to everything for {self.sheets_outage:.0f} s")

    def _restart_web(self) -> None:
        web = self.processes.pop("web")
        web.terminate()
        web.wait(timeout=60)
        self._start_web()
        self._note("web process (gunicorn) restarted")

    # -- what held -----------------------------------------------------------------------------
    def _sheet_rows(self) -> list[dict] | None:
        try:
            values = self.sheet.get_all_values()
        except gspread.exceptions.APIError:  # e.g. still inside the 429 outage
            return None
        return [dict(zip(values[0], row)) for row in values[1:]]

    def _all_written(self) -> list[dict] | None:
        rows = self._sheet_rows()
        ours = [r for r in rows or [] if r["prompt"].startswith("soak sticker")]
        return rows if len(ours) == self.rows and all(r["status"] == "done" for r in ours) \
            else None

    def _check(self, sheet_ref: dict) -> None:
        outcome, rows = self.outcome, self._sheet_rows() or []
        ours = [r for r in rows if r["prompt"].startswith("soak sticker")]
        image_columns = [f"image_{i}" for i in range(1, self.images + 1)]
        links = [r[c] for r in ours for c in image_columns if r.get(c)]
        outcome.rows = len(ours)
        # Its own row: the prompt used (magic prompt off) is the row's own, and all its images.
        outcome.misplaced = [r["prompt"] for r in ours if r["used_prompt"] != r["prompt"]
                             or not all(r.get(c) for c in image_columns)]
        outcome.misplaced += [r["prompt"] for r in rows
                              if r["prompt"] == ADDED and any(r.get(c) for c in image_columns)]
        outcome.rows_done_on_their_row = len(ours) - len(outcome.misplaced)
        outcome.distinct_images = len({link.rsplit("/", 1)[-1] for link in links})
        outcome.stored_images = sum(1 for path in (self.folder / "data").rglob("*.png")
                                    if path.parent.name == self.batch_id)
        outcome.paid = self.image_api.stats()["generated"]

        def settled():
            answer = self.call("POST", "/api/batches", sheet_ref | {"provider": "ideogram"})
            budget = answer.json().get("budget") if answer.status_code == 200 else None
            return budget if budget and budget["reserved"] == 0 else None
        outcome.bill = wait_for(settled, timeout=120, interval=2.0,
                                what="the budget to settle")["spent"]
        log = self.emulator.log
        outcome.write_back_peak_per_minute = peak_per_minute(
            [e for e in log if is_write_back(e) and e["status"] != 429])
        outcome.person_peak_per_minute = max(
            peak_per_minute([e for e in log if e["kind"] == kind and e["status"] != 429])
            for kind in ("read", "write"))

