"""A local fake of the image APIs we cannot reach from tests: Ideogram 3.0 (multipart), Ideogram
legacy (`/generate`, JSON) and the OpenAI images API.

It is as strict as the real services. Ideogram requests are validated against the provider's own
published OpenAPI description (`ideogram-openapi.json` beside this file, a verbatim copy) with a
JSON-schema validator, plus the per-model rules its descriptions state in prose (negative_prompt
only for V_1/V_2 and their turbo variants, no color_palette for V_1 or V_2A, no style_type for
V_1, ...). OpenAI requests are checked against the documented per-model parameters (sizes, n,
quality, response_format, style, prompt length). Anything the real API would refuse is a 400 in
the provider's own error shape. It is stricter than the real APIs in one way: unknown fields are a
400 at every level, so a typo in a field name fails a test instead of being silently ignored.

Image links point at a second listener on another host name (`localhost`, while the API listens
on 127.0.0.1), as the real CDNs do: a client must be told which image hosts to trust. Links expire
after `url_ttl` seconds. Faults are injected on demand, including a connection dropped after the
generation was billed (`lost_*`, counted as `paid_but_lost`) and OpenAI's billing refusal
(`insufficient_quota`).

Ideogram's account rules, from its published pages (each switchable per test; `billed` in the
stats counts what the account was charged for, image by image):
- In-flight limit (developer.ideogram.ai/ideogram-api/rate-limits): "The limit applies across
  every endpoint and counts the images and videos still being generated, not the requests: a
  request for 4 images takes 4 places. The default limit is 10." Over it: "rejected with 429 and a
  reject_reason" `inflight_limit`; "A rejected request doesn't run and isn't billed." The limit is
  per organization: here, per API key (`inflight_limit`, default 10; null turns it off), with
  `others_in_flight` images held meanwhile by the organization's other apps.
- 402 (same page, and …/errors): "A 402 is not a rate limit. It means your balance or plan doesn't
  allow the request, with a reject_reason such as insufficient_funds or daily_limit"; "No; the
  request doesn't run" (not billed). `payment_required` answers every call so; `daily_limit_images`
  answers `daily_limit` once the key has been billed for that many images.
- Withheld images (…/errors): "A request that runs is billed when it completes, including when an
  image is withheld by the safety check": 200, `is_image_safe: false`, no url, billed
  (`unsafe_image_*`, or `unsafe_image_word` in the prompt).
- Links (image-api.md, "Result links expire after 24 hours"): `url_ttl` seconds, shorter here so
  a test can see one expire.

The spellings below come from the provider references on purpose, not from
`server.generation.providers`: a fake that shared the client's spellings could never catch a
misspelling.

In-process:   with FakeImageAPI() as fake: fake.configure(latency=0.2); fake.stats()
Out of process, from the checkout root: python -m testkit.fakes.image_api --port 8765
                (prints one JSON line: url, image_url, image_host, api_key)
Control over HTTP: POST /_control {json}, GET /_control, GET /_stats, GET /_requests.
"""
from __future__ import annotations

import argparse
import base64
import copy
import datetime as dt
import hashlib
import io
import itertools
import json
import random
import re
import signal
import socket
import sys
import threading
import time
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema.exceptions import best_match
from openapi_schema_validator import OAS30Validator
from PIL import Image
from werkzeug.formparser import parse_form_data

