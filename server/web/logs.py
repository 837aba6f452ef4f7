"""Nothing that grants access reaches a log: signed links (they are bearer credentials),
Google tokens, provider keys. Every log record made in the process is scrubbed as it is created,
its traceback included, whichever library logs it (Flask's "Exception on /upload/<token>",
gunicorn's "Error handling request", an HTTP library's error naming a URL with a token in it)."""
from __future__ import annotations

import logging
import re
import traceback

from server.generation.providers._http import redact
from server.links import SIGNED_PATH

BEARER = re.compile(r"(?i)\bbearer\s+[^\s\"',]+")
JWT = re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]*")
GOOGLE_TOKEN = re.compile(r"\bya29\.[\w.-]+")
SECRET_PARAMETER = re.compile(r"(?i)\b(access_token|id_token|token|assertion|key|api[-_]?key)="
                              r"[^&\s\"']+")


def scrub(text: str, *secrets: str | None) -> str:
    text = SIGNED_PATH.sub(r"/\1/[signed]", text)
    text = BEARER.sub("Bearer [redacted]", text)
    text = JWT.sub("[token]", text)
    text = GOOGLE_TOKEN.sub("[token]", text)
    text = SECRET_PARAMETER.sub(r"\1=[redacted]", text)
    return redact(text, *secrets)


def install(*secrets: str | None) -> None:
    """Scrub every log record made from now on in this process (idempotent)."""
    make = logging.getLogRecordFactory()
    if getattr(make, "scrubs", False):
        return

    def scrubbed_record(*args, **kwargs) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            record.msg, record.args = scrub(record.getMessage(), *secrets), None
        except (TypeError, ValueError):  # arguments that do not fit: scrub what is there
            record.msg, record.args = scrub(f"{record.msg} {record.args}", *secrets), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = scrub("".join(traceback.format_exception(*record.exc_info)).rstrip(),
                                    *secrets)
        return record
    scrubbed_record.scrubs = True
    logging.setLogRecordFactory(scrubbed_record)
