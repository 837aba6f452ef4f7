"""A local fake of the image APIs we cannot reach from tests: Ideogram 3.0 (multipart), Ideogram
legacy (`/generate`, JSON) and the OpenAI images API.

It validates requests the way the real services do (400 for a missing prompt or a bad enum, 401 for
a missing or wrong key), answers the documented response shapes, serves the temporary image links
itself (`/ephemeral/<id>.png`, expiring after `url_ttl` seconds), and injects faults on demand.

The spellings below are copied from the provider references on purpose, not imported from
`server.generation.providers`: a fake that shared the client's spellings could never catch a misspelling.
It is stricter than the real API in one way: unknown request fields are a 400, so a typo in a
field name fails a test instead of being silently ignored.

In-process:   with FakeImageAPI() as fake: fake.configure(latency=0.2); fake.stats()
Out of process: python -m tests.fakes.image_api --port 8765   (prints one JSON line: url, api_key)
Control over HTTP: POST /_control {json}, GET /_control, GET /_stats, GET /_requests.
"""
from __future__ import annotations

import argparse
import base64
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
from typing import Any
from urllib.parse import urlsplit

from PIL import Image
from werkzeug.formparser import parse_form_data

# --- Ideogram 3.0: POST /v1/ideogram-v3/generate, multipart/form-data, header Api-Key ----------
V3_PATH = "/v1/ideogram-v3/generate"
V3_ASPECT_RATIOS = ("1x3", "3x1", "1x2", "2x1", "9x16", "16x9", "10x16", "16x10", "2x3", "3x2",
                    "3x4", "4x3", "4x5", "5x4", "1x1")
V3_RENDERING_SPEEDS = ("FLASH", "TURBO", "DEFAULT", "QUALITY")
V3_STYLE_TYPES = ("AUTO", "GENERAL", "REALISTIC", "DESIGN", "FICTION")
V3_FIELDS = ("prompt", "seed", "resolution", "aspect_ratio", "rendering_speed", "magic_prompt",
             "negative_prompt", "num_images", "color_palette", "style_codes", "style_type",
             "style_preset")
# --- Ideogram legacy: POST /generate, JSON {"image_request": {...}} ----------------------------
LEGACY_PATH = "/generate"
LEGACY_MODELS = ("V_1", "V_1_TURBO", "V_2", "V_2_TURBO", "V_2A", "V_2A_TURBO")
LEGACY_ASPECT_RATIOS = ("ASPECT_1_1", "ASPECT_16_9", "ASPECT_9_16", "ASPECT_4_3", "ASPECT_3_4",
                        "ASPECT_3_2", "ASPECT_2_3", "ASPECT_16_10", "ASPECT_10_16", "ASPECT_1_3",
                        "ASPECT_3_1")
LEGACY_STYLE_TYPES = ("AUTO", "GENERAL", "REALISTIC", "DESIGN", "RENDER_3D", "ANIME")
LEGACY_FIELDS = ("prompt", "model", "aspect_ratio", "magic_prompt_option", "seed", "style_type",
                 "negative_prompt", "num_images", "color_palette", "resolution")
# --- shared Ideogram enums ---------------------------------------------------------------------
MAGIC_PROMPT_OPTIONS = ("AUTO", "ON", "OFF")
PALETTE_PRESETS = ("EMBER", "FRESH", "JUNGLE", "MAGIC", "MELON", "MOSAIC", "PASTEL", "ULTRAMARINE")
MAX_SEED = 2147483647
MAX_IDEOGRAM_IMAGES = 8
# --- OpenAI: POST /v1/images/generations, JSON, Authorization: Bearer --------------------------
OPENAI_PATH = "/v1/images/generations"
OPENAI_SIZES = ("auto", "256x256", "512x512", "1024x1024", "1536x1024", "1024x1536", "1792x1024",
                "1024x1792")
OPENAI_FIELDS = ("model", "prompt", "n", "size", "response_format", "quality", "style", "user",
                 "background", "moderation", "output_format", "output_compression")

EPHEMERAL = re.compile(r"^/ephemeral/([0-9a-f]{32})\.png$")
MAGIC_SUFFIX = ", richly detailed, cinematic lighting, carefully composed"