# --- Ideogram: the published description ---------------------------------------------------------
SPEC = json.loads(Path(__file__).with_name("ideogram-openapi.json").read_text("utf-8"))
V3_PATH = "/v1/ideogram-v3/generate"  # multipart/form-data (or JSON), header Api-Key
LEGACY_PATH = "/generate"  # JSON {"image_request": {...}}
DEFAULT_LEGACY_MODEL = SPEC["components"]["schemas"]["ModelEnum"]["default"]
MAX_SEED = 2147483647
# Per-model rules the description states in prose (ImageRequest.negative_prompt,
# ColorPaletteWithPresetNameOrMembers, StyleType, Resolution): field → models that may send it.
LEGACY_MODEL_RULES = {
    "negative_prompt": ("V_1", "V_1_TURBO", "V_2", "V_2_TURBO"),
    "color_palette": ("V_2", "V_2_TURBO", "V_3", "AUTO"),
    "style_type": ("V_2", "V_2_TURBO", "V_2A", "V_2A_TURBO", "V_3", "AUTO"),
    "resolution": ("V_2", "V_2_TURBO"),
}
# Pairs the description says "cannot be used in conjunction".
EXCLUSIVE = (("aspect_ratio", "resolution"), ("style_codes", "style_type"))
# --- OpenAI: POST /v1/images/generations, JSON, Authorization: Bearer --------------------------
OPENAI_PATH = "/v1/images/generations"
OPENAI_DEFAULT_MODEL = "dall-e-2"  # what the API uses when the request names no model
OPENAI_MODELS: dict[str, dict[str, Any]] = {
    "gpt-image-1": {"sizes": ("1024x1024", "1536x1024", "1024x1536", "auto"),
                    "quality": ("low", "medium", "high", "auto"), "max_n": 10,
                    "response_format": False, "style": (), "max_prompt": 32000},
    "dall-e-3": {"sizes": ("1024x1024", "1792x1024", "1024x1792"), "quality": ("standard", "hd"),
                 "max_n": 1, "response_format": True, "style": ("vivid", "natural"),
                 "max_prompt": 4000},
    "dall-e-2": {"sizes": ("256x256", "512x512", "1024x1024"), "quality": ("standard",),
                 "max_n": 10, "response_format": True, "style": (), "max_prompt": 1000},
}
OPENAI_GPT_IMAGE_ONLY = ("background", "moderation", "output_format", "output_compression")
OPENAI_FIELDS = ("model", "prompt", "n", "size", "response_format", "quality", "style",
                 "user", *OPENAI_GPT_IMAGE_ONLY)

EPHEMERAL = re.compile(r"^/ephemeral/([0-9a-f]{32})\.png$")
MAGIC_SUFFIX = ", richly detailed, cinematic lighting, carefully composed"

DEFAULT_CONFIG: dict[str, Any] = {
    "latency": 0.0,  # seconds each generation takes (not applied to 4xx/5xx/429/dropped answers)
    "latency_max": None,  # with it, each generation takes between latency and this, at random
    "rate_limit_fraction": 0.0,  # share of valid generate calls answered 429
    "rate_limit_every": 0,  # every k-th valid generate call answered 429 (0 = off)
    "retry_after": "1",  # Retry-After header on 429: seconds or an HTTP date; null = no header
    "server_error_fraction": 0.0,  # share answered with server_error_status
    "server_error_every": 0,
    "server_error_status": 503,  # 500, 502, 503 ...
    "drop_fraction": 0.0,  # share whose connection is closed before generating (not billed)
    "drop_every": 0,
    "lost_fraction": 0.0,  # share generated and billed, then the connection closed: paid but lost
    "lost_every": 0,
    "unsafe_image_fraction": 0.0,  # share answered 200 with is_image_safe false and no url
    "unsafe_image_every": 0,
    "unsafe_word": "UNSAFE",  # a prompt containing it is refused: Ideogram 422 / OpenAI 400
    "unsafe_image_word": "WITHHELD",  # a prompt containing it is made and billed, then withheld
    # Ideogram's per-organization limit on images being generated, across endpoints (null = off).
    "inflight_limit": 10,
    "others_in_flight": 0,  # images other apps of the organization have in progress meanwhile
    "payment_required": None,  # "insufficient_funds" / "daily_limit": every Ideogram call is 402
    "daily_limit_images": None,  # 402 daily_limit once a key was billed for this many images
    "insufficient_quota": False,  # OpenAI answers every valid call 429 insufficient_quota
    "rng_seed": 0,  # seeds the RNG behind every *_fraction, so runs repeat exactly
    "url_ttl": 60.0,  # seconds an /ephemeral/ image link works (the real ones: 24 hours)
    "extra_api_keys": [],  # other keys accepted: other accounts (stats count generations per key)
    "download_failures": 0,  # each image link answers 503 this many times before it works
    "image_base_url": None,  # base of returned image links; null = the image listener
    "openai_answers_url": False,  # answer links even when base64 was asked for (as some
    # OpenAI-compatible servers do); otherwise links only when dall-e is asked for none
}
FAULTS = ("drop", "lost", "rate_limit", "server_error")  # checked in this order; first hit wins


