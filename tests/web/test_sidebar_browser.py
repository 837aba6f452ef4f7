"""The add-in's sidebar (appsscript/Sidebar.html) in real headless Chromium.

Sidebar.html is served unchanged except for one injected <script> (appsscript/tests/gas_shim.js)
that stands in for `google.script.run`: it forwards `api(method, path, body)` over fetch to the
backend with the same two token headers as Code.js, answers `getContext()` with fixed ids and
records `selectCell()` calls. The page and the backend share one origin (a small WSGI dispatcher
in front of the backend app), so no CORS is involved.

The backend is the `backend_app` fixture (any WSGI app). Module-wide it is `StandIn`, a small
Flask app below that implements the /api/ contract (using the real
`server.sheet.validation.validate` and price table) and lets a test steer progress, budget and
failures exactly. `TestRealBackend`
overrides that one fixture with the real thing: `sheetbatch serve` (gunicorn, the app of
`server.web.create_app`) plus RQ workers, Redis, the Sheets emulator, the image-API fake and the
local Google token issuer, reached through a same-origin proxy.
"""
from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import threading
import time
import zipfile
from urllib.parse import urlencode

import httpx
import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from server.batches.record import Batch
from server.batches.status import BatchProgress
from server.gsheets.sheet_batches import is_fixable
from server.money.cost import sheet_cost
from server.money.prices import PriceTable
from server.sheet import columns as schema
from server.sheet.capabilities import IDEOGRAM
from server.sheet.statuses import COUNT_NAMES, FINISHED, BatchStatus, RowStatus
from server.sheet.validation import Report, validate
from testkit import ROOT
from testkit.clients import gspread_client
from testkit.processes import wait_for

SIDEBAR = ROOT / "appsscript" / "Sidebar.html"
SHIM = ROOT / "appsscript" / "tests" / "gas_shim.js"

SPREADSHEET_ID = "sheet-under-test"
POLL_MS = 16000  # Sidebar.html's POLL_MIN_MS: the sidebar looks again at most this often
SIDEBAR_SIZE = {"width": 300, "height": 600}  # Apps Script's sidebar: 300 px wide, about 600 tall
SETTLED = set(FINISHED)
DOCS = ROOT / "docs"
GOOGLE_CSS = "https://ssl.gstatic.com/docs/script/css/add-ons1.css"

HEADER = ["prompt", "visibility", "aspect_ratio", "model", "num_images", "style"]
BAD_SHEET = [
    HEADER,
    ["a red fox in snow", "private", "16:9", "3.0", 2, "realistic"],
    ["a lighthouse at dusk", "public", dt.time(16, 9), "2.0", 1, "auto"],  # time-converted ratio
    ["a teapot", "secret", "7:5", "2.0", 1, "auto"],                       # two errors on row 4
    ["a kite", "private", "1:1", "2.0", 1, "cartoon"],                     # bad style
]
GOOD_SHEET = [
    HEADER,
    ["a red fox in snow", "private", "16:9", "3.0", 2, "realistic"],
    ["a lighthouse at dusk", "public", "2:3", "2.0", 2, "auto"],
    ["please fail this one", "private", "1:1", "2.0", 1, "anime"],
    ["a paper boat", "private", "4:3", "2a", 2, "design"],
]