DEFAULT_CONFIG: dict[str, Any] = {
    "latency": 0.0,  # seconds each generation takes (not applied to 4xx/5xx/429/dropped answers)
    "rate_limit_fraction": 0.0,  # share of valid generate calls answered 429
    "rate_limit_every": 0,  # every k-th valid generate call answered 429 (0 = off)
    "retry_after": "1",  # Retry-After header on 429: seconds or an HTTP date; null = no header
    "server_error_fraction": 0.0,  # share answered with server_error_status
    "server_error_every": 0,
    "server_error_status": 503,  # 500, 502, 503 ...
    "drop_fraction": 0.0,  # share whose connection is closed without any answer
    "drop_every": 0,
    "unsafe_image_fraction": 0.0,  # share answered 200 with is_image_safe false and no url
    "unsafe_image_every": 0,
    "unsafe_word": "UNSAFE",  # a prompt containing it is refused: Ideogram 422 / OpenAI 400
    "rng_seed": 0,  # seeds the RNG behind every *_fraction, so runs repeat exactly
    "url_ttl": 60.0,  # seconds an /ephemeral/ image link works
    "image_base_url": None,  # base of returned image links; null = this server's own URL
    "openai_response_format": "b64_json",  # what OpenAI answers when the request names none
    "extra_api_keys": [],  # other keys accepted: other accounts (stats count generations per key)
    "download_failures": 0,  # each image link answers 503 this many times before it works
}
FAULTS = ("drop", "rate_limit", "server_error")  # checked in this order; first hit wins


class _State:
    """Everything the handler threads share, behind one lock."""

    def __init__(self, api_key: str, config: dict[str, Any]):
        self.api_key = api_key
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

    def snapshot_config(self) -> dict[str, Any]:
        with self.lock:
            return dict(self.config)

    def reset_stats(self) -> None:
        with self.lock:
            self.calls = Counter()  # endpoint → calls
            self.statuses = Counter()  # "200", "429", "dropped" ...
            self.per_key: dict[tuple[str, int | None], Counter] = {}
            self.in_flight = self.max_in_flight = 0
            self.generated = self.downloads = self.expired = self.failed_downloads = 0
            self.generated_by_key: Counter = Counter()
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
                "downloads": self.downloads,
                "failed_downloads": self.failed_downloads,
                "generated_by_key": dict(self.generated_by_key),
                "expired_downloads": self.expired,
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
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


# ---------------------------------------------------------------- request validation -----------

def _int_field(value: Any, name: str, low: int, high: int, fail) -> int:
    if isinstance(value, bool):
        raise fail(f"{name} must be an integer")
    try:
        number = int(value) if isinstance(value, (int, str)) else None
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise fail(f"{name} must be an integer from {low} to {high}")
    return number