class _State:
    """Everything the handler threads share, behind one lock."""

    def __init__(self, api_key: str, config: dict[str, Any]):
        self.api_key = api_key
        self.image_url = ""  # the image listener's base URL, set once it listens
        self.lock = threading.Lock()
        self.config = dict(DEFAULT_CONFIG)
        self.configure(config)
        self.reset_stats()

    def configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        unknown = set(changes) - set(DEFAULT_CONFIG) - {"reset", "reset_stats"}
        if unknown:
            raise ValueError(f"unknown control keys {sorted(unknown)}; known: "
                             f"{sorted(DEFAULT_CONFIG) + ['reset', 'reset_stats']}")
        with self.lock:
            if changes.get("reset"):
                self.config = dict(DEFAULT_CONFIG)
            self.config.update({k: v for k, v in changes.items() if k in DEFAULT_CONFIG})
            self.rng = random.Random(self.config["rng_seed"])
            self.counter = itertools.count(1)
        if changes.get("reset") or changes.get("reset_stats"):
            self.reset_stats()
        return self.snapshot_config()

    def generation_time(self) -> float:
        low, high = self.config["latency"], self.config["latency_max"]
        # Its own random source: the faults' sequence stays the same with or without spread.
        return float(low) if high is None else random.uniform(float(low), float(high))

    def snapshot_config(self) -> dict[str, Any]:
        with self.lock:
            return dict(self.config)

    def reset_stats(self) -> None:
        with self.lock:
            self.calls = Counter()  # endpoint → calls
            self.statuses = Counter()  # "200", "429", "dropped", "paid_but_lost" ...
            self.per_key: dict[tuple[str, int | None], Counter] = {}
            self.in_flight = self.max_in_flight = 0
            self.generated = self.downloads = self.expired = self.paid_but_lost = 0
            self.failed_downloads = 0
            self.call_times: list[float] = []  # time.time() each generate call arrived, in order
            self.generated_by_key: Counter = Counter()
            self.billed_by_key: Counter = Counter()  # images charged to each key
            self.images_in_flight: Counter = Counter()  # key → images being generated
            self.withheld = 0
            self.download_attempts: Counter = Counter()  # image id → GETs
            self.requests: deque[dict[str, Any]] = deque(maxlen=2000)
            self.images: dict[str, tuple[bytes, float]] = {}

    def decide_fault(self) -> str | None:
        """One decision per valid generate call: every-k-th counters, then seeded fractions."""
        with self.lock:
            number = next(self.counter)
            draws = {name: self.rng.random() for name in FAULTS + ("unsafe_image",)}
            for name in FAULTS + ("unsafe_image",):
                every = self.config[f"{name}_every"]
                if (every and number % every == 0) or draws[name] < self.config[f"{name}_fraction"]:
                    return name
        return None

    def stats(self) -> dict[str, Any]:
        with self.lock:
            pairs = [{"prompt": prompt, "seed": seed, "calls": counts["calls"],
                      "generated": counts["generated"]}
                     for (prompt, seed), counts in self.per_key.items()]
            return {
                "calls": sum(self.calls.values()),
                "calls_by_endpoint": dict(self.calls),
                "responses_by_status": dict(self.statuses),
                "generated": self.generated,
                "paid_but_lost": self.paid_but_lost,
                "downloads": self.downloads,
                "failed_downloads": self.failed_downloads,
                "generated_by_key": dict(self.generated_by_key),
                "billed": sum(self.billed_by_key.values()),
                "billed_by_key": dict(self.billed_by_key),
                "withheld": self.withheld,
                "expired_downloads": self.expired,
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "call_times": list(self.call_times),
                "prompt_seed": pairs,
                "duplicate_generations": [pair for pair in pairs if pair["generated"] > 1],
            }


