"""/api: what the add-in calls. Every endpoint but health and the OpenAPI document knows its
caller; batches belong to their creator and do not exist for anyone else."""
from __future__ import annotations

import logging
import re
import time
from functools import wraps

import gspread
from flask import Blueprint, g, jsonify, request
from werkzeug.exceptions import HTTPException

from server import logs
from server.auth import NotAuthenticated, is_jwt
from server.batches import keys
from server.batches.launcher import InvalidSheet, OverBudget
from server.batches.queue import waiting_notice
from server.batches.status import Action, BatchProgress
from server.batches.store import BatchNotFound
from server.generation.providers import make_provider
from server.gsheets.anchors import SheetFull
from server.gsheets.client import SheetAccessError, SheetsUnavailable, is_transient, retry_after
from server.gsheets.tokens import store_token
from server.links import GALLERY_SECONDS, UPLOAD_SECONDS, ZIP_SECONDS
from server.providers import available_providers, canonical_name
from server.sheet import columns
from server.sheet.statuses import COUNT_NAMES, FINISHED, BatchStatus, RowStatus
from server.sheet.template import FULL_COLUMNS, SIMPLE_COLUMNS
from server.web import limits
from server.web.app import public_root, services
from server.web.openapi import OPENAPI
from server.web.readiness import readiness

log = logging.getLogger(__name__)
blueprint = Blueprint("api", __name__, url_prefix="/api")
PUBLIC = {"api.health", "api.ready", "api.openapi"}
BUSY_RETRY_SECONDS = 10  # when Google is busy or unreachable and says nothing about when


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status, self.code, self.extra = status, code, extra


@blueprint.before_request
def identify_caller():
    if request.endpoint in PUBLIC:
        return None
    try:
        g.caller = services().auth.identify(request.headers.get("Authorization"))
        token = sheets_token()
        if token:
            keep_token(token)
    except NotAuthenticated as error:
        raise ApiError(401, "unauthenticated", str(error)) from None
    logs.bind(user=g.caller.email)
    g.ticket = limits.enter(services().batches.redis, g.caller.email)
    return None


@blueprint.teardown_request
def caller_done(error=None):
    if "ticket" in g:
        limits.leave(services().batches.redis, g.caller.email, g.ticket)


def keep_token(token: str) -> None:
    """Keep the person's access token for write-back for as long as Google says it lives (the
    write-back of a waiting batch resumes with it at once)."""
    if is_jwt(token):
        raise ApiError(400, "bad_request", "access_token must be a Google OAuth access token "
                                           "(ScriptApp.getOAuthToken()), not an identity token.")
    owner = g.caller if token == bearer() else services().auth.identify(f"Bearer {token}")
    if owner.email != g.caller.email:
        raise ApiError(401, "unauthenticated", "The Google access token sent is another "
                                               "account's; reload the sheet and try again.")
    store_token(services().batches.redis, g.caller.email, token,
                owner.token_expires_at - time.time())


def bearer() -> str:
    return request.headers.get("Authorization", "").partition(" ")[2].strip()


def sheets_token() -> str | None:
    """The token for reading the sheet: the add-in's OAuth token, or the bearer itself when it
    is an access token rather than an identity token."""
    explicit = request.headers.get("X-Google-Access-Token", "").strip()
    if explicit:
        return explicit
    token = bearer()
    return token if token and not is_jwt(token) else None


@blueprint.errorhandler(Exception)
def json_error(error: Exception):
    if isinstance(error, ApiError):
        status, code, message, extra = error.status, error.code, str(error), error.extra
    elif isinstance(error, HTTPException):
        status, code, message, extra = error.code, error.name.lower().replace(" ", "_"), \
            error.description, {}
    elif isinstance(error, limits.TooBusy):
        payload = {"error": "busy", "message": str(error)}
        return jsonify(payload), 429, {"Retry-After": str(error.retry_after)}
    elif isinstance(error, BatchNotFound):
        status, code, message, extra = 404, "not_found", "No such batch.", {}
    elif isinstance(error, (SheetAccessError, SheetsUnavailable)):
        status, code, message, extra = 403, "sheet_access", str(error), {}
    elif is_transient(error):
        return sheets_busy(error)
    elif isinstance(error, gspread.exceptions.APIError):
        status, code, extra = 502, "sheets_api", {}
        message = f"Google Sheets answered an error: {error.response.status_code}."
    else:
        log.exception("unexpected error")
        status, code, message, extra = 500, "internal", "Something went wrong on our side.", {}
    return jsonify({"error": code, "message": message, **extra}), status


