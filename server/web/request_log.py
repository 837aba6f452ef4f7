"""One log line per request, and a request id on every line logged while it is served.

The id comes from the proxy's `X-Request-Id` when it sends a sane one (so its log and ours
join), else a new one; it goes back in the answer's `X-Request-Id`. The line names the route,
never the path: download, image and upload paths carry their signature.
"""
from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, g, request

from server import logs

log = logging.getLogger("sheetbatch.request")
SANE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def install(app: Flask) -> None:
    app.before_request(_begin)
    app.after_request(_end)
    app.teardown_request(lambda _error: logs.clear())


def _begin() -> None:
    given = request.headers.get("X-Request-Id", "")
    g.request_id = given if SANE_ID.fullmatch(given) else uuid.uuid4().hex
    g.request_started = time.monotonic()
    logs.clear()
    logs.bind(request_id=g.request_id)


def _end(response):
    response.headers["X-Request-Id"] = g.get("request_id", "")
    started = g.get("request_started")
    log.info("%s %s %s", request.method, request.url_rule or "(no route)", response.status_code,
             extra={"method": request.method, "route": str(request.url_rule or ""),
                    "status": response.status_code,
                    "ms": round((time.monotonic() - started) * 1000, 1) if started else None})
    return response
