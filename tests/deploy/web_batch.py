"""Driving a deployment from outside, as a person and an operator would: wait for /api/ready,
upload a file through the upload page's form posts, start it, and follow it through /api."""
from __future__ import annotations

from pathlib import Path

import httpx

from testkit.processes import wait_for

FINISHED = ("completed", "completed_with_errors", "failed", "stopped")


def ready(url: str, workers: int = 1) -> dict | None:
    """/api/ready's answer once it is ready with at least `workers` workers, else None."""
    try:
        answer = httpx.get(f"{url}/api/ready", timeout=5)
    except httpx.HTTPError:
        return None
    report = answer.json() if answer.headers.get("content-type") == "application/json" else {}
    if answer.status_code == 200 and report["checks"]["workers"]["count"] >= workers:
        return report
    return None


def wait_ready(url: str, workers: int = 1, timeout: float = 90) -> dict:
    return wait_for(lambda: ready(url, workers), timeout=timeout,
                    what=f"{url}/api/ready with {workers} worker(s)")


def start_upload_batch(url: str, google, email: str, file: Path, provider: str) -> str:
    """Upload `file` through the signed upload page and start it; returns the batch id."""
    auth = {"Authorization": f"Bearer {google.identity_token(email)}"}
    link = httpx.post(f"{url}/api/upload-link", headers=auth, timeout=10).json()["url"]
    checked = httpx.post(link, data={"provider": provider},
                         files={"file": (file.name, file.read_bytes())}, timeout=30)
    assert checked.status_code == 200, checked.text
    upload_id = checked.text.split('name="upload_id" value="')[1].split('"')[0]
    started = httpx.post(f"{link}/start", data={"upload_id": upload_id, "provider": provider},
                         timeout=30)
    assert started.status_code == 303, started.text
    [batch] = httpx.get(f"{url}/api/batches", headers=auth, timeout=10).json()["batches"]
    return batch["id"]


def wait_finished(url: str, google, email: str, batch_id: str, timeout: float = 120) -> dict:
    auth = {"Authorization": f"Bearer {google.identity_token(email)}"}

    def finished():
        status = httpx.get(f"{url}/api/batches/{batch_id}", headers=auth, timeout=10).json()
        return status if status["status"] in FINISHED else None

    return wait_for(finished, timeout=timeout, interval=0.5, what=f"batch {batch_id} to finish")