def sheets_busy(error: Exception):
    """Google answered 429/5xx or could not be reached: 503 with Retry-After, at once (no retry
    sleeps inside a request); every call the add-in repeats is safe to repeat."""
    wait = int(min(retry_after(error) or BUSY_RETRY_SECONDS, 300))
    message = ("Google Sheets is busy (too many requests a minute); try again in "
               f"{wait} s." if getattr(getattr(error, "response", None), "status_code", 0) == 429
               else f"Google Sheets could not be reached; try again in {wait} s.")
    response = jsonify({"error": "sheets_busy", "message": message, "retry_after": wait})
    response.headers["Retry-After"] = str(wait)
    return response, 503


def body(*required: str) -> dict:
    """The JSON object sent, with each required field a non-empty string."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "Send a JSON object.")
    missing = [name for name in required
               if not isinstance(data.get(name), str) or not data[name].strip()]
    if missing:
        raise ApiError(400, "bad_request", f"Missing or not text: {', '.join(missing)}.")
    return data


SPREADSHEET_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")  # as in docs.google.com/spreadsheets/d/<id>
MAX_SHEET_ID = 2**31 - 1  # a tab's gid is a 32-bit signed integer


def sheet_grid(data: dict):
    spreadsheet_id = data["spreadsheet_id"].strip()
    if not SPREADSHEET_ID.fullmatch(spreadsheet_id):
        raise ApiError(400, "bad_request", "spreadsheet_id must be the id in the sheet's address "
                                           "(letters, digits, - and _ only).")
    sheet_id = data.get("sheet_id")
    if sheet_id is not None and (isinstance(sheet_id, bool) or not isinstance(sheet_id, int)
                                 or not 0 <= sheet_id <= MAX_SHEET_ID):
        raise ApiError(400, "bad_request", f"sheet_id must be a whole number from 0 to "
                                           f"{MAX_SHEET_ID} (the tab's gid).")
    return services().sheets.grid(sheets_token(), spreadsheet_id, sheet_id)


def owned(view):
    """Resolve <batch_id> to a batch of the caller's, or 404 as if it did not exist."""
    @wraps(view)
    def wrapper(batch_id: str):
        logs.bind(batch_id=batch_id)
        services().batches.owned_by(batch_id, g.caller.email)
        return view(batch_id)
    return wrapper


# -- public -------------------------------------------------------------------------------------

@blueprint.get("/health")
def health():
    """Liveness: the process answers (a load balancer restarts it when this fails)."""
    return jsonify({"ok": True})


@blueprint.get("/ready")
def ready():
    """Readiness: Redis answers, storage takes a write, workers were seen recently."""
    report = readiness(services())
    return jsonify(report), 200 if report["ok"] else 503


@blueprint.get("/openapi.json")
def openapi():
    return jsonify(OPENAPI)


# -- sheet --------------------------------------------------------------------------------------

@blueprint.get("/config")
def config():
    prices = services().prices
    return jsonify({
        "columns": [{"name": c.name, "description": c.description, "default": c.default,
                     "required": c.required, "choices": list(c.choices)} for c in columns.COLUMNS],
        "styles_by_model": {m: list(s) for m, s in columns.STYLES_BY_MODEL.items()},
        "ratios_only_3_0": list(columns.RATIOS_ONLY_3_0),
        "models_with_palette": list(columns.MODELS_WITH_PALETTE),
        "result_columns": list(columns.RESULT_COLUMNS), "max_rows": columns.MAX_SHEET_ROWS,
        "template_columns": {"simple": list(SIMPLE_COLUMNS), "full": list(FULL_COLUMNS)},
        "prices": prices.per_image, "currency": prices.currency,
        "providers": list(available_providers(services().settings)),
        "default_provider": services().settings.provider,
        "statuses": {"row": list(RowStatus), "batch": list(BatchStatus),
                     "finished": [s for s in BatchStatus if s in FINISHED],
                     "counts": list(COUNT_NAMES)},
        "prompts": prompts_config()})


def chosen_provider(data: dict) -> str:
    """The provider the caller picked (default: the configured one), if it can run here."""
    provider = data.get("provider") or services().settings.provider
    if not isinstance(provider, str):
        raise ApiError(400, "bad_request", "provider must be text.")
    try:
        make_provider(provider, services().settings)
    except ValueError as error:
        raise ApiError(400, "provider", str(error)) from None
    return canonical_name(provider)


@blueprint.post("/validate")
def validate_sheet():
    data = body("spreadsheet_id")
    provider = chosen_provider(data)
    return jsonify(services().sheets.validate(sheet_grid(data), provider).as_dict())


@blueprint.post("/fix")
def fix_sheet():
    data = body("spreadsheet_id")
    provider = chosen_provider(data)
    fixed, checked = services().sheets.fix(sheet_grid(data), provider)
    return jsonify(checked.as_dict() | {"fixed": fixed})


