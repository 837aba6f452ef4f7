"""Is this deployment ready to take a batch? Redis answers, image storage takes a write, and at
least one worker is alive — RQ keeps a worker registered only while it heartbeats (every
`workers.start.WORKER_TTL - 15` s when idle), so a registered worker is one seen recently."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from rq import Worker

from server.services import Services
from server.storage import make_storage
from server.version import package_version

log = logging.getLogger(__name__)


def readiness(services: Services) -> dict:
    checks = {"redis": _check(_redis, services), "storage": _check(_storage, services),
              "workers": _check(_workers, services)}
    return {"ok": all(check["ok"] for check in checks.values()), "version": package_version(),
            "commit": services.settings.commit or "unknown", "checks": checks}


def _check(probe, services: Services) -> dict:
    try:
        return {"ok": True, **probe(services)}
    except Exception as error:  # any failure means "not ready"; the log says why, not the page
        log.warning("readiness: %s failed: %s", probe.__name__.strip("_"), error)
        return {"ok": False}


def _redis(services: Services) -> dict:
    services.redis.ping()
    return {}


def _storage(services: Services) -> dict:
    storage = make_storage(services.settings)
    storage.check_writable()
    return {"kind": "s3" if services.settings.s3_bucket else "local"}


def _workers(services: Services) -> dict:
    workers = Worker.all(connection=services.redis)
    if not workers:
        raise RuntimeError("no worker has registered with Redis recently")
    newest = max(worker.last_heartbeat or worker.birth_date for worker in workers)
    age = (datetime.now(timezone.utc) - newest).total_seconds()
    return {"count": len(workers), "last_seen_seconds": round(age, 1)}
