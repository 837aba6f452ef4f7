"""Structured logs: one JSON object a line on stderr, each carrying the request id, the person
and the batch it is about (null when there is none), and never a secret.

The context lives in a contextvar, so each gunicorn thread and each RQ job has its own:
`bind(user=…)` adds to it, `scope(…)` adds for the length of a block.
"""
from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from contextlib import contextmanager
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

from server.config import Settings
from server.providers import api_keys

CONTEXT_FIELDS = ("request_id", "user", "batch_id")
_context: contextvars.ContextVar[dict] = contextvars.ContextVar("sheetbatch_log_context",
                                                                 default={})
# What every LogRecord has; anything else on a record came from `extra=` and is logged too.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
REDACTED = "[redacted]"


def bind(**fields) -> None:
    """Add fields to this thread's (or job's) log context."""
    _context.set({**_context.get(), **fields})


def clear() -> None:
    _context.set({})


@contextmanager
def scope(**fields) -> Iterator[None]:
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object a line; any configured secret is replaced wherever it appears in it (a
    last line of defence: nothing should log one in the first place)."""

    def __init__(self, settings: Settings | None = None):
        super().__init__()
        settings = settings or Settings.from_env()
        self.secrets = [value for value in (*api_keys(settings), settings.secret_key,
                                            _password(settings.redis_url))
                        if value and len(value) >= 4]

    def format(self, record: logging.LogRecord) -> str:
        context = _context.get()
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                 + f".{int(record.msecs):03d}Z",
                 "level": record.levelname.lower(), "logger": record.name,
                 "message": record.getMessage(),
                 **{name: context.get(name) for name in CONTEXT_FIELDS}}
        entry.update({key: value for key, value in vars(record).items()
                      if key not in _STANDARD and key not in entry})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        line = json.dumps(entry, default=str, ensure_ascii=False)
        for secret in self.secrets:
            line = line.replace(secret, REDACTED)
        return line


def handler_config(settings: Settings) -> dict:
    """A `logging.config.dictConfig` for every process (gunicorn reads it too)."""
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter, "settings": settings}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": sys.stderr,
                                "formatter": "json"}},
        "root": {"level": settings.log_level, "handlers": ["stderr"]},
        # gunicorn's errors go through ours; its access lines would carry the signed paths of
        # download and image links, so they go nowhere (web/request_log.py logs each request).
        "loggers": {"gunicorn.error": {"handlers": [], "propagate": True},
                    "gunicorn.access": {"handlers": [], "propagate": False}},
    }


def setup(settings: Settings) -> None:
    import logging.config
    logging.config.dictConfig(handler_config(settings))


def _password(url: str | None) -> str | None:
    return urlsplit(url).password if url else None


def safe_url(url: str | None) -> str | None:
    """The URL with any password replaced, fit for a log or a start-up line."""
    if not url or not _password(url):
        return url
    parts = urlsplit(url)
    user = f"{parts.username}:" if parts.username else ":"
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=f"{user}{REDACTED}@{host}"))