@blueprint.post("/template")
def insert_template():
    data = body("spreadsheet_id")
    grid = sheet_grid(data | {"sheet_id": None})
    sheet_id, title = grid.insert_template(full=bool(data.get("full", True)))
    return jsonify({"sheet": {"id": sheet_id, "title": title}})


@blueprint.post("/token")
def refresh_token():
    """A fresh access token from the add-in (sidebar or its hourly trigger)."""
    try:
        keep_token(body("access_token")["access_token"].strip())
    except NotAuthenticated as error:
        raise ApiError(401, "unauthenticated", str(error)) from None
    return "", 204


# -- batches ------------------------------------------------------------------------------------

@blueprint.post("/batches")
def start_batch():
    data = body("spreadsheet_id")
    provider = chosen_provider(data)
    if not data.get("confirm"):
        grid = sheet_grid(data)
        checked = services().sheets.validate(grid, provider)
        return jsonify(services().launcher.estimate(checked.report, provider, g.caller.email)
                       | {"report": checked.as_dict()})
    with StartOnce(data.get("request_id")) as started:
        if started.batch_id is None:
            grid = sheet_grid(data)
            checked = services().sheets.validate(grid, provider)
            try:
                started.batch_id = services().sheets.start(grid, checked, g.caller.email,
                                                           provider, public_root())
            except InvalidSheet as error:
                raise ApiError(422, "invalid", str(error), report=checked.as_dict()) from None
            except OverBudget as error:
                raise ApiError(402, "budget", str(error), estimate=error.estimate,
                               budget=error.budget) from None
            except SheetFull as error:
                raise ApiError(409, "sheet_full", str(error)) from None
    return jsonify({"batch": services().batches.status(started.batch_id).as_dict()}), 201


class StartOnce:
    """POST /api/batches with a client request id: a retry (UrlFetchApp gave up waiting, the
    person clicked twice) gets the batch the first request started, never a second one."""
    HOURS = 24

    def __init__(self, request_id):
        if request_id is not None and (not isinstance(request_id, str)
                                       or not 8 <= len(request_id.strip()) <= 100):
            raise ApiError(400, "bad_request", "request_id must be text of 8 to 100 characters.")
        self.key = keys.start_request(g.caller.email, request_id.strip()) if request_id else None
        self.batch_id: str | None = None

    def __enter__(self):
        redis = services().batches.redis
        if self.key and not redis.set(self.key, "starting", nx=True, ex=self.HOURS * 3600):
            known = (redis.get(self.key) or b"starting").decode()
            if known == "starting":
                raise ApiError(409, "starting", "This batch is still starting; ask again in a "
                                                "few seconds.", retry_after=5)
            self.batch_id = known
        return self

    def __exit__(self, kind, error, trace):
        if self.key:
            redis = services().batches.redis
            if self.batch_id:
                redis.set(self.key, self.batch_id, ex=self.HOURS * 3600)
            else:  # nothing started: the same request id may try again
                redis.delete(self.key)
        return False


@blueprint.get("/batches")
def list_batches():
    """The caller's recent batches; with ?spreadsheet_id= only that spreadsheet's."""
    batches = services().batches
    only = request.args.get("spreadsheet_id")
    statuses = (batches.status(batch_id) for batch_id in batches.list_for(g.caller.email))
    return jsonify({"batches": [status.as_dict(with_rows=False) for status in statuses
                                if not only or _on_spreadsheet(status, only)]})


def _on_spreadsheet(status: BatchProgress, spreadsheet_id: str) -> bool:
    return status.batch.is_sheet and status.batch.sheet.spreadsheet_id == spreadsheet_id


@blueprint.get("/batches/<batch_id>")
@owned
def batch_status(batch_id: str):
    return jsonify(services().batches.status(batch_id).as_dict())


@blueprint.get("/batches/<batch_id>/progress")
@owned
def batch_progress(batch_id: str):
    """The sidebar's poll: small (under 2 KB) whatever the batch size; `notice` says why
    nothing moves when no worker is running."""
    status = services().batches.status(batch_id)
    return jsonify(status.compact() | {"notice": waiting_notice(status, services().redis)})


@blueprint.post("/batches/<batch_id>/stop")
@owned
def stop_batch(batch_id: str):
    allowed(batch_id, Action.STOP)
    services().batches.stop(batch_id)
    return jsonify(services().batches.status(batch_id).as_dict())


@blueprint.post("/batches/<batch_id>/resume")
@owned
def resume_batch(batch_id: str):
    return requeue(batch_id, retry_failed=False)


@blueprint.post("/batches/<batch_id>/retry")
@owned
def retry_batch(batch_id: str):
    return requeue(batch_id, retry_failed=True)


