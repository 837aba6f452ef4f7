"""The OpenAPI document served at /api/openapi.json."""
from __future__ import annotations

from server.batches.record import WriteBackState
from server.batches.status import TONES, Action
from server.sheet.statuses import COUNT_NAMES, BatchStatus, RowStatus
from server.sheet.summary import COUNT_NAMES as SUMMARY_COUNTS

SHEET = {"type": "object", "required": ["spreadsheet_id"], "properties": {
    "spreadsheet_id": {"type": "string"}, "sheet_id": {"type": ["integer", "null"]},
    "provider": {"type": "string", "description": "Validate for this provider (its limits add "
                                                  "warnings); default: the configured one"}}}
PROBLEM = {"type": "object", "properties": {
    "cell": {"type": ["string", "null"]}, "row": {"type": ["integer", "null"]},
    "column": {"type": ["string", "null"]}, "value": {}, "message": {"type": "string"},
    "fixable": {"type": "boolean",
                "description": "the Fix button repairs it "
                               "(renames the header, rewrites the ratio)"}}}
REPORT = {"type": "object", "properties": {
    "valid": {"type": "boolean"}, "rows": {"type": "integer"}, "images": {"type": "integer"},
    "cost": {"type": "object", "properties": {"currency": {"type": "string"},
                                              "total": {"type": "number"}}},
    "first_row": {"type": ["object", "null"]},
    "errors": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}},
    "warnings": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}},
    "counts": {"type": "object",
               "description": "not capped like the lists: errors = those in rows_to_fix rows + "
                              "in headers_to_fix header cells + sheet_errors",
               "properties": {name: {"type": "integer"} for name in SUMMARY_COUNTS}},
    "summary": {"type": "object", "description": "the sentences every surface shows",
                "properties": {
                    "size": {"type": "string", "example": "4 rows (1 ready), 11 images in all"},
                    "verdict": {"type": "string",
                                "example": "7 problems to fix in 3 of 4 rows and 1 header"}}},
    "sheet": {"type": "object"}}}
COUNTS = {"type": "object", "properties": {name: {"type": "integer"} for name in
                                           COUNT_NAMES}}
STATUS = {"type": "object", "properties": {
    "id": {"type": "string"},
    "status": {"enum": list(BatchStatus)},
    "counts": COUNTS, "images": COUNTS, "provider": {"type": "string"},
    "rows": {"type": "array", "items": {"type": "object", "properties": {
        "row": {"type": "integer"}, "status": {"enum": list(RowStatus)},
        "error": {"type": ["string", "null"]}, "images": {"type": "array"}}}}}}
WRITEBACK = {"type": "object", "properties": {
    "state": {"enum": list(WriteBackState)}, "message": {"type": "string"}}}
SHEET_OF_BATCH = {"spreadsheet_id": {"type": "string"}, "sheet_id": {"type": ["integer", "null"]},
                  "writeback": WRITEBACK}
PAUSED = {"type": ["string", "null"],
          "description": "Why the batch paused on its own (storage full, the provider account "
                         "cannot pay), one line; null when it did not or was resumed"}
# What a surface shows without knowing any status spelling (status.BatchProgress.presented).
PRESENTED = {
    "label": {"type": "string", "description": "the status as a person reads it"},
    "tone": {"enum": sorted(set(TONES.values())), "description": "the status badge's colour"},
    "actions": {"type": "array", "items": {"enum": list(Action)},
                "description": "what the caller may do with the batch now"},
    "outcome": {"type": ["object", "null"],
                "description": "how its end is announced (null while it runs)",
                "properties": {"text": {"type": "string"}, "short": {"type": "string"},
                               "level": {"enum": ["info", "notice", "error"]}}}}
STATUS["properties"].update(SHEET_OF_BATCH, finished={"type": "boolean"}, paused=PAUSED,
                            **PRESENTED)
PROGRESS = {"type": "object", "properties": {
    "id": {"type": "string"}, "status": {"enum": list(BatchStatus)},
    "finished": {"type": "boolean"}, "counts": COUNTS, "images": COUNTS,
    "title": {"type": "string"},
    "failed_rows": {"type": "array", "maxItems": 50, "items": {"type": "integer"}},
    "first_error": {"type": ["string", "null"]}, "paused": PAUSED,
    "notice": {"type": ["string", "null"],
               "description": "why nothing moves, e.g. the server has no worker running"},
    **PRESENTED, **SHEET_OF_BATCH}}
ERROR = {"type": "object", "properties": {"error": {"type": "string"},
                                         "message": {"type": "string"}}}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _operation(summary: str, response: dict | None = None, request: dict | None = None,
               public: bool = False, extra: dict | None = None) -> dict:
    responses = {"200": {"description": "OK", **_json(response or {"type": "object"})}}
    if not public:
        responses["401"] = {"description": "No valid token", **_json(_ref("Error"))}
    responses.update(extra or {})
    operation = {"summary": summary, "responses": responses}
    if request:
        operation["requestBody"] = {"required": True, **_json(request)}
    if public:
        operation["security"] = []
    return operation


BATCH_ID = [{"name": "batch_id", "in": "path", "required": True, "schema": {"type": "string"}}]
NOT_FOUND = {"404": {"description": "No such batch (or not yours)", **_json(_ref("Error"))}}
NOT_ALLOWED = {"409": {"description": "The batch's state does not allow this now (its `actions` "
                       "say what it allows)", **_json(_ref("Error"))}}

OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "sheetbatch", "version": "0.1.0",
             "description": "Bulk image generation from a spreadsheet: the add-in's backend."},
    "components": {
        "securitySchemes": {"google": {"type": "http", "scheme": "bearer",
                                       "description": "A Google identity or access token"}},
        "schemas": {"Problem": PROBLEM, "Report": REPORT, "Status": STATUS, "Error": ERROR,
                    "Sheet": SHEET, "Progress": PROGRESS}},
    "security": [{"google": []}],
    "paths": {
        "/api/health": {"get": _operation("Liveness: the process answers", public=True)},
        "/api/ready": {"get": _operation(
            "Readiness: Redis, storage writable, workers seen recently, version and commit",
            public=True, extra={"503": {"description": "Not ready: the failed check has ok false",
                                        **_json({"type": "object"})}})},
        "/api/openapi.json": {"get": _operation("This document", public=True)},
        "/api/config": {"get": _operation("Columns, enumerations, defaults and prices")},
        "/api/validate": {"post": _operation("Validate the sheet and mark bad cells in place",
                                             _ref("Report"), _ref("Sheet"))},
        "/api/fix": {"post": _operation("Rename headers such as Aspect Ratio to our exact names "
                                        "and rewrite time-converted aspect ratios as text",
                                        _ref("Report"), _ref("Sheet"))},
        "/api/prompts": {"post": _operation(
            "A chat model writes rows from a goal; they are appended below the last filled row "
            "(never over a filled cell), then the sheet is validated in place",
            {"allOf": [_ref("Report"), {"type": "object", "properties": {"written": {
                "type": "object", "properties": {
                    "rows": {"type": "integer"}, "first_row": {"type": "integer"},
                    "last_row": {"type": "integer"}, "requests": {"type": "integer"},
                    "input_tokens": {"type": "integer"}, "output_tokens": {"type": "integer"},
                    "price": {"type": ["number", "null"]}, "summary": {"type": "string"}}}}}]},
            {"allOf": [_ref("Sheet"), {"type": "object", "required": ["goal", "rows"],
                                       "properties": {
                "goal": {"type": "string"}, "rows": {"type": "integer", "minimum": 1},
                "examples": {"type": "array", "items": {"type": "string"}},
                "settings": {"type": "object", "additionalProperties": {"type": "string"},
                             "description": "column → value for every row"}}}]},
            extra={"400": {"description": "The order cannot work", **_json(_ref("Error"))},
                   "502": {"description": "The chat model failed or is not configured",
                           **_json(_ref("Error"))}})},
        "/api/template": {"post": _operation("Insert a template tab", request={
            "type": "object", "required": ["spreadsheet_id"],
            "properties": {"spreadsheet_id": {"type": "string"}, "full": {"type": "boolean"}}})},
        "/api/token": {"post": _operation("Refresh the access token used for write-back", request={
            "type": "object", "required": ["access_token"],
            "properties": {"access_token": {"type": "string"}}})},
        "/api/batches": {
            "get": {**_operation("The caller's batches"), "parameters": [
                {"name": "spreadsheet_id", "in": "query", "required": False,
                 "schema": {"type": "string"}}]},
            "post": _operation("Estimate (confirm false) or start (confirm true) a batch",
                               request={"allOf": [_ref("Sheet"), {"type": "object", "properties": {
                                   "provider": {"type": "string"},
                                   "confirm": {"type": "boolean"},
                                   "request_id": {"type": "string", "minLength": 8,
                                                  "maxLength": 100, "description":
                                                  "the client's id for this start: a retry "
                                                  "with the same id returns the same batch"}}}]},
                               extra={"201": {"description": "Started", **_json(_ref("Status"))},
                                      "402": {"description": "Over budget", **_json(_ref("Error"))},
                                      "409": {"description": "The same request_id is still "
                                              "starting", **_json(_ref("Error"))},
                                      "422": {"description": "Sheet has errors",
                                              **_json(_ref("Error"))}})},
        "/api/batches/{batch_id}": {"parameters": BATCH_ID, "get": _operation(
            "Counts and per-row results", _ref("Status"), extra=NOT_FOUND)},
        "/api/batches/{batch_id}/progress": {"parameters": BATCH_ID, "get": _operation(
            "What the sidebar polls: counts, at most 50 failed rows, the sheet (under 2 KB)",
            _ref("Progress"), extra=NOT_FOUND)},
        **{f"/api/batches/{{batch_id}}/{action}": {"parameters": BATCH_ID, "post": _operation(
            summary, _ref("Status"), extra=NOT_FOUND | NOT_ALLOWED)} for action, summary in (
            ("stop", "Stop: queued images stop, running ones finish and are kept"),
            ("resume", "Resume what is not done"), ("retry", "Retry failed rows"))},
        "/api/upload-link": {"post": _operation(
            "A signed link (1 h) to the page that takes a .csv/.xls/.xlsx upload")},
        "/api/batches/{batch_id}/gallery-link": {"parameters": BATCH_ID, "post": _operation(
            "A signed link to the batch's gallery page (thumbnails, progress)", extra=NOT_FOUND)},
        "/api/batches/{batch_id}/zip-link": {"parameters": BATCH_ID, "post": _operation(
            "A signed, expiring link to the batch ZIP", extra=NOT_FOUND)},
    },
}
