"""A local fake of OpenAI's chat completions API (`POST /v1/chat/completions`), for the prompt
writer (`server/prompts/`).

Built from the published description, not from our client: every request is validated against
`CreateChatCompletionRequest` and every answer against `CreateChatCompletionResponse`, both from
`openai-chat-schemas.json` beside this file (the schemas those two reach in
github.com/openai/openai-openapi's `openapi.json`, copied verbatim; its `x-source` names the
commit). Where the description is loose the fake is stricter, as the image fake is: an unknown
field is a 400 at every level (the real API ignores some). Roles and content shapes follow the
description's message variants. A `response_format` of type `json_schema` with `strict: true` is
checked the way the service checks it (the Structured Outputs guide): the root is an object, every
object lists every property in `required` and sets `additionalProperties: false`, only the
supported keywords and string formats appear, nesting and size stay within the limits; anything
else is the service's 400 "Invalid schema for response_format …".

The answer is JSON that follows the given schema, written deterministically from the request: every
string is made from the conversation's last user message (so it mentions the goal), enumerations
and `anyOf` branches are taken in turn, arrays have `minItems` items (3 when unbounded). `usage`
counts about four characters a token, as OpenAI's tokenizer does for English.

Switchable: `refuse` (a refusal instead of content), `fail_statuses` (the next requests answer
429/500/503… in order, 429 with Retry-After), `insufficient_quota`, `blank_prompts` (that many
properties named "prompt" per answer are written empty, as a model may), `latency`.

    with FakeChatAPI() as fake: fake.url (as OPENAI_BASE_URL, with /v1), fake.api_key,
    fake.configure(refuse=True), fake.requests(), fake.stats()
"""
from __future__ import annotations

import copy
import itertools
import json
import math
import re
import threading
import time
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

PATH = "/v1/chat/completions"
_DOCUMENT = json.loads(Path(__file__).with_name("openai-chat-schemas.json").read_text("utf-8"))
_SCHEMAS = _DOCUMENT["components"]["schemas"]
# Schemas that are branches of an allOf: closing them would refuse their siblings' properties.
_COMPOSED = {"ModelResponseProperties", "CreateModelResponseProperties"}

# Structured Outputs (strict): what the service supports.
STRICT_KEYWORDS = {"type", "properties", "required", "additionalProperties", "items", "enum",
                   "const", "anyOf", "$ref", "$defs", "description", "title", "pattern", "format",
                   "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
                   "minItems", "maxItems"}
STRICT_FORMATS = {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6",
                  "uuid"}
MAX_NESTING = 10
MAX_PROPERTIES = 5000
MAX_ENUM_VALUES = 1000
SCHEMA_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

DEFAULT_CONFIG: dict[str, Any] = {
    "refuse": False,
    "fail_statuses": [],  # answered, in order, to the next requests (429, 500, 503 …)
    "retry_after": "1",
    "insufficient_quota": False,
    "blank_prompts": 0,  # per answer, this many "prompt" properties are written as ""
    "latency": 0.0,
}
WORDS = ("whimsical", "bold", "gentle", "playful", "vintage", "bright", "cosy", "elegant",
         "quirky", "dreamy", "cheerful", "minimal")


def _closed(schema: Any, in_composition: bool = False) -> Any:
    """A copy where every object schema that lists properties refuses others (not allOf branches,
    whose properties are checked together)."""
    if isinstance(schema, list):
        return [_closed(item, in_composition) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: _closed(value, key == "allOf") for key, value in schema.items()
              if key != "allOf"}
    if "allOf" in schema:
        closed["allOf"] = [_closed(item, True) for item in schema["allOf"]]
    if "properties" in schema and "additionalProperties" not in schema and not in_composition:
        closed["additionalProperties"] = False
    return closed