# ---- a stand-in backend implementing the /api/ contract ------------------------------------
class StandIn:
    """The contract of server/web as a small Flask app; `self.*` lets a test steer it."""

    def __init__(self, sheets: dict[int, list[list]]):
        self.sheets = {sheet_id: [list(row) for row in rows] for sheet_id, rows in sheets.items()}
        self.prices = PriceTable.load()
        self.budget_limit = 100.0
        self.step = 3                  # images finished per status request of a running batch
        self.fail_next: dict[str, tuple[int, str, str]] = {}  # path → (status, code, message)
        self.requests: list[dict] = []
        self.batches: dict[str, dict] = {}
        self.ids = itertools.count(1)
        self.lock = threading.Lock()
        self.app = self._build()

    # the sheet, as the backend would read it through the Sheets API
    def report(self, sheet_id: int) -> tuple[dict, Report]:
        report = validate(self.sheets[sheet_id])
        cost = sheet_cost(self.prices, IDEOGRAM, report)  # the stand-in's provider is paid
        answer = report.as_dict(cost.as_dict()) | {"sheet": {"id": sheet_id,
                                                             "title": f"Sheet{sheet_id}"}}
        for problem in answer["errors"] + answer["warnings"]:
            problem["fixable"] = is_fixable(problem)
        return json.loads(json.dumps(answer, default=str)), report

    def spent(self) -> float:
        return sum(b["cost"] for b in self.batches.values())

    def _build(self) -> Flask:
        app = Flask("sidebar-stand-in")
        me = self

        def error(status, code, message, **extra):
            return jsonify({"error": code, "message": message} | extra), status

        @app.before_request
        def check():
            me.requests.append({"method": request.method, "path": request.path,
                                "auth": request.headers.get("Authorization"),
                                "access": request.headers.get("X-Google-Access-Token"),
                                "body": request.get_json(silent=True)})
            if not request.path.startswith("/api/"):
                return None
            if not (request.headers.get("Authorization", "").startswith("Bearer ")
                    and request.headers.get("X-Google-Access-Token")):
                return error(401, "unauthenticated",
                             "Sign in to Google again, then reopen the sidebar.")
            if request.path in me.fail_next:
                status, code, message = me.fail_next.pop(request.path)
                return error(status, code, message)
            return None

        @app.get("/api/config")
        def config():
            return {"columns": [{"name": c.name, "description": c.description, "default": c.default,
                                 "required": c.required, "choices": list(c.choices)}
                                for c in schema.COLUMNS],
                    "styles_by_model": {k: list(v) for k, v in schema.STYLES_BY_MODEL.items()},
                    "result_columns": list(schema.RESULT_COLUMNS),
                    "max_rows": schema.MAX_SHEET_ROWS,
                    "currency": me.prices.currency, "providers": ["ideogram", "openai", "preview"],
                    "default_provider": "preview",
                    "statuses": {"row": list(RowStatus), "batch": list(BatchStatus),
                                 "finished": [s for s in BatchStatus if s in FINISHED],
                                 "counts": list(COUNT_NAMES)}}

        def sheet_id_of(body):
            if (body.get("spreadsheet_id") != SPREADSHEET_ID
                    or body.get("sheet_id") not in me.sheets):
                return None
            return body["sheet_id"]

        @app.post("/api/validate")
        def validate():
            sheet_id = sheet_id_of(request.get_json())
            if sheet_id is None:
                return error(404, "not_found", "That sheet was not found in this spreadsheet.")
            return me.report(sheet_id)[0]

        @app.post("/api/fix")
        def fix():
            sheet_id = sheet_id_of(request.get_json())
            rows = me.sheets[sheet_id]
            column = rows[0].index("aspect_ratio")
            fixed = 0
            for row in rows[1:]:
                if isinstance(row[column], dt.time):
                    row[column] = f"{row[column].hour}:{row[column].minute}"
                    fixed += 1
            return me.report(sheet_id)[0] | {"fixed": fixed}

        @app.post("/api/template")
        def template():
            new_id = max(me.sheets) + 1
            me.sheets[new_id] = [[c.name for c in schema.COLUMNS]]
            return {"sheet": {"id": new_id, "title": "Batch template"}}

        @app.post("/api/token")
        def token():
            return "", 204

        @app.post("/api/batches")
        def create():
            body = request.get_json()
            sheet_id = sheet_id_of(body)
            if sheet_id is None:
                return error(404, "not_found", "That sheet was not found in this spreadsheet.")
            answer, report = me.report(sheet_id)
            available = me.budget_limit - me.spent()
            estimate = {"rows": answer["rows"], "images": answer["images"],
                        "cost": answer["cost"]["total"], "currency": me.prices.currency}
            allowed = report.valid and estimate["cost"] <= available
            if not body.get("confirm"):
                return {"estimate": estimate, "allowed": allowed, "report": answer,
                        "budget": {"limit": me.budget_limit, "spent": me.spent(), "reserved": 0,
                                   "available": available, "currency": me.prices.currency}}
            if not report.valid:
                return error(422, "invalid",
                             "The sheet has errors; validate it and fix them first.",
                             report=answer)
            if not allowed:
                return error(402, "budget", f"This batch costs ${estimate['cost']:.2f} but only "
                             f"${available:.2f} of your budget is left.")
            batch_id = f"b{next(me.ids)}"
            me.batches[batch_id] = {
                "id": batch_id, "status": "queued", "provider": body.get("provider") or "preview",
                "sheet_id": sheet_id, "writeback": {"state": "ok", "message": ""},
                "title": f"Sheet{sheet_id} · {answer['rows']} rows", "created": time.time(),
                "cost": estimate["cost"],
                "rows": [{"row": n, "status": "queued", "error": None, "images": [],
                          "want": r.num_images, "done": 0, "used_seed": None, "used_prompt": None,
                          "doomed": "fail" in r.prompt} for n, r in sorted(report.rows.items())]}
            return {"batch": me.status(batch_id)}, 201

        @app.get("/api/batches")
        def listing():
            with me.lock:
                return {"batches": [{k: v for k, v in me.status(i).items() if k != "rows"}
                                    for i in sorted(me.batches, reverse=True)]}

        @app.get("/api/batches/<batch_id>")
        def one(batch_id):
            if batch_id not in me.batches:
                return error(404, "not_found", "There is no batch with that id.")
            with me.lock:
                me.advance(batch_id)
                return me.status(batch_id)

        @app.get("/api/batches/<batch_id>/progress")
        def progress(batch_id):
            if batch_id not in me.batches:
                return error(404, "not_found", "There is no batch with that id.")
            with me.lock:
                me.advance(batch_id)
                full = me.status(batch_id)
            failed = [r for r in full["rows"] if r["status"] == "failed"]
            return {k: v for k, v in full.items() if k != "rows"} | {
                "failed_rows": [r["row"] for r in failed[:50]],
                "first_error": failed[0]["error"] if failed else None}

        @app.post("/api/batches/<batch_id>/<action>")
        def act(batch_id, action):
            batch = me.batches.get(batch_id)
            if batch is None:
                return error(404, "not_found", "There is no batch with that id.")
            with me.lock:
                if action == "stop":
                    for row in batch["rows"]:
                        if row["status"] in ("queued", "generating"):
                            row["status"] = "stopped"
                    batch["status"] = "stopped"
                elif action == "resume":
                    for row in batch["rows"]:
                        if row["status"] == "stopped":
                            row["status"] = "queued"
                    batch["status"] = "running"
                elif action == "retry":
                    for row in batch["rows"]:
                        if row["status"] == "failed":
                            row.update(status="queued", error=None, doomed=False, done=0)
                    batch["status"] = "running"
                elif action == "zip-link":
                    return {"url": f"{request.host_url}download/{batch_id}.zip?sig=signed",
                            "expires_in": 900}
                else:
                    return error(404, "not_found", "Unknown action.")
                return me.status(batch_id)

        @app.get("/download/<batch_id>.zip")
        def download(batch_id):
            data = io.BytesIO()
            with zipfile.ZipFile(data, "w") as archive:
                for row in me.batches[batch_id]["rows"]:
                    for name in row["images"]:
                        archive.writestr(name, b"png")
            return Response(data.getvalue(), mimetype="application/zip")

        return app

    def advance(self, batch_id: str) -> None:
        """Each status request of a running batch finishes `step` more images."""
        batch = self.batches[batch_id]
        if batch["status"] in SETTLED or batch["status"] == "stopping":
            return
        batch["status"] = "running"
        budget = self.step
        for row in batch["rows"]:
            if budget <= 0:
                break
            if row["status"] not in ("queued", "generating"):
                continue
            if row["doomed"]:
                row.update(status="failed", error="The image service refused this prompt.")
                budget -= row["want"]
                continue
            take = min(budget, row["want"] - row["done"])
            row["done"] += take
            budget -= take
            row["images"] = [f"row{row['row']:03d}_{i + 1}.png" for i in range(row["done"])]
            row["status"] = "done" if row["done"] == row["want"] else "generating"
            if row["status"] == "done":
                row.update(used_seed=1234, used_prompt="A vivid " + str(row["row"]))
        if all(row["status"] in ("done", "failed", "stopped") for row in batch["rows"]):
            failed = any(row["status"] == "failed" for row in batch["rows"])
            batch["status"] = "completed_with_errors" if failed else "completed"

    def status(self, batch_id: str) -> dict:
        batch = self.batches[batch_id]
        counts = dict.fromkeys(("total", "done", "failed", "stopped", "pending"), 0)
        images = dict(counts)
        for row in batch["rows"]:
            key = row["status"] if row["status"] in ("done", "failed", "stopped") else "pending"
            counts["total"] += 1
            counts[key] += 1
            images["total"] += row["want"]
            images["done"] += row["done"]
            if key == "failed":
                images["failed"] += row["want"] - row["done"]
            elif key == "stopped":
                images["stopped"] += row["want"] - row["done"]
            elif key == "pending":
                images["pending"] += row["want"] - row["done"]
        # What the batch allows, its label, tone and end: the real rules' (batches/status.py).
        presented = BatchProgress(batch_id, BatchStatus(batch["status"]), counts, images, {},
                                  Batch(batch_id, "", batch["provider"], "")).presented()
        return {"id": batch_id, "status": batch["status"], "counts": counts, "images": images,
                **presented,
                "provider": batch["provider"], "title": batch["title"], "created": batch["created"],
                "finished": batch["status"] in SETTLED, "spreadsheet_id": SPREADSHEET_ID,
                "sheet_id": batch["sheet_id"], "writeback": batch["writeback"],
                "rows": [{k: row[k] for k in ("row", "status", "error", "images", "used_seed",
                                              "used_prompt")}
                         for row in batch["rows"]]}


