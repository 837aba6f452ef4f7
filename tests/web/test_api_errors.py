"""The error paths of every /api route in the OpenAPI document, through Flask's test client.

The routes come from OPENAPI["paths"], so a new route is covered as soon as it is documented.
Redis is the real embedded server, tokens are minted by the local fake Google issuer and verified
for real, and "Google Sheets" is a closed local port: nothing here is mocked.
"""
from __future__ import annotations

import pytest

from server.sheet.request import ImageRequest
from server.web.openapi import OPENAPI
from testkit.processes import free_port

ALICE, BOB = "alice@example.com", "bob@example.com"
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
UNKNOWN_BATCH = "0000000000000000"


# -- the route table, read from the OpenAPI document ---------------------------------------------

def operations() -> list[tuple[str, str, dict]]:
    """(METHOD, path, operation) for every documented operation."""
    return [(method.upper(), path, operation)
            for path, item in OPENAPI["paths"].items()
            for method, operation in item.items() if method in HTTP_METHODS]


def resolve(schema: dict) -> dict:
    ref = schema.get("$ref", "")
    return OPENAPI["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def flatten(schema: dict) -> list[dict]:
    """A schema and the parts of its allOf, each with $ref resolved."""
    schema = resolve(schema)
    return [schema] + [part for sub in schema.get("allOf", []) for part in flatten(sub)]


def request_schema(operation: dict) -> dict | None:
    body = operation.get("requestBody")
    return body["content"]["application/json"]["schema"] if body else None


def required_fields(operation: dict) -> list[str]:
    return [name for part in flatten(request_schema(operation))
            for name in part.get("required", [])]


def has_property(operation: dict, name: str) -> bool:
    schema = request_schema(operation)
    return bool(schema) and any(name in part.get("properties", {}) for part in flatten(schema))


def table(keep) -> list:
    """pytest params (method, path, operation) of the operations `keep` accepts."""
    return [pytest.param(method, path, operation, id=f"{method} {path}")
            for method, path, operation in operations() if keep(path, operation)]


def is_public(path: str, operation: dict) -> bool:
    return operation.get("security") == []


PUBLIC = table(is_public)
PRIVATE = table(lambda path, op: not is_public(path, op))
JSON_BODY = table(lambda path, op: request_schema(op) is not None)
BATCH = table(lambda path, op: "{batch_id}" in path)
WITH_SHEET_ID = table(lambda path, op: has_property(op, "sheet_id"))
READS_A_SHEET = table(lambda path, op: request_schema(op) is not None
                      and "spreadsheet_id" in required_fields(op))


def field_type(operation: dict, name: str) -> str:
    return next((part["properties"][name].get("type", "string")
                 for part in flatten(request_schema(operation))
                 if name in part.get("properties", {})), "string")


def valid_body(operation: dict) -> dict:
    """The smallest body that passes the request checks: each required field as some text, or
    1 where the field is a whole number."""
    return {name: 1 if field_type(operation, name) == "integer" else f"some-{name}"
            for name in required_fields(operation)}


def wrong_values(operation: dict, name: str) -> tuple:
    """Left out, empty, blank, and of the wrong type."""
    if field_type(operation, name) == "integer":
        return (..., "", "   ", "5", None)
    return (..., "", "   ", 5, None)


# -- fixtures and helpers -------------------------------------------------------------------------

@pytest.fixture
def app_settings() -> dict:
    # Google Sheets is always a closed port, so no test can reach the real one by accident.
    return {"google_api_url": f"http://127.0.0.1:{free_port()}"}  # bound, then released


@pytest.fixture
def alice(google) -> dict:
    """Alice signed in with an identity token (the add-in's usual way); no Sheets access token."""
    return {"Authorization": f"Bearer {google.identity_token(ALICE)}"}


def call(client, method: str, path: str, batch_id: str = UNKNOWN_BATCH, **kwargs):
    return client.open(path.replace("{batch_id}", batch_id), method=method, **kwargs)


def error_of(response, status: int) -> str:
    """The JSON error code, after checking the status and that the answer is a JSON error."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json, response.get_data(as_text=True)[:200]
    payload = response.get_json()
    assert payload["message"]
    return payload["error"]


# -- authentication -------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path, operation", PUBLIC)
def test_public_routes_answer_without_a_token(client, method, path, operation):
    response = call(client, method, path)
    assert str(response.status_code) in operation["responses"]  # /api/ready: 503 without workers
    assert response.is_json


@pytest.mark.parametrize("method, path, operation", PRIVATE)
def test_private_routes_need_a_token(client, method, path, operation):
    assert error_of(call(client, method, path), 401) == "unauthenticated"


BAD_AUTHORIZATION = {
    "empty-bearer": lambda google: "Bearer ",
    "no-scheme": lambda google: google.identity_token(ALICE),
    "basic": lambda google: "Basic YWxpY2U6cGFzc3dvcmQ=",
    "garbage-jwt": lambda google: "Bearer eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln",
    "bad-signature": lambda google: "Bearer " + google.identity_token(ALICE)[:-4] + "AAAA",
    "other-audience": lambda google: "Bearer " + google.identity_token(ALICE, audience="other"),
    "expired": lambda google: "Bearer " + google.identity_token(ALICE, expires_in=-120),
    "unknown-access-token": lambda google: "Bearer ya29.never-issued",
    "other-issuer": lambda google: "Bearer " + google.identity_token(ALICE,
                                                                     issuer="https://evil.test"),
    "unverified-email": lambda google: "Bearer " + google.identity_token(ALICE, verified=False),
}


@pytest.mark.parametrize("authorization", BAD_AUTHORIZATION.values(), ids=BAD_AUTHORIZATION)
@pytest.mark.parametrize("method, path, operation", PRIVATE)
def test_malformed_or_refused_bearer_is_401(client, google, method, path, operation,
                                            authorization):
    response = call(client, method, path, headers={"Authorization": authorization(google)})
    assert error_of(response, 401) == "unauthenticated"


# -- request bodies -------------------------------------------------------------------------------

NOT_A_JSON_OBJECT = {
    "text": {"data": "spreadsheet_id=abc", "content_type": "text/plain"},
    "form": {"data": {"spreadsheet_id": "abc"}},
    "broken-json": {"data": '{"spreadsheet_id": ', "content_type": "application/json"},
    "json-array": {"json": ["spreadsheet_id"]},
    "no-body": {},
}


@pytest.mark.parametrize("sent", NOT_A_JSON_OBJECT.values(), ids=NOT_A_JSON_OBJECT)
@pytest.mark.parametrize("method, path, operation", JSON_BODY)
def test_a_body_that_is_not_a_json_object_is_400(client, alice, method, path, operation, sent):
    assert error_of(call(client, method, path, headers=alice, **sent), 400) == "bad_request"


def missing_field_cases() -> list:
    """Each JSON route × each required field × (left out, empty, blank, not text)."""
    return [pytest.param(method, path, operation, field, value,
                         id=f"{method} {path} {field}={value!r}")
            for method, path, operation in (p.values for p in JSON_BODY)
            for field in required_fields(operation)
            for value in wrong_values(operation, field)]


@pytest.mark.parametrize("method, path, operation, field, value", missing_field_cases())
def test_a_missing_required_field_is_400(client, alice, method, path, operation, field, value):
    sent = valid_body(operation) | {field: value}
    if value is ...:
        del sent[field]
    response = call(client, method, path, headers=alice, json=sent)
    assert error_of(response, 400) == "bad_request"
    assert field in response.get_json()["message"]


@pytest.mark.parametrize("sheet_id", ["x", True, 1.5, "3", [1], -1, 2**31, 2**63], ids=repr)
@pytest.mark.parametrize("method, path, operation", WITH_SHEET_ID)
def test_sheet_id_must_be_a_whole_number(client, alice, method, path, operation, sheet_id):
    sent = valid_body(operation) | {"sheet_id": sheet_id}
    response = call(client, method, path, headers=alice, json=sent)
    assert error_of(response, 400) == "bad_request"
    assert "sheet_id" in response.get_json()["message"]


@pytest.mark.parametrize("spreadsheet_id", [
    "abc/../../../drive/v3/files", "abc?fields=*", "abc#x", "a b", "ünï", "x" * 201, "%2e%2e"],
    ids=repr)
@pytest.mark.parametrize("method, path, operation", READS_A_SHEET)
def test_spreadsheet_id_must_look_like_one(client, google, method, path, operation,
                                           spreadsheet_id):
    signed_in = {"Authorization": f"Bearer {google.access_token(ALICE)}"}
    sent = valid_body(operation) | {"spreadsheet_id": spreadsheet_id}
    response = call(client, method, path, headers=signed_in, json=sent)
    assert error_of(response, 400) == "bad_request"
    assert "spreadsheet_id" in response.get_json()["message"]


# -- batches --------------------------------------------------------------------------------------

@pytest.fixture
def bobs_batch(services) -> str:
    request = ImageRequest(prompt="a paper boat", visibility="private", num_images=1)
    return services.batches.create({2: request}, owner=BOB, provider="preview",
                                   account="preview-account", title="Bob's")


@pytest.mark.parametrize("method, path, operation", BATCH)
def test_an_unknown_batch_is_404(client, alice, method, path, operation):
    assert error_of(call(client, method, path, headers=alice), 404) == "not_found"


@pytest.mark.parametrize("method, path, operation", BATCH)
def test_another_persons_batch_is_404_and_untouched(client, services, alice, bobs_batch,
                                                    method, path, operation):
    before = services.batches.get(bobs_batch)
    response = call(client, method, path, batch_id=bobs_batch, headers=alice)
    assert error_of(response, 404) == "not_found"
    assert bobs_batch not in response.get_data(as_text=True)
    assert services.batches.get(bobs_batch) == before


@pytest.mark.parametrize("provider, code", [
    ("midjourney", "provider"),
    ("ideogram", "provider"),  # known, but no IDEOGRAM_API_KEY is configured
    ("openai", "provider"),  # known, but no OPENAI_API_KEY is configured
    (5, "bad_request"),
])
def test_start_batch_refuses_an_unusable_provider(client, alice, provider, code):
    sent = {"spreadsheet_id": "sheet-1", "provider": provider, "confirm": True}
    assert error_of(client.post("/api/batches", headers=alice, json=sent), 400) == code


# -- Google Sheets --------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path, operation", READS_A_SHEET)
def test_without_a_google_access_token_the_sheet_cannot_be_read(client, alice, method, path,
                                                                operation):
    """Signed in with an identity token only, and no service account configured."""
    response = call(client, method, path, headers=alice, json=valid_body(operation))
    assert error_of(response, 403) == "sheet_access"


@pytest.mark.parametrize("method, path, operation", READS_A_SHEET)
def test_unreachable_google_sheets_is_a_gateway_error(client, google, method, path, operation):
    # An access token as the bearer both signs Alice in and is used to read the sheet.
    signed_in = {"Authorization": f"Bearer {google.access_token(ALICE)}"}
    response = call(client, method, path, headers=signed_in, json=valid_body(operation))
    assert response.is_json, response.get_data(as_text=True)[:200]
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"] == "sheets_busy"
    assert int(response.headers["Retry-After"]) > 0