def allowed(batch_id: str, action: Action) -> None:
    """409 with the reason when the batch's state does not allow `action` (status.actions)."""
    refusal = services().batches.status(batch_id).refusal(action)
    if refusal:
        raise ApiError(409, "not_allowed", refusal)


def requeue(batch_id: str, retry_failed: bool):
    allowed(batch_id, Action.RETRY if retry_failed else Action.RESUME)
    try:
        services().sheets.resume(batch_id, g.caller.email, retry_failed=retry_failed)
    except OverBudget as error:
        raise ApiError(402, "budget", str(error), budget=error.budget) from None
    return jsonify(services().batches.status(batch_id).as_dict())


def signed_link(url: str, seconds: int):
    return jsonify({"url": url, "expires_in": seconds})


@blueprint.post("/batches/<batch_id>/gallery-link")
@owned
def gallery_link(batch_id: str):
    url = services().signer.gallery_url(public_root(), batch_id, g.caller.email)
    return signed_link(url, GALLERY_SECONDS)


@blueprint.post("/upload-link")
def upload_link():
    """A signed link to the upload page, for this person, valid for an hour."""
    return signed_link(services().signer.upload_url(public_root(), g.caller.email), UPLOAD_SECONDS)


@blueprint.post("/batches/<batch_id>/zip-link")
@owned
def zip_link(batch_id: str):
    url = services().signer.download_url(public_root(), batch_id, g.caller.email)
    return signed_link(url, ZIP_SECONDS)


# -- prompts written by a chat model --------------------------------------------------------------

SIDEBAR_ROWS_PER_CALL = 10  # a call answers well within UrlFetchApp's minute; the sidebar loops
MAX_EXAMPLES = 10


def prompts_config() -> dict:
    """What the sidebar's "Write prompts" step needs before it asks."""
    from server.prompts.chat import no_key_message
    from server.prompts.schema import FIXABLE_COLUMNS
    from server.prompts.writer import DEFAULT_VISIBILITY, per_request, price_text
    settings, prices = services().settings, services().prices
    call = per_request(SIDEBAR_ROWS_PER_CALL, settings.chat_model, prices)
    return {"model": settings.chat_model, "ready": bool(settings.openai_api_key),
            "missing": no_key_message(settings.chat_model),
            "per_call": f"about {call.input_tokens + call.output_tokens:,} tokens, about "
                        f"{price_text(call.price, call.currency)}",
            "rows_per_call": SIDEBAR_ROWS_PER_CALL, "settings": list(FIXABLE_COLUMNS),
            "defaults": {"visibility": DEFAULT_VISIBILITY}}


@blueprint.post("/prompts")
def write_prompts_into_sheet():
    """Rows written by the chat model, appended below the sheet's last filled row (never over a
    filled cell), then the whole sheet validated and marked in place."""
    import httpx

    from server.gsheets.prompt_rows import write_into_sheet
    from server.prompts.chat import ChatError
    from server.prompts.writer import OrderError, PromptOrder
    data = body("spreadsheet_id", "goal")
    provider = chosen_provider(data)
    rows, examples, settings = data.get("rows"), data.get("examples") or [], \
        data.get("settings") or {}
    if isinstance(rows, bool) or not isinstance(rows, int) \
            or not 1 <= rows <= SIDEBAR_ROWS_PER_CALL:
        raise ApiError(400, "bad_request", f"rows must be a whole number from 1 to "
                                           f"{SIDEBAR_ROWS_PER_CALL} (ask again for more).")
    if not isinstance(examples, list) or not all(isinstance(e, str) for e in examples) \
            or len(examples) > MAX_EXAMPLES:
        raise ApiError(400, "bad_request", f"examples must be a list of at most {MAX_EXAMPLES} "
                                           "texts.")
    if not isinstance(settings, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in settings.items()):
        raise ApiError(400, "bad_request", "settings must map column names to texts.")
    sheet_grid(data)  # a bad sheet reference or a missing Sheets token: before any model call
    order = PromptOrder(data["goal"], rows, tuple(examples),
                        {k: v for k, v in settings.items() if v.strip()})
    with httpx.Client() as http:
        try:
            appended = write_into_sheet(services().sheets, lambda: sheet_grid(data), order,
                                        lambda: services().chat_client(http), provider)
        except OrderError as error:
            raise ApiError(400, "prompts", str(error)) from None
        except ChatError as error:
            raise ApiError(502, "chat_model", str(error)) from None
    written = appended.written
    return jsonify(appended.checked.as_dict() | {"written": {
        "rows": len(written.records), "first_row": appended.first_row,
        "last_row": appended.last_row, "requests": written.requests,
        "input_tokens": written.input_tokens, "output_tokens": written.output_tokens,
        "price": written.price, "summary": written.usage_text(services().prices.currency)}})