# ---- serving the sidebar next to the backend -------------------------------------------------
def with_sidebar(backend_wsgi):
    """WSGI app: /sidebar.html (shim injected) and /gas_shim.js; everything else → the backend."""
    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/sidebar.html":
            html = SIDEBAR.read_text("utf-8").replace(
                "<head>", '<head>\n<script src="/gas_shim.js"></script>', 1)
            return Response(html, mimetype="text/html")(environ, start_response)
        if path == "/gas_shim.js":
            shim = Response(SHIM.read_text("utf-8"), mimetype="text/javascript")
            return shim(environ, start_response)
        return backend_wsgi(environ, start_response)
    return app


@pytest.fixture
def stand_in():
    return StandIn({0: BAD_SHEET, 7: GOOD_SHEET})


@pytest.fixture
def backend_app(request):
    """The stand-in; a class parametrised (`indirect`) with "sheetbatch serve" gets the real
    backend, through a proxy."""
    if getattr(request, "param", None) == "sheetbatch serve":
        return proxy_to(request.getfixturevalue("backend"))
    return request.getfixturevalue("stand_in").app


@pytest.fixture
def base_url(backend_app):
    httpd = make_server("127.0.0.1", 0, with_sidebar(backend_app), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)


@pytest.fixture
def open_sidebar(browser, base_url):
    contexts, errors = [], []

    def opener(sheet_id=0, **params):
        context = browser.new_context(viewport=SIDEBAR_SIZE)
        contexts.append(context)
        # No network here: Google's add-on CSS is answered as unreachable at once.
        context.route(GOOGLE_CSS, lambda route: route.abort())
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.clock.install()  # time flows as usual; poll_until moves it on a poll at a time
        query = urlencode({"spreadsheet_id": SPREADSHEET_ID, "sheet_id": sheet_id} | params)
        page.goto(f"{base_url}/sidebar.html?{query}")
        page.wait_for_function("document.getElementById('validate').disabled === false")
        return page

    yield opener
    for context in contexts:
        context.close()
    assert errors == [], f"script errors in the sidebar: {errors}"


