"""/api: what the add-in calls. Every endpoint but health and the OpenAPI document knows its
caller; batches belong to their creator and do not exist for anyone else."""
from __future__ import annotations

import logging
import time
from functools import wraps

import gspread
from flask import Blueprint, g, jsonify, request
from werkzeug.exceptions import HTTPException

from server import logs
from server.batches.launcher import InvalidSheet, OverBudget
from server.batches.store import BatchNotFound
from server.generation.providers import PROVIDER_NAMES, make_provider
from server.gsheets.client import SheetAccessError, SheetsUnavailable
from server.gsheets.tokens import store_token
from server.sheet import columns
from server.sheet.template import FULL_COLUMNS, SIMPLE_COLUMNS
from server.web.app import public_root, services
from server.web.auth import NotAuthenticated, is_jwt
from server.web.links import GALLERY_SECONDS, UPLOAD_SECONDS, ZIP_SECONDS
from server.web.openapi import OPENAPI
from server.web.readiness import readiness

log = logging.getLogger(__name__)
blueprint = Blueprint("api", __name__, url_prefix="/api")
PUBLIC = {"api.health", "api.ready", "api.openapi"}
DEFAULT_TOKEN_SECONDS = 3000


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
    except NotAuthenticated as error:
        raise ApiError(401, "unauthenticated", str(error)) from None
    logs.bind(user=g.caller.email)
    token = sheets_token()
    if token:
        seconds = min(DEFAULT_TOKEN_SECONDS, g.caller.expires_at - time.time()) \
            if token == bearer() else DEFAULT_TOKEN_SECONDS
        store_token(services().batches.redis, g.caller.email, token, seconds)
    return None


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
    elif isinstance(error, BatchNotFound):
        status, code, message, extra = 404, "not_found", "No such batch.", {}
    elif isinstance(error, (SheetAccessError, SheetsUnavailable)):
        status, code, message, extra = 403, "sheet_access", str(error), {}
    elif isinstance(error, gspread.exceptions.APIError):
        status, code, extra = 502, "sheets_api", {}
        message = f"Google Sheets answered an error: {error.response.status_code}."
    else:
        log.exception("unexpected error")
        status, code, message, extra = 500, "internal", "Something went wrong on our side.", {}
    return jsonify({"error": code, "message": message, **extra}), status


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


def sheet_grid(data: dict):
    sheet_id = data.get("sheet_id")
    if sheet_id is not None and (isinstance(sheet_id, bool) or not isinstance(sheet_id, int)):
        raise ApiError(400, "bad_request", "sheet_id must be a whole number (the tab's gid).")
    return services().sheets.grid(sheets_token(), data["spreadsheet_id"].strip(), sheet_id)


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
        "providers": list(PROVIDER_NAMES), "default_provider": services().settings.provider})


@blueprint.post("/validate")
def validate_sheet():
    grid = sheet_grid(body("spreadsheet_id"))
    return jsonify(services().sheets.validate(grid).as_dict())


@blueprint.post("/fix")
def fix_sheet():
    grid = sheet_grid(body("spreadsheet_id"))
    fixed, checked = services().sheets.fix(grid)
    return jsonify(checked.as_dict() | {"fixed": fixed})


@blueprint.post("/template")
def insert_template():
    data = body("spreadsheet_id")
    grid = sheet_grid(data | {"sheet_id": None})
    sheet_id, title = grid.insert_template(full=bool(data.get("full", True)))
    return jsonify({"sheet": {"id": sheet_id, "title": title}})


@blueprint.post("/token")
def refresh_token():
    data = body("access_token")
    store_token(services().batches.redis, g.caller.email, data["access_token"],
                DEFAULT_TOKEN_SECONDS)
    return "", 204


# -- batches ------------------------------------------------------------------------------------

@blueprint.post("/batches")
def start_batch():
    data = body("spreadsheet_id")
    provider = data.get("provider") or services().settings.provider
    if not isinstance(provider, str):
        raise ApiError(400, "bad_request", "provider must be text.")
    try:
        make_provider(provider, services().settings)
    except ValueError as error:
        raise ApiError(400, "provider", str(error)) from None
    grid = sheet_grid(data)
    sheets = services().sheets
    checked = sheets.validate(grid)
    if not data.get("confirm"):
        return jsonify(services().launcher.estimate(checked.report, provider, g.caller.email)
                       | {"report": checked.as_dict()})
    try:
        batch_id = sheets.start(grid, checked, g.caller.email, provider, public_root())
    except InvalidSheet as error:
        raise ApiError(422, "invalid", str(error), report=checked.as_dict()) from None
    except OverBudget as error:
        raise ApiError(402, "budget", str(error), estimate=error.estimate,
                       budget=error.budget) from None
    return jsonify({"batch": services().batches.status(batch_id).as_dict()}), 201


@blueprint.get("/batches")
def list_batches():
    """The caller's recent batches; with ?spreadsheet_id= only that spreadsheet's."""
    batches = services().batches
    only = request.args.get("spreadsheet_id")
    statuses = (batches.status(batch_id) for batch_id in batches.list_for(g.caller.email))
    return jsonify({"batches": [status.as_dict(with_rows=False) for status in statuses
                                if not only or status.fields.get("spreadsheet_id") == only]})


@blueprint.get("/batches/<batch_id>")
@owned
def batch_status(batch_id: str):
    return jsonify(services().batches.status(batch_id).as_dict())


@blueprint.post("/batches/<batch_id>/stop")
@owned
def stop_batch(batch_id: str):
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


def requeue(batch_id: str, retry_failed: bool):
    try:
        services().sheets.resume(batch_id, g.caller.email, retry_failed=retry_failed)
    except OverBudget as error:
        raise ApiError(402, "budget", str(error), budget=error.budget) from None
    return jsonify(services().batches.status(batch_id).as_dict())


def signed_link(path: str, seconds: int):
    return jsonify({"url": f"{public_root()}{path}", "expires_in": seconds})


@blueprint.post("/batches/<batch_id>/gallery-link")
@owned
def gallery_link(batch_id: str):
    token = services().signer.gallery_token(batch_id, g.caller.email)
    return signed_link(f"gallery/{token}", GALLERY_SECONDS)


@blueprint.post("/upload-link")
def upload_link():
    """A signed link to the upload page, for this person, valid for an hour."""
    return signed_link(f"upload/{services().signer.upload_token(g.caller.email)}", UPLOAD_SECONDS)


@blueprint.post("/batches/<batch_id>/zip-link")
@owned
def zip_link(batch_id: str):
    return signed_link(f"download/{services().signer.zip_token(batch_id, g.caller.email)}",
                       ZIP_SECONDS)