def _validator(name: str, strict_fields: bool) -> Draft202012Validator:
    schemas = {key: (_closed(value) if strict_fields and key not in _COMPOSED else value)
               for key, value in _SCHEMAS.items()}
    root = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": schemas}}
    return Draft202012Validator(root)


def _fields(schema: dict) -> set[str]:
    """The top-level fields an allOf of $refs and objects describes."""
    if "$ref" in schema:
        return _fields(_SCHEMAS[schema["$ref"].rsplit("/", 1)[1]])
    names = set(schema.get("properties", {}))
    for branch in schema.get("allOf", []):
        names |= _fields(branch)
    return names


REQUEST = _validator("CreateChatCompletionRequest", strict_fields=True)
REQUEST_FIELDS = _fields(_SCHEMAS["CreateChatCompletionRequest"])
RESPONSE = _validator("CreateChatCompletionResponse", strict_fields=False)


class _Refused(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.headers = status, headers or {}
        self.body = {"error": {"message": message, "type": kind, "param": param, "code": code}}


# ---------------------------------------------------------------- strict schema, as checked

def strict_schema_problem(schema: Any) -> str | None:
    """The service's complaint about a strict schema, or None."""
    if not isinstance(schema, dict) or schema.get("type") != "object" or "anyOf" in schema:
        return "In context=(), the root schema must be an object, not anyOf."
    totals = Counter()
    return _strict_problem(schema, (), 1, totals, schema.get("$defs", {}))


def _strict_problem(schema: Any, context: tuple, depth: int, totals: Counter,
                    defs: dict) -> str | None:
    where = f"In context={context!r}"
    if not isinstance(schema, dict):
        return f"{where}, a schema must be an object."
    for keyword in schema:
        if keyword not in STRICT_KEYWORDS:
            return f"{where}, '{keyword}' is not permitted."
    if depth > MAX_NESTING:
        return f"{where}, the schema nests deeper than {MAX_NESTING} levels."
    if "format" in schema and schema["format"] not in STRICT_FORMATS:
        return f"{where}, format '{schema['format']}' is not permitted."
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        if schema["$ref"] != "#" and name not in defs:
            return f"{where}, reference {schema['$ref']} can't be resolved."
        return None
    if "enum" in schema:
        totals["enum"] += len(schema["enum"])
        if totals["enum"] > MAX_ENUM_VALUES:
            return f"{where}, more than {MAX_ENUM_VALUES} enum values in all."
    types = schema.get("type")
    types = set(types) if isinstance(types, list) else {types}
    if "object" in types:
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is not False:
            return f"{where}, 'additionalProperties' is required to be supplied and to be false."
        missing = [key for key in properties if key not in schema.get("required", [])]
        if missing or set(schema.get("required", [])) - set(properties):
            return (f"{where}, 'required' is required to be supplied and to be an array including "
                    f"every key in properties. Missing '{(missing or ['?'])[0]}'.")
        totals["properties"] += len(properties)
        if totals["properties"] > MAX_PROPERTIES:
            return f"{where}, more than {MAX_PROPERTIES} properties in all."
        for key, sub in properties.items():
            if problem := _strict_problem(sub, (*context, "properties", key), depth + 1, totals,
                                          defs):
                return problem
    children = [("items", schema["items"])] if "items" in schema else []
    children += [(f"anyOf/{i}", sub) for i, sub in enumerate(schema.get("anyOf", []))]
    children += [(f"$defs/{k}", sub) for k, sub in schema.get("$defs", {}).items()]
    for label, sub in children:
        if problem := _strict_problem(sub, (*context, label), depth + 1, totals, defs):
            return problem
    return None


# ---------------------------------------------------------------- the answer


class _Writer:
    """Deterministic JSON following a (strict) schema, worded from the conversation."""

    def __init__(self, schema: dict, topic: str, turn: itertools.count, blank_prompts: int):
        self.defs, self.topic, self.turn = schema.get("$defs", {}), topic, turn
        self.blank_prompts = blank_prompts

    def value(self, schema: dict, name: str = "") -> Any:
        n = next(self.turn)
        if "$ref" in schema:
            return self.value(self.defs[schema["$ref"].removeprefix("#/$defs/")], name)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][n % len(schema["enum"])]
        if "anyOf" in schema:
            return self.value(schema["anyOf"][n % len(schema["anyOf"])], name)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = kind[n % len(kind)]
        if kind == "object":
            return {key: self.value(sub, key) for key, sub in schema["properties"].items()}
        if kind == "array":
            count = schema.get("minItems", min(3, schema.get("maxItems", 3)))
            return [self.value(schema["items"], name) for _ in range(count)]
        if kind in ("integer", "number"):
            low, high = schema.get("minimum", 0), schema.get("maximum", 100)
            return low + n % (int(high - low) + 1)
        if kind == "boolean":
            return n % 2 == 0
        if kind == "null":
            return None
        return self.text(name, n)

    def text(self, name: str, n: int) -> str:
        if name == "prompt" and self.blank_prompts > 0:
            self.blank_prompts -= 1
            return ""
        mood = WORDS[n % len(WORDS)]
        if "negative" in name:
            return f"blurry, {mood} clutter"
        return f"A {mood} rendering of {self.topic}, idea {n}, with a clear focal point."


