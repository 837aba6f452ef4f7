"""Uploads cannot fill the disk and one person's burst cannot take every thread (issue 10,
finding 3), through the Flask app on the embedded Redis."""
from __future__ import annotations

import io
import os
import threading
import time

import pytest

from server.uploads.store import (
    KEEP_SECONDS,
    MAX_PENDING_UPLOADS,
    MAX_UPLOADS_PER_HOUR,
    turn_of,
)
from server.web import limits
from testkit import ROOT

ALICE = "alice@example.com"
GOOD = (ROOT / "examples" / "stickers.csv").read_bytes()
BAD = b"prompt,visibility\na fox,secret\n"


@pytest.fixture
def uploads_folder(app):
    return app.extensions["sheetbatch"].uploads.folder


@pytest.fixture
def upload(app):
    client = app.test_client()
    page = f"/upload/{app.extensions['sheetbatch'].signer.upload_token(ALICE)}"

    def send(data: bytes, name: str = "sheet.csv"):
        return client.post(page, data={"file": (io.BytesIO(data), name), "provider": "preview"})
    send.start = lambda upload_id: client.post(f"{page}/start", data={
        "upload_id": upload_id, "provider": "preview"})
    return send


def upload_id_of(response) -> str:
    return response.get_data(as_text=True).split('name="upload_id" value="')[1].split('"')[0]


def kept(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_a_file_that_cannot_be_read_is_deleted_once_checked(upload, uploads_folder):
    assert upload(b"\x00\x01 not a table", "x.csv").status_code == 400
    assert kept(uploads_folder) == []


def test_a_file_with_problems_is_kept_only_for_the_short_keep_time(upload, uploads_folder):
    # Kept so that its problems and marked copy can be shown; swept like any other upload.
    with_problems = upload_id_of(upload(BAD))
    assert kept(uploads_folder) == [with_problems]
    old = time.time() - KEEP_SECONDS - 1
    os.utime(uploads_folder / with_problems, (old, old))
    fresh = upload_id_of(upload(GOOD))
    assert kept(uploads_folder) == [fresh]


def test_a_good_file_is_kept_until_its_batch_starts(upload, uploads_folder):
    upload_id = upload_id_of(upload(GOOD))
    assert kept(uploads_folder) == [upload_id]
    assert upload.start(upload_id).status_code == 303
    assert kept(uploads_folder) == []


def test_uploads_left_over_are_swept_after_a_short_time(upload, uploads_folder):
    forgotten = upload_id_of(upload(GOOD))
    old = time.time() - KEEP_SECONDS - 1
    os.utime(uploads_folder / forgotten, (old, old))
    fresh = upload_id_of(upload(GOOD))
    assert kept(uploads_folder) == [fresh]


def test_a_person_keeps_a_few_uploads_at_most(upload, uploads_folder):
    ids = [upload_id_of(upload(GOOD)) for _ in range(MAX_PENDING_UPLOADS + 2)]
    assert kept(uploads_folder) == sorted(ids[-MAX_PENDING_UPLOADS:])
    assert upload.start(ids[0]).status_code == 404  # the oldest went


def test_a_person_uploads_a_limited_number_of_files_an_hour(upload):
    for _ in range(MAX_UPLOADS_PER_HOUR):
        assert upload(BAD).status_code == 200
    refused = upload(BAD)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert "try again in" in refused.get_data(as_text=True)


def test_a_300_character_file_name_is_fine(upload, uploads_folder):
    response = upload(GOOD, "n" * 300 + ".csv")
    assert response.status_code == 200
    assert len(os.listdir(uploads_folder / upload_id_of(response))[0]) <= 104


def test_one_person_has_a_few_requests_in_progress_at_most(app, google, redis_conn):
    client = app.test_client()
    alice = {"Authorization": f"Bearer {google.identity_token(ALICE)}"}
    running = [limits.enter(redis_conn, ALICE) for _ in range(limits.MAX_REQUESTS_IN_PROGRESS)]
    refused = client.get("/api/batches", headers=alice)
    assert refused.status_code == 429 and refused.get_json()["error"] == "busy"
    assert refused.headers["Retry-After"]
    bob = {"Authorization": f"Bearer {google.identity_token('bob@example.com')}"}
    assert client.get("/api/batches", headers=bob).status_code == 200  # others are not slowed
    limits.leave(redis_conn, ALICE, running.pop())
    assert client.get("/api/batches", headers=alice).status_code == 200
    assert client.get("/api/batches", headers=alice).status_code == 200  # each request left


def test_one_persons_checks_queue_behind_their_own_not_everyones(app):
    """While Alice's file is being checked (her turn held, as a slow file would hold it), Bob's
    upload is checked at once; Alice's next waits for her turn and is then checked too."""
    signer = app.extensions["sheetbatch"].signer
    client = app.test_client()

    def send(person: str):
        page = f"/upload/{signer.upload_token(person)}"
        return client.post(page, data={"file": (io.BytesIO(GOOD), "s.csv"), "provider": "preview"})
    holding, release = threading.Event(), threading.Event()

    def alice_slow_check():
        with turn_of(ALICE):
            holding.set()
            release.wait(timeout=60)
    holder = threading.Thread(target=alice_slow_check)
    holder.start()
    holding.wait(timeout=10)
    waiting = {}
    alice = threading.Thread(target=lambda: waiting.setdefault("response", send(ALICE)))
    alice.start()
    try:
        assert send("bob@example.com").status_code == 200
        assert alice.is_alive()  # still waiting for her own turn
    finally:
        release.set()
        holder.join(timeout=10)
    alice.join(timeout=30)
    assert waiting["response"].status_code == 200


def test_many_uploads_by_one_person_at_once_never_answer_5xx(app):
    """Issue 23: an upload set aside by the same person's newer ones (more than
    MAX_PENDING_UPLOADS at once) used to answer 500; now it says so."""
    page = f"/upload/{app.extensions['sheetbatch'].signer.upload_token(ALICE)}"
    answers = []

    def send():
        client = app.test_client()
        answers.append(client.post(page, data={"file": (io.BytesIO(GOOD), "s.csv"),
                                               "provider": "preview"}))
    senders = [threading.Thread(target=send) for _ in range(2 * MAX_PENDING_UPLOADS)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(timeout=120)
    assert len(answers) == 2 * MAX_PENDING_UPLOADS
    assert all(answer.status_code in (200, 400) for answer in answers), [
        (answer.status_code, answer.get_data(as_text=True)[-300:]) for answer in answers
        if answer.status_code not in (200, 400)]
    assert all("set aside" in answer.get_data(as_text=True)
               for answer in answers if answer.status_code == 400)