def _enum_field(value: Any, name: str, choices: tuple[str, ...], fail) -> str:
    if value not in choices:
        raise fail(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def _check_palette(palette: Any, fail) -> None:
    if not isinstance(palette, dict) or set(palette) not in ({"name"}, {"members"}):
        raise fail("color_palette must be {\"name\": PRESET} or {\"members\": [...]}")
    if "name" in palette:
        _enum_field(palette["name"], "color_palette.name", PALETTE_PRESETS, fail)
        return
    members = palette["members"]
    if not isinstance(members, list) or not members:
        raise fail("color_palette.members must be a non-empty list")
    for member in members:
        if not isinstance(member, dict) or set(member) - {"color_hex", "color_weight"}:
            raise fail("each color_palette member has color_hex and an optional color_weight")
        if not re.fullmatch(r"#[0-9A-Fa-f]{6}", str(member.get("color_hex", ""))):
            raise fail(f"color_hex must look like #CBA324; got {member.get('color_hex')!r}")
        weight = member.get("color_weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) \
                or not 0.05 <= weight <= 1.0:
            raise fail(f"color_weight must be a number from 0.05 to 1.0; got {weight!r}")


def _check_prompt(value: Any, fail) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail("prompt is required")
    return value


def parse_v3(content_type: str, body: bytes) -> dict[str, Any]:
    fail = lambda message: _ideogram_error(400, message)  # noqa: E731
    if not content_type.startswith("multipart/form-data"):
        raise fail("Content-Type must be multipart/form-data")
    environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": content_type,
               "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
    _stream, form, _files = parse_form_data(environ)
    fields = {name: values[-1] for name, values in form.to_dict(flat=False).items()}
    unknown = set(fields) - set(V3_FIELDS)
    if unknown:
        raise fail(f"unknown fields: {', '.join(sorted(unknown))}")
    _check_prompt(fields.get("prompt"), fail)
    checks = {"aspect_ratio": V3_ASPECT_RATIOS, "rendering_speed": V3_RENDERING_SPEEDS,
              "magic_prompt": MAGIC_PROMPT_OPTIONS, "style_type": V3_STYLE_TYPES}
    for name, choices in checks.items():
        if name in fields:
            _enum_field(fields[name], name, choices, fail)
    if "seed" in fields:
        _int_field(fields["seed"], "seed", 0, MAX_SEED, fail)
    if "num_images" in fields:
        _int_field(fields["num_images"], "num_images", 1, MAX_IDEOGRAM_IMAGES, fail)
    if "color_palette" in fields:
        try:
            palette = json.loads(fields["color_palette"])
        except ValueError:
            raise fail("color_palette must be a JSON object") from None
        _check_palette(palette, fail)
    return fields


def parse_legacy(content_type: str, body: bytes) -> dict[str, Any]:
    fail = lambda message: _ideogram_error(400, message)  # noqa: E731
    try:
        payload = json.loads(body)
    except ValueError:
        raise fail("body must be JSON") from None
    request = payload.get("image_request") if isinstance(payload, dict) else None
    if not isinstance(request, dict):
        raise fail("image_request is required")
    unknown = set(request) - set(LEGACY_FIELDS)
    if unknown:
        raise fail(f"unknown fields: {', '.join(sorted(unknown))}")
    _check_prompt(request.get("prompt"), fail)
    checks = {"model": LEGACY_MODELS, "aspect_ratio": LEGACY_ASPECT_RATIOS,
              "magic_prompt_option": MAGIC_PROMPT_OPTIONS, "style_type": LEGACY_STYLE_TYPES}
    for name, choices in checks.items():
        if name in request:
            _enum_field(request[name], name, choices, fail)
    for name, high in (("seed", MAX_SEED), ("num_images", MAX_IDEOGRAM_IMAGES)):
        if name in request and not isinstance(request[name], int):
            raise fail(f"{name} must be an integer")
        if name in request:
            _int_field(request[name], name, 0 if name == "seed" else 1, high, fail)
    if "color_palette" in request:
        _check_palette(request["color_palette"], fail)
    return request


def parse_openai(content_type: str, body: bytes) -> dict[str, Any]:
    fail = lambda message, param=None: _openai_error(  # noqa: E731
        400, message, "invalid_request_error", None, param)
    try:
        request = json.loads(body)
    except ValueError:
        raise fail("We could not parse the JSON body of your request.") from None
    if not isinstance(request, dict):
        raise fail("The body must be a JSON object.")
    unknown = set(request) - set(OPENAI_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise _openai_error(400, f"Unknown parameter: '{name}'.", "invalid_request_error",
                            "unknown_parameter", name)
    if not isinstance(request.get("prompt"), str) or not request["prompt"].strip():
        raise fail("Missing required parameter: 'prompt'.", "prompt")
    if "n" in request:
        _int_field(request["n"], "n", 1, 10, lambda message: fail(message, "n"))
    if "size" in request:
        _enum_field(request["size"], "size", OPENAI_SIZES, lambda message: fail(message, "size"))
    if "response_format" in request:
        _enum_field(request["response_format"], "response_format", ("url", "b64_json"),
                    lambda message: fail(message, "response_format"))
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
        match = EPHEMERAL.match(path)
        if match:
            return self._ephemeral(match[1])
        self._json(404, {"error": "Not found"})

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

    def _ephemeral(self, image_id: str) -> None:
        with self.state.lock:
            self.state.download_attempts[image_id] += 1
            failing = (self.state.download_attempts[image_id]
                       <= self.state.config["download_failures"])
            self.state.failed_downloads += failing
        if failing:
            return self._json(503, {"error": "Temporarily unavailable"})
        with self.state.lock:
            data, expires = self.state.images.get(image_id, (None, 0.0))
            fresh = data is not None and time.time() < expires
            self.state.downloads += fresh
            self.state.expired += data is not None and not fresh
        if not fresh:
            return self._json(404, {"error": "Image link expired or unknown"})
        self._send(200, data, "image/png")

    # --- generation --------------------------------------------------------------------------
    def _generate(self, endpoint: str, body: bytes) -> None:
        state = self.state
        with state.lock:
            state.calls[endpoint] += 1
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            status = self._answer(endpoint, body)
        except _Reject as reject:
            status = str(reject.status)
            self._json(reject.status, reject.body, reject.headers)
        finally:
            with state.lock:
                state.in_flight -= 1
        with state.lock:
            state.statuses[status] += 1

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
        fault = self.state.decide_fault()
        if fault == "drop":
            self._drop()
            return "dropped"
        self._raise_fault(fault, openai)
        if self.state.config["unsafe_word"] and self.state.config["unsafe_word"] in prompt:
            raise self._refusal(openai)
        time.sleep(float(self.state.config["latency"]))
        result = (self._openai_result(fields) if openai
                  else self._ideogram_result(endpoint, fields, seed, fault))
        # Count before answering: once the client has its answer, a test may reset the stats.
        with self.state.lock:
            self.state.per_key.setdefault((prompt, seed), Counter())["generated"] += 1
            self.state.generated_by_key[self._key_used()] += 1
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
            headers = {} if config["retry_after"] is None else {"Retry-After": str(config["retry_after"])}
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
        base = config["image_base_url"] or f"http://{self.headers.get('Host')}"
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
        for _ in range(int(fields.get("num_images", 1))):
            safe = fault != "unsafe_image"
            images.append({
                "url": self._store(_png(seed, used_prompt, ratio)) if safe else None,
                "prompt": used_prompt, "resolution": _resolution(ratio), "is_image_safe": safe,
                "seed": seed, "style_type": fields.get("style_type", "AUTO" if legacy else "GENERAL"),
            })
        with self.state.lock:
            self.state.generated += len(images)
        return {"created": dt.datetime.now(dt.timezone.utc).isoformat(), "data": images}

    def _openai_result(self, fields: dict[str, Any]) -> dict[str, Any]:
        size = fields.get("size", "1024x1024")
        ratio = _ratio(size if size != "auto" else "1x1")
        response_format = fields.get("response_format") or self.state.config["openai_response_format"]
        data = []
        for index in range(int(fields.get("n", 1))):
            png = _png(index, fields["prompt"], ratio)
            item = ({"url": self._store(png)} if response_format == "url"
                    else {"b64_json": base64.b64encode(png).decode()})
            if fields.get("model") == "dall-e-3":  # only dall-e-3 rewrites prompts
                item["revised_prompt"] = _magic(fields["prompt"], "ON")
            data.append(item)
        with self.state.lock:
            self.state.generated += len(data)
        return {"created": int(time.time()), "data": data}


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a slow fake request never blocks shutdown
    request_queue_size = 512  # many concurrent workers connect at once
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout tests, killed workers) is normal here, not a failure.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class FakeImageAPI:
    """The fake as a context manager: `with FakeImageAPI() as fake: fake.url, fake.api_key`."""

    def __init__(self, api_key: str = "fake-ideogram-key-1234", host: str = "127.0.0.1",
                 port: int = 0, **config: Any):
        self.api_key = api_key
        self._state = _State(api_key, config)
        handler = type("Handler", (_Handler,), {"state": self._state})
        self._server = _Server((host, port), handler)
        self.host, self.port = self._server.server_address[:2]
        self.url = f"http://{self.host}:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> "FakeImageAPI":
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="fake-image-api")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

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
    print(json.dumps({"url": fake.url, "api_key": fake.api_key}), flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    fake.stop()


if __name__ == "__main__":
    main()