def _topic(messages: list[dict]) -> str:
    users = [m for m in messages if m["role"] == "user"]
    content = users[-1]["content"] if users else ""
    if isinstance(content, list):
        content = " ".join(part.get("text", "") for part in content)
    first = re.split(r"(?<=[.!?])\s|\n", content.strip(), maxsplit=1)[0]
    return first.strip().rstrip(".")[:120] or "the subject"


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def _message_text(messages: list[dict]) -> str:
    parts = []
    for message in messages:
        content = message.get("content") or ""
        parts.append(content if isinstance(content, str)
                     else " ".join(p.get("text", "") for p in content))
    return "\n".join(parts)


class _State:
    def __init__(self, api_key: str, config: dict[str, Any]):
        self.api_key, self.lock = api_key, threading.Lock()
        self.config = copy.deepcopy(DEFAULT_CONFIG) | config
        self.turn = itertools.count(1)
        self.requests: deque[dict] = deque(maxlen=500)
        self.statuses: Counter = Counter()
        self.ids = itertools.count(1)

    def next_failure(self) -> int | None:
        with self.lock:
            if self.config["fail_statuses"]:
                return self.config["fail_statuses"].pop(0)
        return None


class _Handler(BaseHTTPRequestHandler):
    state: _State
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._send(404, {"error": {"message": "Not found", "type": "invalid_request_error",
                                   "param": None, "code": None}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            status, body = 200, self._answer(raw)
            headers: dict = {}
        except _Refused as refused:
            status, body, headers = refused.status, refused.body, refused.headers
        with self.state.lock:
            self.state.statuses[str(status)] += 1
        self._send(status, body, headers)

    def _answer(self, raw: bytes) -> dict:
        if self.path != PATH:
            raise _Refused(404, f"Invalid URL (POST {self.path})")
        if self.headers.get("Authorization") != f"Bearer {self.state.api_key}":
            raise _Refused(401, "Incorrect API key provided.", code="invalid_api_key")
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            raise _Refused(400, "Content-Type must be application/json.")
        try:
            request = json.loads(raw)
        except ValueError:
            raise _Refused(400, "We could not parse the JSON body of your request.") from None
        unknown = sorted(set(request) - REQUEST_FIELDS) if isinstance(request, dict) else []
        if unknown:
            raise _Refused(400, f"Unrecognized request argument supplied: {unknown[0]}")
        error = best_match(REQUEST.iter_errors(request))
        if error is not None:
            where = ".".join(str(p) for p in error.absolute_path) or None
            raise _Refused(400, f"Invalid request: {error.message}", param=where)
        with self.state.lock:
            self.state.requests.append(request)
            config = copy.deepcopy(self.state.config)
        schema = self._response_schema(request.get("response_format"))
        if request.get("n", 1) != 1:
            raise _Refused(400, "This fake answers one choice: n must be 1.", param="n")
        failure = self.state.next_failure()
        if failure == 429 or config["insufficient_quota"]:
            quota = config["insufficient_quota"]
            raise _Refused(429, "You exceeded your current quota." if quota else
                           "Rate limit reached for requests.",
                           kind="insufficient_quota" if quota else "requests",
                           code="insufficient_quota" if quota else "rate_limit_exceeded",
                           headers={} if quota else {"Retry-After": config["retry_after"]})
        if failure:
            raise _Refused(failure, "The server had an error while processing your request.",
                           kind="server_error")
        time.sleep(config["latency"])
        return self._completion(request, schema, config)

    def _response_schema(self, response_format: dict | None) -> dict | None:
        if not response_format or response_format["type"] != "json_schema":
            return None
        spec = response_format["json_schema"]
        if not SCHEMA_NAME.match(spec["name"]):
            raise _Refused(400, "Invalid 'response_format.json_schema.name': letters, digits, "
                           "'_' and '-' only, at most 64.", param="response_format")
        if spec.get("strict") and (problem := strict_schema_problem(spec.get("schema"))):
            raise _Refused(400, f"Invalid schema for response_format '{spec['name']}': {problem}",
                           param="response_format")
        return spec.get("schema") or {"type": "object", "properties": {}}

    def _completion(self, request: dict, schema: dict | None, config: dict) -> dict:
        messages = request["messages"]
        topic = _topic(messages)
        message = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
        if config["refuse"]:
            message["refusal"] = "I'm sorry, I can't help with that request."
        elif schema is not None:
            writer = _Writer(schema, topic, self.state.turn, config["blank_prompts"])
            answer = writer.value(schema)
            Draft202012Validator(schema).validate(answer)  # strict output follows the schema
            message["content"] = json.dumps(answer, ensure_ascii=False)
        else:
            message["content"] = f"Here are some ideas about {topic}."
        written = message["content"] or message["refusal"]
        prompt_tokens, completion_tokens = _tokens(_message_text(messages)), _tokens(written)
        completion = {
            "id": f"chatcmpl-fake{next(self.state.ids):06d}", "object": "chat.completion",
            "created": int(time.time()), "model": request["model"], "service_tier": "default",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop",
                         "logprobs": None}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens,
                      "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                      "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                                    "accepted_prediction_tokens": 0,
                                                    "rejected_prediction_tokens": 0}}}
        RESPONSE.validate(completion)  # the fake's own answers follow the description too
        return completion

    def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class FakeChatAPI:
    """`with FakeChatAPI() as fake:` — `fake.url` is an OPENAI_BASE_URL (with /v1)."""

    def __init__(self, api_key: str = "fake-openai-chat-key-5678", **config: Any):
        self.api_key = api_key
        self._state = _State(api_key, config)
        handler = type("Handler", (_Handler,), {"state": self._state})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> "FakeChatAPI":
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         name="fake-chat-api").start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def configure(self, **changes: Any) -> None:
        unknown = set(changes) - set(DEFAULT_CONFIG)
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}; known: {sorted(DEFAULT_CONFIG)}")
        with self._state.lock:
            self._state.config.update(copy.deepcopy(changes))

    def reset(self) -> None:
        with self._state.lock:
            self._state.config = copy.deepcopy(DEFAULT_CONFIG)
            self._state.requests.clear()
            self._state.statuses.clear()

    def requests(self) -> list[dict]:
        """Every request that passed validation, oldest first."""
        with self._state.lock:
            return list(self._state.requests)

    def stats(self) -> dict[str, Any]:
        with self._state.lock:
            return {"responses_by_status": dict(self._state.statuses),
                    "requests": len(self._state.requests)}