class _Reject(Exception):
    """An error answer: HTTP status plus the service's JSON body."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def _ideogram_error(status: int, message: str) -> _Reject:
    return _Reject(status, {"error": message})


def _openai_error(status: int, message: str, kind: str, code: str | None = None,
                  param: str | None = None) -> _Reject:
    return _Reject(status, {"error": {"message": message, "type": kind, "param": param,
                                      "code": code}})


# ---------------------------------------------------------------- Ideogram validation ----------

def _closed(schema: Any) -> Any:
    """The schema with every object closed to unknown properties (our one extra strictness)."""
    if isinstance(schema, dict):
        schema = {key: _closed(value) for key, value in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


_COMPONENTS = _closed(copy.deepcopy(SPEC["components"]))


def _validator(schema_name: str) -> OAS30Validator:
    return OAS30Validator({"$ref": f"#/components/schemas/{schema_name}",
                           "components": _COMPONENTS})


LEGACY_VALIDATOR = _validator("GenerateImageRequest")
V3_VALIDATOR = _validator("GenerateImageRequestV3")
V3_SCHEMA = SPEC["components"]["schemas"]["GenerateImageRequestV3"]["properties"]
V3_ENCODING = (SPEC["paths"][V3_PATH]["post"]["requestBody"]["content"]["multipart/form-data"]
               ["encoding"])


def _check_schema(validator: OAS30Validator, payload: Any) -> None:
    error = best_match(validator.iter_errors(payload))
    if error is not None:
        where = ".".join(str(part) for part in error.absolute_path) or "body"
        raise _ideogram_error(400, f"{where}: {error.message}")


def _check_exclusive(fields: dict[str, Any]) -> None:
    for first, second in EXCLUSIVE:
        if first in fields and second in fields:
            raise _ideogram_error(400, f"{first} cannot be used in conjunction with {second}")


def _schema_type(prop: dict[str, Any]) -> str | None:
    if "$ref" in prop:
        prop = SPEC["components"]["schemas"][prop["$ref"].rsplit("/", 1)[1]]
    return prop.get("type")


def _typed_form(form: dict[str, list[str]]) -> dict[str, Any]:
    """Form parts as the schema types them: numbers parsed, arrays kept whole, JSON-encoded
    parts (the description's `encoding`) decoded; a part that does not parse stays text so the
    schema check names it."""
    typed: dict[str, Any] = {}
    for name, values in form.items():
        kind = _schema_type(V3_SCHEMA.get(name, {}))
        value: Any = values if kind == "array" else values[-1]
        try:
            if name in V3_ENCODING and V3_ENCODING[name].get("contentType") == "application/json":
                value = json.loads(value)
            elif kind == "integer" and re.fullmatch(r"-?\d+", value):
                value = int(value)
            elif kind == "number":
                value = float(value)
        except (ValueError, TypeError):
            pass
        typed[name] = value
    return typed


def parse_v3(content_type: str, body: bytes) -> dict[str, Any]:
    """The request's fields as sent (form text), after checking them as the API would."""
    if content_type.startswith("application/json"):
        try:
            fields = json.loads(body)
        except ValueError:
            raise _ideogram_error(400, "body must be JSON") from None
        typed = fields
    elif content_type.startswith("multipart/form-data"):
        environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": content_type,
                   "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
        _stream, form, _files = parse_form_data(environ)
        grouped = form.to_dict(flat=False)
        fields = {name: values[-1] for name, values in grouped.items()}
        typed = _typed_form(grouped)
    else:
        raise _ideogram_error(400, "Content-Type must be multipart/form-data")
    _check_schema(V3_VALIDATOR, typed)
    _check_prompt(typed.get("prompt"))
    _check_exclusive(typed)
    return fields


def parse_legacy(content_type: str, body: bytes) -> dict[str, Any]:
    if not content_type.startswith("application/json"):
        raise _ideogram_error(400, "Content-Type must be application/json")
    try:
        payload = json.loads(body)
    except ValueError:
        raise _ideogram_error(400, "body must be JSON") from None
    _check_schema(LEGACY_VALIDATOR, payload)
    request = payload.get("image_request") if isinstance(payload, dict) else None
    if not isinstance(request, dict):
        raise _ideogram_error(400, "image_request is required")
    _check_prompt(request.get("prompt"))
    _check_exclusive(request)
    model = request.get("model", DEFAULT_LEGACY_MODEL)
    for name, models in LEGACY_MODEL_RULES.items():
        if name in request and model not in models:
            raise _ideogram_error(400, f"{name} is not supported for model {model}")
    return request


def _check_prompt(value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise _ideogram_error(400, "prompt is required")


# ---------------------------------------------------------------- OpenAI validation ------------

def _openai_invalid(message: str, param: str, code: str = "invalid_value") -> _Reject:
    return _openai_error(400, message, "invalid_request_error", code, param)


def _one_of(request: dict[str, Any], name: str, choices: tuple[str, ...], model: str) -> None:
    if name in request and request[name] not in choices:
        listed = ", ".join(f"'{choice}'" for choice in choices)
        raise _openai_invalid(f"Invalid value: '{request[name]}'. Supported values for {model} "
                              f"are: {listed}.", name)


def parse_openai(content_type: str, body: bytes) -> dict[str, Any]:
    try:
        request = json.loads(body)
    except ValueError:
        raise _openai_invalid("We could not parse the JSON body of your request.", None,
                              None) from None
    if not isinstance(request, dict):
        raise _openai_invalid("The body must be a JSON object.", None, None)
    unknown = sorted(set(request) - set(OPENAI_FIELDS))
    if unknown:
        raise _openai_invalid(f"Unknown parameter: '{unknown[0]}'.", unknown[0],
                              "unknown_parameter")
    model = request.get("model", OPENAI_DEFAULT_MODEL)
    if model not in OPENAI_MODELS:
        raise _openai_invalid(f"Invalid value: '{model}'. Supported values are: "
                              f"{', '.join(OPENAI_MODELS)}.", "model")
    rules = OPENAI_MODELS[model]
    prompt = request.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise _openai_invalid("Missing required parameter: 'prompt'.", "prompt",
                              "missing_required_parameter")
    if len(prompt) > rules["max_prompt"]:
        raise _openai_invalid(f"Invalid 'prompt': string too long. Expected a string with maximum "
                              f"length {rules['max_prompt']}, but got a string with length "
                              f"{len(prompt)} instead.", "prompt", "string_above_max_length")
    n = request.get("n", 1)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= rules["max_n"]:
        raise _openai_invalid(f"Invalid 'n': {model} supports n from 1 to {rules['max_n']}.", "n")
    _one_of(request, "size", rules["sizes"], model)
    _one_of(request, "quality", rules["quality"], model)
    _one_of(request, "style", rules["style"], model)
    if "response_format" in request:
        if not rules["response_format"]:
            raise _openai_invalid(f"Unknown parameter: 'response_format' is not supported with "
                                  f"{model}.", "response_format", "unknown_parameter")
        _one_of(request, "response_format", ("url", "b64_json"), model)
    for name in OPENAI_GPT_IMAGE_ONLY:
        if name in request and model != "gpt-image-1":
            raise _openai_invalid(f"Unknown parameter: '{name}' is only supported with "
                                  "gpt-image-1.", name, "unknown_parameter")
    return request


# ---------------------------------------------------------------- images -----------------------

def _png(seed: int, prompt: str, ratio: tuple[int, int]) -> bytes:
    """A real, small PNG whose colour depends on (prompt, seed), in the requested shape."""
    digest = hashlib.sha256(f"{prompt}|{seed}".encode()).digest()
    scale = 64 / max(ratio)
    size = (max(1, round(ratio[0] * scale)), max(1, round(ratio[1] * scale)))
    out = io.BytesIO()
    Image.new("RGB", size, tuple(digest[:3])).save(out, format="PNG")
    return out.getvalue()


def _ratio(text: str | None) -> tuple[int, int]:
    numbers = re.findall(r"\d+", text or "1x1")
    return (int(numbers[0]), int(numbers[1])) if len(numbers) >= 2 else (1, 1)


def _resolution(ratio: tuple[int, int]) -> str:
    scale = (1024 * 1024 / (ratio[0] * ratio[1])) ** 0.5
    return f"{round(ratio[0] * scale / 16) * 16}x{round(ratio[1] * scale / 16) * 16}"


def _magic(prompt: str, option: str | None) -> str:
    return prompt if option == "OFF" else prompt + MAGIC_SUFFIX  # ON and AUTO both rewrite


# ---------------------------------------------------------------- HTTP handler -----------------

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real services
    disable_nagle_algorithm = True  # headers and body go out in two writes; no 40 ms stalls
    server_version = "FakeImageAPI/1.0"
    state: _State  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # quiet: test output stays readable and no header ever reaches a log

    # --- plumbing --------------------------------------------------------------------------
    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _drop(self) -> None:
        """Close the socket without a byte of answer, as a crashed proxy would."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # --- routes ----------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        if path == "/_stats":
            return self._json(200, self.state.stats())
        if path == "/_control":
            return self._json(200, self.state.snapshot_config())
        if path == "/_requests":
            with self.state.lock:
                return self._json(200, list(self.state.requests))
        self._json(404, {"error": "Not found"})  # images are on the other host, not here

    def do_POST(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        body = self._body()
        if path == "/_control":
            try:
                return self._json(200, self.state.configure(json.loads(body or b"{}")))
            except ValueError as error:
                return self._json(400, {"error": str(error)})
        endpoints = {V3_PATH: "ideogram-v3", LEGACY_PATH: "ideogram-legacy",
                     OPENAI_PATH: "openai"}
        if path not in endpoints:
            return self._json(404, {"error": "Not found"})
        self._generate(endpoints[path], body)

    # --- generation --------------------------------------------------------------------------
    def _generate(self, endpoint: str, body: bytes) -> None:
        state = self.state
        with state.lock:
            state.calls[endpoint] += 1
            state.call_times.append(time.time())
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            self._answer(endpoint, body)
        except _Reject as reject:
            self._count(str(reject.status))
            self._json(reject.status, reject.body, reject.headers)
        finally:
            with state.lock:
                state.in_flight -= 1

    def _count(self, status: str) -> None:
        """Counted before the answer leaves: once a client has it, a test may read the stats."""
        with self.state.lock:
            self.state.statuses[status] += 1

    def _answer(self, endpoint: str, body: bytes) -> str:
        """Validate, inject faults, then answer; returns the status recorded in the stats."""
        openai = endpoint == "openai"
        self._authorise(openai)
        content_type = self.headers.get("Content-Type", "")
        parse = {"ideogram-v3": parse_v3, "ideogram-legacy": parse_legacy,
                 "openai": parse_openai}[endpoint]
        fields = parse(content_type, body)
        prompt, seed = fields["prompt"], fields.get("seed")
        seed = None if seed is None else int(seed)
        self._record(endpoint, fields, prompt, seed)
        if openai:
            if self.state.config["insufficient_quota"]:
                raise _openai_error(429, "You exceeded your current quota, please check your "
                                    "plan and billing details.", "insufficient_quota",
                                    "insufficient_quota")
            return self._run(endpoint, fields, prompt, seed)
        images = int(fields.get("num_images", 1))
        self._admit(images)
        try:
            return self._run(endpoint, fields, prompt, seed)
        finally:
            with self.state.lock:
                self.state.images_in_flight[self._key_used()] -= images

    def _admit(self, images: int) -> None:
        """Ideogram's two refusals before a request runs (neither billed), then its place in
        the organization's in-flight count, all under one lock so concurrent calls cannot
        both slip under a limit.

        402, errors page: "Not enough balance, or a plan limit | 402 with a reject_reason such as
        insufficient_funds or daily_limit | No; the request doesn't run". A daily limit here is
        in images, counting those billed and those in progress.
        429, rate-limits page: the organization's limit "counts the images and videos still
        being generated, not the requests: a request for 4 images takes 4 places"; over it, 429
        with reject_reason inflight_limit (and max_inflight_requests, "your limit"), without
        Retry-After; "A rejected request doesn't run and isn't billed"."""
        config, key = self.state.config, self._key_used()
        with self.state.lock:
            ours = self.state.images_in_flight[key]
            reason = config["payment_required"]
            daily = config["daily_limit_images"]
            if reason is None and daily is not None \
                    and self.state.billed_by_key[key] + ours + images > int(daily):
                reason = "daily_limit"
            if reason is not None:
                message = {"insufficient_funds": "Insufficient funds.",
                           "daily_limit": "Daily limit reached."}.get(reason, "Payment required.")
                raise _Reject(402, {"error": message, "reject_reason": reason})
            limit = config["inflight_limit"]
            busy = ours + int(config["others_in_flight"])
            if limit is not None and busy + images > int(limit):
                raise _Reject(429, {"error": "Too many images in progress for your organization.",
                                    "reject_reason": "inflight_limit",
                                    "max_inflight_requests": int(limit)})
            self.state.images_in_flight[key] += images

    def _run(self, endpoint: str, fields: dict[str, Any], prompt: str, seed: int | None) -> str:
        """A validated call the account may pay for: faults, then the generation itself."""
        openai = endpoint == "openai"
        fault = self.state.decide_fault()
        if fault == "drop":
            self._count("dropped")
            self._drop()
            return "dropped"
        self._raise_fault(fault, openai)
        if self.state.config["unsafe_word"] and self.state.config["unsafe_word"] in prompt:
            raise self._refusal(openai)
        time.sleep(self.state.generation_time())
        result = (self._openai_result(fields) if openai
                  else self._ideogram_result(endpoint, fields, seed, fault))
        # Count before answering: once the client has its answer, a test may reset the stats.
        with self.state.lock:
            self.state.per_key.setdefault((prompt, seed), Counter())["generated"] += 1
            self.state.generated_by_key[self._key_used()] += 1
            self.state.paid_but_lost += fault == "lost"
        if fault == "lost":  # billed and made, but the answer never arrives (no idempotency key)
            self._count("paid_but_lost")
            self._drop()
            return "paid_but_lost"
        self._count("200")
        self._json(200, result)
        return "200"

    def _authorise(self, openai: bool) -> None:
        keys = [self.state.api_key, *self.state.config["extra_api_keys"]]
        if openai:
            given = self.headers.get("Authorization", "")
            if not given.startswith("Bearer ") or not given[7:].strip():
                raise _openai_error(401, "You didn't provide an API key. You need to provide your "
                                    "API key in an Authorization header using Bearer auth.",
                                    "invalid_request_error")
            if given[7:].strip() not in keys:
                token = given[7:].strip()
                masked = token[:3] + "*" * 4 + token[-4:] if len(token) > 8 else "****"
                raise _openai_error(401, f"Incorrect API key provided: {masked}.",
                                    "invalid_request_error", "invalid_api_key")
        elif self.headers.get("Api-Key") not in keys:
            raise _ideogram_error(401, "Not authorized to generate an image.")

    def _key_used(self) -> str:
        given = self.headers.get("Api-Key") or self.headers.get("Authorization", "")[7:]
        return given.strip()

    def _record(self, endpoint: str, fields: dict[str, Any], prompt: str, seed: int | None) -> None:
        with self.state.lock:
            self.state.requests.append({"endpoint": endpoint, "fields": fields,
                                        "content_type": self.headers.get("Content-Type", "")})
            self.state.per_key.setdefault((prompt, seed), Counter())["calls"] += 1

    def _raise_fault(self, fault: str | None, openai: bool) -> None:
        config = self.state.config
        if fault == "rate_limit":
            headers = ({} if config["retry_after"] is None
                       else {"Retry-After": str(config["retry_after"])})
            if openai:
                raise _Reject(429, _openai_error(429, "Rate limit reached for images per minute.",
                                                 "requests", "rate_limit_exceeded").body, headers)
            raise _Reject(429, {"error": "Too many requests."}, headers)
        if fault == "server_error":
            status = int(config["server_error_status"])
            if openai:
                raise _openai_error(status, "The server had an error while processing your "
                                    "request. Sorry about that!", "server_error")
            raise _ideogram_error(status, "Internal server error.")

    def _refusal(self, openai: bool) -> _Reject:
        if openai:
            return _openai_error(400, "Your request was rejected as a result of our safety "
                                 "system.", "image_generation_user_error", "moderation_blocked")
        return _ideogram_error(422, "Prompt failed the safety check.")

    def _store(self, png: bytes) -> str:
        image_id = hashlib.md5(png + str(time.time_ns()).encode()).hexdigest()  # noqa: S324
        config = self.state.config
        with self.state.lock:
            self.state.images[image_id] = (png, time.time() + float(config["url_ttl"]))
        base = config["image_base_url"] or self.state.image_url
        return f"{base.rstrip('/')}/ephemeral/{image_id}.png"

    def _ideogram_result(self, endpoint: str, fields: dict[str, Any], seed: int | None,
                         fault: str | None) -> dict[str, Any]:
        legacy = endpoint == "ideogram-legacy"
        with self.state.lock:
            seed = self.state.rng.randrange(MAX_SEED + 1) if seed is None else seed
        ratio = _ratio(fields.get("aspect_ratio"))
        option = fields.get("magic_prompt_option" if legacy else "magic_prompt", "AUTO")
        used_prompt = _magic(fields["prompt"], option)
        images = []
        withheld = fault == "unsafe_image" or bool(
            self.state.config["unsafe_image_word"]
            and self.state.config["unsafe_image_word"] in fields["prompt"])
        for _ in range(int(fields.get("num_images", 1))):
            safe = not withheld
            images.append({
                "url": self._store(_png(seed, used_prompt, ratio)) if safe else None,
                "prompt": used_prompt, "resolution": _resolution(ratio), "is_image_safe": safe,
                "seed": seed,
                "style_type": fields.get("style_type", "AUTO" if legacy else "GENERAL"),
            })
        with self.state.lock:
            self.state.generated += len(images)
            self.state.billed_by_key[self._key_used()] += len(images)  # withheld ones too
            self.state.withheld += len(images) if withheld else 0
        return {"created": dt.datetime.now(dt.timezone.utc).isoformat(), "data": images}

    def _openai_result(self, fields: dict[str, Any]) -> dict[str, Any]:
        size = fields.get("size", "1024x1024")
        ratio = _ratio(size if size != "auto" else "1x1")
        model = fields.get("model", OPENAI_DEFAULT_MODEL)
        if self.state.config["openai_answers_url"]:
            response_format = "url"
        elif model == "gpt-image-1":  # it always answers base64
            response_format = "b64_json"
        else:
            response_format = fields.get("response_format", "url")
        data = []
        for index in range(int(fields.get("n", 1))):
            png = _png(index, fields["prompt"], ratio)
            item = ({"url": self._store(png)} if response_format == "url"
                    else {"b64_json": base64.b64encode(png).decode()})
            if model == "dall-e-3":  # only dall-e-3 rewrites prompts
                item["revised_prompt"] = _magic(fields["prompt"], "ON")
            data.append(item)
        with self.state.lock:
            self.state.generated += len(data)
            self.state.billed_by_key[self._key_used()] += len(data)
        return {"created": int(time.time()), "data": data}


class _ImageHandler(_Handler):
    """The image host: serves the temporary links and nothing else."""

    def do_GET(self) -> None:  # noqa: N802
        match = EPHEMERAL.match(urlsplit(self.path).path)
        if not match:
            return self._json(404, {"error": "Not found"})
        with self.state.lock:
            self.state.download_attempts[match[1]] += 1
            failing = (self.state.download_attempts[match[1]]
                       <= self.state.config["download_failures"])
            self.state.failed_downloads += failing
        if failing:
            return self._json(503, {"error": "Temporarily unavailable"})
        with self.state.lock:
            data, expires = self.state.images.get(match[1], (None, 0.0))
            fresh = data is not None and time.time() < expires
            self.state.downloads += fresh
            self.state.expired += data is not None and not fresh
        if not fresh:
            return self._json(404, {"error": "Image link expired or unknown"})
        self._send(200, data, "image/png")

    def do_POST(self) -> None:  # noqa: N802
        self._body()
        self._json(404, {"error": "Not found"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a slow fake request never blocks shutdown
    request_queue_size = 512  # many concurrent workers connect at once
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout tests, killed workers) is normal here, not a failure.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class FakeImageAPI:
    """The fake as a context manager: `with FakeImageAPI() as fake: fake.url, fake.api_key`.

    `url` is the API (on `host`); image links are on `image_url`, a second listener on the same
    address reached by another name (`image_host`), which clients must be told to trust.
    `openai_url` is the OpenAI base URL as the SDK spells it (with /v1).
    """

    def __init__(self, api_key: str = "fake-ideogram-key-1234", host: str = "127.0.0.1",
                 port: int = 0, image_host: str = "localhost", **config: Any):
        self.api_key = api_key
        self._state = _State(api_key, config)
        self._server = _Server((host, port), type("Handler", (_Handler,), {"state": self._state}))
        self._images = _Server((host, 0), type("ImageHandler", (_ImageHandler,),
                                               {"state": self._state}))
        self.host, self.port = self._server.server_address[:2]
        self.url = f"http://{self.host}:{self.port}"
        self.openai_url = self.url + "/v1"
        self.image_host = image_host
        self.image_url = f"http://{image_host}:{self._images.server_address[1]}"
        self._state.image_url = self.image_url

    def start(self) -> "FakeImageAPI":
        for server, name in ((self._server, "fake-image-api"), (self._images, "fake-image-host")):
            threading.Thread(target=server.serve_forever, daemon=True, name=name).start()
        return self

    def stop(self) -> None:
        for server in (self._server, self._images):
            server.shutdown()
            server.server_close()

    def __enter__(self) -> "FakeImageAPI":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Same keys as POST /_control; `reset=True` restores defaults and clears the stats."""
        return self._state.configure(changes)

    def reset(self) -> None:
        self._state.configure({"reset": True})

    def stats(self) -> dict[str, Any]:
        return self._state.stats()

    def calls_for(self, prompt: str, seed: int | None) -> int:
        with self._state.lock:
            return self._state.per_key.get((prompt, seed), Counter())["calls"]

    def requests(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        """Every validated generate request received, oldest first (fields as the API saw them)."""
        with self._state.lock:
            return [r for r in self._state.requests if endpoint in (None, r["endpoint"])]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the fake image API in its own process.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--api-key", default="fake-ideogram-key-1234")
    parser.add_argument("--config", default="{}", help="initial control JSON")
    args = parser.parse_args(argv)
    fake = FakeImageAPI(args.api_key, args.host, args.port, **json.loads(args.config))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    fake.start()
    print(json.dumps({"url": fake.url, "openai_url": fake.openai_url, "image_url": fake.image_url,
                      "image_host": fake.image_host, "api_key": fake.api_key}), flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    fake.stop()


if __name__ == "__main__":
    main()