def gas(page, key):
    return page.evaluate(f"window.__gas.{key}")


def batch_status_is(*statuses: str) -> str:
    return f"{list(statuses)}.includes(document.getElementById('batch-status').textContent)"


def poll_until(page, condition: str, timeout: float = 30) -> None:
    """Moves the page's clock on a poll at a time until `condition` (JavaScript) holds: the
    sidebar polls at most every 16 s, and a test need not wait that long for real."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(condition):
        assert time.monotonic() < deadline, f"still not {condition}"
        page.clock.fast_forward(POLL_MS)
        page.wait_for_timeout(100)  # the poll's round trip; the loop checks again either way


# ---- the tests -------------------------------------------------------------------------------
def test_config_drives_the_provider_list_and_column_help(open_sidebar):
    page = open_sidebar()
    assert page.locator("#provider option").all_inner_texts() == ["ideogram", "openai", "preview"]
    assert page.locator("#provider").input_value() == "preview"
    names = page.locator("#columns dt").all_text_contents()
    assert names[:len(schema.COLUMN_NAMES)] == list(schema.COLUMN_NAMES)
    assert "Sheet: Prompts" in page.locator("#context").inner_text()


def test_validate_lists_problems_and_a_click_selects_the_cell(open_sidebar, stand_in):
    page = open_sidebar(sheet_id=0)
    page.click("#validate")
    page.wait_for_selector("#errors li")
    assert page.locator("#verdict").inner_text() == "3 errors"
    assert page.locator("#stat-rows").inner_text() == "4"
    # The server's own sentence (as on the web and in the CLI): where the problems are.
    assert page.locator("#message").inner_text() == \
        "3 problems to fix in 2 of 4 rows. Click one to go to its cell."
    assert page.locator("#errors-heading").inner_text() == "Errors (3)"
    errors = page.locator("#errors .problem").all_inner_texts()
    assert [text.split()[0] for text in errors] == ["B4", "C4", "F5"]
    assert "Visibility must be one of" in errors[0]
    warnings = page.locator("#warnings .problem").all_inner_texts()
    assert warnings[0].startswith("C3") and "16:09:00" in warnings[0]
    assert not page.locator("#first-row").is_visible(), "the preview starts collapsed"
    page.click("#first-row-block summary")
    preview = dict(zip(page.locator("#first-row th").all_inner_texts(),
                       page.locator("#first-row td").all_inner_texts()))
    assert preview["prompt"] == "a red fox in snow" and preview["aspect_ratio"] == "16:9"
    assert preview["num_images"] == "2" and preview["magic_prompt"] == "on"  # defaults applied
    assert "seed_number" not in preview  # blank settings are left out
    assert page.locator("#fix").is_visible()
    border_colour = "e => getComputedStyle(e).borderLeftColor"
    error_colour = page.locator("#errors .problem").first.evaluate(border_colour)
    warning_colour = page.locator("#warnings .problem").first.evaluate(border_colour)
    assert error_colour == "rgb(217, 48, 37)" and warning_colour == "rgb(249, 171, 0)"
    page.screenshot(path="/tmp/sidebar-validation.png", full_page=True)

    page.click("#errors .problem[data-cell='C4']")
    page.wait_for_function("window.__gas.selected.length === 1")
    assert gas(page, "selected") == [{"a1": "C4", "sheetId": 0}]

    page.click("#fix")
    page.wait_for_selector("#warnings-block.hidden", state="attached")
    assert "Fixed 1 cell" in page.locator("#message").inner_text()
    assert not page.locator("#fix").is_visible()
    calls = [r for r in stand_in.requests if r["path"] == "/api/validate"]
    # The chosen provider goes along, so the warnings match what it can carry.
    assert calls[0]["body"] == {"spreadsheet_id": SPREADSHEET_ID, "sheet_id": 0,
                                "provider": "preview"}
    assert calls[0]["auth"] == "Bearer test-identity-token"
    assert calls[0]["access"] == "test-access-token"


def test_menu_validate_runs_on_open(open_sidebar):
    page = open_sidebar(sheet_id=0, action="validate")
    page.wait_for_selector("#errors li")
    assert page.locator("#errors .problem").count() == 3


def test_backend_messages_reach_the_person(open_sidebar, stand_in):
    page = open_sidebar(sheet_id=0)
    stand_in.fail_next["/api/validate"] = (401, "unauthenticated",
                                           "Your Google sign-in has expired.")
    page.click("#validate")
    page.wait_for_selector("#message.error")
    assert page.locator("#message").inner_text() == "Your Google sign-in has expired."
    assert page.locator("#message").get_attribute("role") == "alert"
    assert page.locator("#validate").is_enabled()


def test_generate_start_progress_retry_and_download(open_sidebar, stand_in):
    stand_in.budget_limit = 0.2
    page = open_sidebar(sheet_id=7)
    page.click("#generate")
    page.wait_for_selector("#estimate:not(.hidden)")
    assert page.locator("#est-images").inner_text() == "7"
    assert page.locator("#start").is_disabled()
    reason = page.locator("#est-reason").inner_text()
    assert reason.startswith("Not enough credits") and "$0.20" in reason
    page.locator("#estimate").screenshot(path="/tmp/sidebar-estimate.png")

    stand_in.budget_limit = 100
    page.click("#generate")
    page.wait_for_function("document.getElementById('start').disabled === false")
    assert "$0.20" not in page.locator("#est-available").inner_text()
    page.click("#start")
    page.wait_for_selector("#progress:not(.hidden)")
    created = [r for r in stand_in.requests
               if r["path"] == "/api/batches" and r["method"] == "POST"]
    sent = created[-1]["body"]
    assert sent.pop("request_id").startswith("start-")
    assert sent == {"spreadsheet_id": SPREADSHEET_ID, "sheet_id": 7, "provider": "preview",
                    "confirm": True}

    poll_until(page, batch_status_is("Completed with errors"))
    assert page.locator("#bar").get_attribute("aria-valuenow") == "100"
    assert page.locator("#progress-text").inner_text() == "7 of 7 images finished (1 failed)."
    assert page.locator("#row-counts [data-count='done'] b").inner_text() == "3"
    assert page.locator("#row-counts [data-count='failed'] b").inner_text() == "1"
    assert page.locator("#failed-rows .problem").inner_text().startswith("Row 4")
    assert page.locator("#retry").is_visible() and not page.locator("#stop").is_visible()
    assert page.locator("#batches li").count() == 1
    page.wait_for_timeout(600)  # let the bar's width transition finish
    page.screenshot(path="/tmp/sidebar-complete.png", full_page=True)

    page.click("#failed-rows .problem")
    page.wait_for_function("window.__gas.selected.length === 1")
    assert gas(page, "selected") == [{"a1": "4:4", "sheetId": 7}]

    with page.context.expect_page() as popup:
        page.click("#download")
    # The new tab is sent to the signed link (served as a download).
    wait_for(lambda: any(r["path"] == "/download/b1.zip" for r in stand_in.requests),
             timeout=10, what="the new tab to open the signed ZIP link")
    popup.value.close()

    page.click("#retry")
    poll_until(page, batch_status_is("Completed"))
    assert page.locator("#progress-text").inner_text() == "7 of 7 images finished."
    assert "Batch complete" in page.locator("#message").inner_text()
    assert gas(page, "maxInFlight") <= 3
    assert gas(page, "tokenRefreshes") == 0  # every poll carries the access token already
    polls = [r for r in stand_in.requests if r["path"] == "/api/batches/b1/progress"]
    assert all(r["auth"] and r["access"] for r in polls)


def set_hidden(page, hidden: bool) -> None:
    """The tab hidden or shown again, as the browser tells the page."""
    page.evaluate("""hidden => {
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});
        Object.defineProperty(document, 'visibilityState',
                              {configurable: true, get: () => hidden ? 'hidden' : 'visible'});
        document.dispatchEvent(new Event('visibilitychange'));
    }""", hidden)


def test_stop_resume_and_polling_pauses_while_hidden(open_sidebar, stand_in):
    stand_in.step = 1
    page = open_sidebar(sheet_id=7)
    page.click("#generate")
    page.wait_for_function("document.getElementById('start').disabled === false")
    page.click("#start")
    poll_until(page, "document.getElementById('bar').getAttribute('aria-valuenow') !== '0'")
    assert page.locator("#batch-status").inner_text() == "Running"
    page.click("#stop")
    page.wait_for_function(batch_status_is("Stopped"))
    assert page.locator("#resume").is_visible() and not page.locator("#stop").is_visible()
    stopped_at = polls_of(stand_in)
    for _ in range(4):
        page.clock.fast_forward(POLL_MS)
    page.wait_for_timeout(300)
    assert polls_of(stand_in) == stopped_at, "a settled batch is not polled"

    page.click("#resume")
    page.wait_for_function(batch_status_is("Running"))
    set_hidden(page, True)
    hidden_at = polls_of(stand_in)
    for _ in range(4):
        page.clock.fast_forward(POLL_MS)
    page.wait_for_timeout(300)
    assert polls_of(stand_in) == hidden_at, "no polling while the sidebar is hidden"
    stand_in.step = 3
    set_hidden(page, False)
    wait_for(lambda: polls_of(stand_in) == hidden_at + 1, timeout=10, what="a poll once shown")
    poll_until(page, "document.getElementById('batch-status').textContent.startsWith('Completed')")
    assert page.locator("#bar").get_attribute("aria-valuenow") == "100"


def test_reopened_sidebar_follows_a_running_batch(open_sidebar, stand_in):
    stand_in.step = 1
    first = open_sidebar(sheet_id=7)
    first.click("#generate")
    first.wait_for_function("document.getElementById('start').disabled === false")
    first.click("#start")
    first.wait_for_selector("#progress:not(.hidden)")
    first.close()
    second = open_sidebar(sheet_id=7)
    second.wait_for_selector("#progress:not(.hidden)")
    assert second.locator("#batches li button").count() == 1
    assert (second.locator("#stop").is_visible()
            or second.locator("#batch-status").inner_text().startswith("Completed"))


def test_template_button_adds_the_template_sheet(open_sidebar, stand_in):
    page = open_sidebar(sheet_id=0)
    page.click("#template")
    page.wait_for_selector("#message.info")
    assert 'Template added as sheet "Batch template"' in page.locator("#message").inner_text()
    assert "Sheet: Batch template" in page.locator("#context").inner_text()
    assert [r["body"] for r in stand_in.requests if r["path"] == "/api/template"] == [
        {"spreadsheet_id": SPREADSHEET_ID, "full": True}]



def polls_of(stand_in, batch_id="b1"):
    return len([r for r in stand_in.requests if r["path"] == f"/api/batches/{batch_id}/progress"])


def test_polling_backs_off_while_nothing_changes(open_sidebar, stand_in):
    """16 s while the batch changes, doubling up to 60 s while it does not (Playwright's clock:
    the page's timers run on a fake clock the test moves). The hour this makes, in every kind
    of progress: appsscript/tests/polling.test.js."""
    stand_in.step = 1
    page = open_sidebar(sheet_id=7)
    page.click("#generate")
    page.wait_for_function("document.getElementById('start').disabled === false")
    page.click("#start")
    page.wait_for_selector("#progress:not(.hidden)")
    first = polls_of(stand_in)
    page.clock.run_for(POLL_MS - 1000)
    assert polls_of(stand_in) == first, "no poll before 16 s"
    page.clock.run_for(1100)
    wait_for(lambda: polls_of(stand_in) == first + 1, timeout=10, what="the 16 s poll")
    stand_in.step = 0  # nothing changes any more
    page.clock.run_for(POLL_MS + 100)
    wait_for(lambda: polls_of(stand_in) == first + 2, timeout=10, what="the next 16 s poll")
    delays = []
    for _ in range(4):  # unchanged: 32 s, then 60 s at most
        before = polls_of(stand_in)
        waited = 0
        while polls_of(stand_in) == before:
            page.clock.run_for(1000)
            waited += 1
            page.wait_for_timeout(20)
        delays.append(waited)
    assert delays == [32, 60, 60, 60], delays


def test_a_waiting_batch_says_so_and_its_polls_carry_the_token(open_sidebar, stand_in):
    page = open_sidebar(sheet_id=7)
    page.click("#generate")
    page.wait_for_function("document.getElementById('start').disabled === false")
    stand_in.step = 0
    page.click("#start")
    page.wait_for_selector("#progress:not(.hidden)")
    stand_in.batches["b1"]["writeback"] = {"state": "waiting_for_person",
                                           "message": "Status is waiting for you."}
    stand_in.step = 1
    poll_until(page, "!document.getElementById('writeback').classList.contains('hidden')")
    assert page.locator("#writeback").inner_text() == "Status is waiting for you."
    seen_at = polls_of(stand_in)
    page.clock.fast_forward(POLL_MS)
    wait_for(lambda: polls_of(stand_in) == seen_at + 1, timeout=10, what="the next poll")
    # The backend keeps the X-Google-Access-Token of every call: no separate refresh is sent.
    polls = [r for r in stand_in.requests if r["path"] == "/api/batches/b1/progress"]
    assert polls[-1]["access"] == "test-access-token"
    assert gas(page, "tokenRefreshes") == 0
    assert any(call["name"] == "keepTokenFresh" for call in gas(page, "calls"))


# ---- the same sidebar against the real backend -----------------------------------------------
def state_shot(page, state: str) -> None:
    """What the person sees of one state of the sidebar, at its real size (300 × 600), for the
    READMEs (docs/sidebar-<state>.png)."""
    page.wait_for_timeout(600)  # let the bar's width transition finish
    page.screenshot(path=str(DOCS / f"sidebar-{state}.png"))


def in_view(page, selector: str) -> bool:
    """The element is wholly inside the sidebar's visible 600 px."""
    return page.locator(selector).evaluate(
        "e => { const r = e.getBoundingClientRect(); "
        "return r.top >= 0 && r.bottom <= innerHeight; }")


def proxy_to(backend_url: str):
    """WSGI app relaying every request to `backend_url`, so the page and the API share an origin."""
    client = httpx.Client(base_url=backend_url, timeout=60)
    hop = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length"}

    def app(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items()
                   if key.startswith("HTTP_") and key[5:].lower() not in ("host", "connection")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        query = environ.get("QUERY_STRING")
        answer = client.request(environ["REQUEST_METHOD"],
                                environ.get("PATH_INFO", "/") + (f"?{query}" if query else ""),
                                headers=headers, content=environ["wsgi.input"].read(length))
        start_response(f"{answer.status_code} {answer.reason_phrase}",
                       [(k, v) for k, v in answer.headers.items() if k.lower() not in hop])
        return [answer.content]
    return app


@pytest.mark.parametrize("backend_app", ["sheetbatch serve"], indirect=True)
class TestRealBackend:
    """The sidebar against `sheetbatch serve`: only `backend_app` changes."""

    def test_validate_fix_generate_and_download(self, open_sidebar, backend_env, workers,
                                                 image_api, emulator, google):
        email = "sidebar@example.com"
        access = google.access_token(email)
        client = gspread_client(emulator, access)
        spreadsheet = client.create("Sidebar stickers")
        sheet = spreadsheet.sheet1
        rows = [HEADER[:5]] + [[f"a sticker of an owl, take {n}", "private", "", "3.0", 1]
                               for n in range(1, 6)]
        rows[2][2] = "16:9"    # becomes the time 16:09:00 (USER_ENTERED)
        rows[4][1] = "secret"  # not a visibility
        sheet.update(rows, "A1", value_input_option="USER_ENTERED")
        workers.env = backend_env
        workers.start(2)

        image_api.configure(latency=3)  # slow enough to see it running, and to stop it
        page = open_sidebar(sheet_id=sheet.id, spreadsheet_id=spreadsheet.id,
                            sheet_title=sheet.title, id_token=google.identity_token(email),
                            access_token=access)
        assert page.locator("#columns dt").all_text_contents()[:len(schema.COLUMN_NAMES)] == \
            list(schema.COLUMN_NAMES)
        state_shot(page, "before-validation")
        page.click("#validate")
        page.wait_for_selector("#errors li, #message.error:not(:has-text('problem'))")
        assert page.locator("#errors li").count(), page.locator("#message").inner_text()
        assert page.locator("#report .card #sheet-name").inner_text() == sheet.title
        assert page.locator("#context strong").inner_text() == sheet.title
        assert [t.split()[0] for t in page.locator("#errors .problem").all_inner_texts()] == ["B5"]
        assert page.locator("#warnings .problem").first.inner_text().startswith("C3")
        assert page.locator("#message").inner_text() == \
            "1 problem to fix in 1 of 5 rows. Click one to go to its cell."
        state_shot(page, "problems")
        page.click("#errors .problem[data-cell='B5']")
        page.wait_for_function("window.__gas.selected.length === 1")
        assert gas(page, "selected") == [{"a1": "B5", "sheetId": sheet.id}]

        sheet.update([["public"]], "B5")  # the person corrects the cell
        page.click("#fix")
        page.wait_for_selector("#warnings-block.hidden", state="attached")
        assert page.locator("#verdict").inner_text() == "Ready"
        assert sheet.acell("C3").value == "16:9"

        page.click("#generate")
        page.wait_for_function("document.getElementById('start').disabled === false")
        assert page.locator("#est-images").inner_text() == "5"
        state_shot(page, "ready-with-cost")
        page.click("#start")
        poll_until(page, "document.getElementById('bar').getAttribute('aria-valuenow') !== '0'",
                   timeout=60)
        assert page.locator("#batch-status").inner_text() == "Running"
        assert in_view(page, "#progress .card"), "progress is above the fold while a batch runs"
        state_shot(page, "running")
        page.click("#stop")
        poll_until(page, batch_status_is("Stopped"), timeout=60)
        assert page.locator("#resume").is_visible()
        assert page.locator("#message").get_attribute("class") == "notice", "stopped is no error"
        assert in_view(page, "#progress .card")
        state_shot(page, "stopped")
        image_api.configure(latency=0.3)
        page.click("#resume")
        poll_until(page, batch_status_is("Completed"), timeout=90)
        assert page.locator("#progress-text").inner_text() == "5 of 5 images finished."
        assert page.locator("#row-counts").inner_text().split() == ["5", "rows:", "5", "done"]
        assert gas(page, "toasts")[-1]["message"].startswith("Batch complete")
        assert in_view(page, "#progress .card")
        state_shot(page, "done")
        wait_for(lambda: [row[5] for row in sheet.get_values("A2:F6")] == ["done"] * 5,
                 timeout=30, interval=2, what="every status in the sheet")
        with page.context.expect_page() as popup:
            page.click("#download")
        tab = popup.value
        download = tab.wait_for_event("download", timeout=30000)
        with zipfile.ZipFile(download.path()) as archive:
            assert len([n for n in archive.namelist() if n.endswith(".png")]) == 5
        assert gas(page, "maxInFlight") <= 3
