"""The chat fake refuses what OpenAI's published description and Structured Outputs refuse:
if it were looser, the prompt writer could pass here and fail against the service."""
from __future__ import annotations

import copy
import json

import httpx
import pytest

from server.prompts.schema import response_format, written_columns

MESSAGES = [{"role": "system", "content": "You write prompts."},
            {"role": "user", "content": "Christmas stickers for kids. Cheerful."}]


def post(fake, body, key=None):
    return httpx.post(fake.url + "/chat/completions", json=body, timeout=10,
                      headers={"Authorization": f"Bearer {key or fake.api_key}"})


def body(**changes):
    return {"model": "gpt-5-mini", "messages": copy.deepcopy(MESSAGES),
            "response_format": response_format(3, written_columns({"visibility"}))} | changes


def strict(schema):
    return body(response_format={"type": "json_schema", "json_schema": {
        "name": "rows", "strict": True, "schema": schema}})


def test_our_request_is_answered_with_rows_following_the_schema_and_usage(chat_api):
    answer = post(chat_api, body())
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["object"] == "chat.completion" and data["choices"][0]["finish_reason"] == "stop"
    rows = json.loads(data["choices"][0]["message"]["content"])["rows"]
    assert len(rows) == 3 and all("Christmas stickers for kids" in row["prompt"] for row in rows)
    usage = data["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


@pytest.mark.parametrize("change, says", [
    (lambda b: b.update(temprature=0.2), "Unrecognized request argument supplied: temprature"),
    (lambda b: b["messages"].append({"role": "robot", "content": "hi"}), "messages.2"),
    (lambda b: b["messages"][1].update(text="hi"), "messages.1"),
    (lambda b: b["messages"][1].update(content=[{"type": "text", "text": "x", "bold": True}]),
     "messages.1"),
    (lambda b: b["messages"][0].update(content=[{"type": "image_url", "image_url": {"url": "x"}}]),
     "messages.0"),  # a system message takes text parts only
    (lambda b: b.update(messages=[]), "messages"),
    (lambda b: b.pop("model"), "model"),
])
def test_requests_outside_the_description_are_refused(chat_api, change, says):
    request = body()
    change(request)
    answer = post(chat_api, request)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert says in error["message"] or says == error["param"] or says in (error["param"] or "")


ROW = {"type": "object", "additionalProperties": False, "required": ["prompt"],
       "properties": {"prompt": {"type": "string"}}}


@pytest.mark.parametrize("schema, says", [
    ({"anyOf": [ROW]}, "root schema must be an object"),
    ({**ROW, "required": []}, "Missing 'prompt'"),
    ({k: v for k, v in ROW.items() if k != "additionalProperties"}, "'additionalProperties'"),
    ({**ROW, "properties": {"prompt": {"type": "string", "minLength": 3}}}, "'minLength'"),
    ({**ROW, "properties": {"prompt": {"type": "string", "format": "uri"}}}, "format 'uri'"),
    ({"type": "object", "additionalProperties": False, "required": ["rows"],
      "properties": {"rows": {"type": "array", "items": {**ROW, "required": []}}}},
     "context=('properties', 'rows', 'items')"),
])
def test_strict_schemas_are_checked_as_the_service_checks_them(chat_api, schema, says):
    answer = post(chat_api, strict(schema))
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "response_format"
    assert "Invalid schema for response_format 'rows'" in answer.json()["error"]["message"]
    assert says in answer.json()["error"]["message"]


def test_a_wrong_key_is_401(chat_api):
    assert post(chat_api, body(), key="wrong").status_code == 401


def test_refusals_rate_limits_and_server_errors_are_switchable(chat_api):
    chat_api.configure(fail_statuses=[429, 503], retry_after="7")
    limited = post(chat_api, body())
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert post(chat_api, body()).status_code == 503
    chat_api.configure(refuse=True)
    refused = post(chat_api, body()).json()["choices"][0]["message"]
    assert refused["content"] is None and refused["refusal"]
    chat_api.configure(refuse=False, insufficient_quota=True)
    assert post(chat_api, body()).json()["error"]["code"] == "insufficient_quota"
