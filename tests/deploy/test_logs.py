"""The JSON log line: context on every line, extras kept, secrets and Redis passwords never."""
from __future__ import annotations

import contextvars
import io
import json
import logging

from server import logs
from server.config import Settings

SETTINGS = Settings(ideogram_api_key="ideo-key-123456", secret_key="signing-secret-987",
                    redis_url="redis://:hunter2pass@10.0.0.5:6379/0")


def logged(*messages, **context) -> list[dict]:
    """The lines logged, in a context of their own (what earlier tests bound is not seen)."""
    return contextvars.Context().run(_logged, messages, context)


def _logged(messages, context) -> list[dict]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter(SETTINGS))
    logger = logging.getLogger("tests.deploy.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with logs.scope(**context):
            for message, args, extra in messages:
                logger.info(message, *args, extra=extra)
    finally:
        logger.removeHandler(handler)
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_every_line_carries_the_context_fields():
    [bare] = logged(("started", (), {}))
    assert {k: bare[k] for k in logs.CONTEXT_FIELDS} == dict.fromkeys(logs.CONTEXT_FIELDS)
    [line] = logged(("image %s: %s", ("b1", "done"), {"row": 2}), request_id="r1",
                    user="alice@example.com", batch_id="b1")
    assert line["message"] == "image b1: done" and line["row"] == 2
    assert (line["request_id"], line["user"], line["batch_id"]) == ("r1", "alice@example.com", "b1")
    assert line["level"] == "info" and line["time"].endswith("Z")


def test_secrets_never_reach_a_line():
    lines = logged(("calling with %s", (SETTINGS.ideogram_api_key,), {}),
                   ("signed with", (), {"key": SETTINGS.secret_key}),
                   ("redis at %s", (SETTINGS.redis_url,), {}))
    text = json.dumps(lines)
    for secret in ("ideo-key-123456", "signing-secret-987", "hunter2pass"):
        assert secret not in text
    assert logs.REDACTED in lines[0]["message"] and lines[1]["key"] == logs.REDACTED


def test_safe_url_hides_only_the_password():
    assert logs.safe_url("redis://:hunter2pass@10.0.0.5:6379/0") == \
        "redis://:[redacted]@10.0.0.5:6379/0"
    assert logs.safe_url("redis://app:pw@redis:6379/1") == "redis://app:[redacted]@redis:6379/1"
    assert logs.safe_url("unix:///data/redis.sock") == "unix:///data/redis.sock"
