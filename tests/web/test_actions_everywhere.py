"""The three surfaces offer the same actions for the same batch state: the API's answer (and
what it refuses), the web's batch list, and the add-in's sidebar (the real Sidebar.html in
jsdom, fed the API's own answers), for a batch in every state the status rules know."""
from __future__ import annotations

import json
import re
import subprocess

import pytest

from server.batches.store import Batches
from server.sheet.request import ImageRequest
from server.sheet.statuses import BatchStatus, RowStatus
from server.web.signin import LOCAL_PERSON
from testkit import ROOT
from testkit.clients import addin_headers

LOCAL = {"REMOTE_ADDR": "127.0.0.1"}
SIDEBAR_HAS = {"stop", "resume", "retry", "download"}  # it deletes nothing

# What each state allows: the rule, written out once more as the person expects it.
EXPECTED = {
    "queued": {"stop"},
    "running": {"stop"},
    "stopping": {"download"},
    "stopped": {"resume", "download", "delete"},
    "paused": {"resume", "delete"},
    "completed": {"download", "delete"},
    "completed_with_errors": {"retry", "download", "delete"},
    "failed": {"retry", "delete"},
}


def made(batches: Batches, batch_id: str, row: int, index: int, state: str) -> None:
    assert batches.claim(batch_id, row, index, "test") == "ok"
    result = ({"name": f"{row:04d}-{index}.png"} if state == RowStatus.DONE
              else {"error": "The provider refused this prompt."})
    assert batches.settle(batch_id, row, index, "test", state, result)


def batch_in(batches: Batches, state: str) -> str:
    """A batch of two one-image rows, brought to `state` the way workers and people do."""
    requests = {row: ImageRequest(prompt=f"a kite {row}", visibility="private", num_images=1)
                for row in (2, 3)}
    batch_id = batches.create(requests, owner=LOCAL_PERSON, provider="preview",
                              account="preview-account", title=f"{state}.csv")
    if state == "running":
        batches.claim(batch_id, 2, 1, "worker")
    elif state == "stopping":
        made(batches, batch_id, 3, 1, RowStatus.DONE)
        batches.claim(batch_id, 2, 1, "worker")
        batches.stop(batch_id)
    elif state == "stopped":
        made(batches, batch_id, 2, 1, RowStatus.DONE)
        batches.stop(batch_id)
    elif state == "paused":
        batches.pause(batch_id, "The provider account cannot pay.")
    elif state != "queued":
        second = {"completed": RowStatus.DONE, "completed_with_errors": RowStatus.FAILED,
                  "failed": RowStatus.FAILED}[state]
        made(batches, batch_id, 2, 1, RowStatus.FAILED if state == "failed" else RowStatus.DONE)
        made(batches, batch_id, 3, 1, second)
    return batch_id


@pytest.fixture
def surfaces(app_for, google):
    """The add-in's API (Google tokens) and the single-user web pages, on one Redis."""
    api = app_for(**google.sign_in_settings()).test_client()
    pages = app_for(google_client_ids=()).test_client()
    return api, pages, addin_headers(google, LOCAL_PERSON)


def web_actions(page: str, batch_id: str) -> set[str]:
    keys = re.findall(rf'data-key="(stop|resume|retry|zip|delete)-{batch_id}"', page)
    return {"download" if key == "zip" else key for key in keys}


def sidebar_actions(config: dict, answers: list[dict]) -> dict[str, set[str]]:
    shown = subprocess.run(["node", "tests/shown_actions.js"], cwd=ROOT / "appsscript",
                           input=json.dumps({"config": config, "batches": answers}),
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    return {batch_id: set(actions) for batch_id, actions in json.loads(shown.stdout).items()}


@pytest.mark.processes
def test_every_state_offers_the_same_actions_on_every_surface(surfaces, redis_conn):
    api, pages, headers = surfaces
    batches = Batches(redis_conn)
    ids = {state: batch_in(batches, state) for state in EXPECTED}
    answers = {state: api.get(f"/api/batches/{batch_id}/progress", headers=headers).get_json()
               for state, batch_id in ids.items()}
    assert {answers[state]["status"] for state in EXPECTED} == set(BatchStatus)
    page = pages.get("/batches/list", environ_base=LOCAL).get_data(as_text=True)
    config = api.get("/api/config", headers=headers).get_json()
    sidebar = sidebar_actions(config, list(answers.values()))
    for state, batch_id in ids.items():
        offered = set(answers[state]["actions"])
        assert offered == EXPECTED[state], state
        assert set(api.get(f"/api/batches/{batch_id}", headers=headers).get_json()["actions"]) \
            == offered, state
        assert web_actions(page, batch_id) == offered, state
        assert sidebar[batch_id] == offered & SIDEBAR_HAS, state


@pytest.mark.processes
def test_the_api_refuses_what_the_state_does_not_allow_and_changes_nothing(surfaces, redis_conn):
    api, _, headers = surfaces
    batches = Batches(redis_conn)
    for state in EXPECTED:
        batch_id = batch_in(batches, state)
        before = batches.status(batch_id).as_dict()
        for action in {"stop", "resume", "retry"} - EXPECTED[state]:
            response = api.post(f"/api/batches/{batch_id}/{action}", headers=headers)
            if action == "stop" and state in ("stopping", "stopped", "paused"):
                assert response.status_code == 200, (state, action)  # a second Stop: no change
            else:
                assert response.status_code == 409, (state, action, response.get_json())
                assert response.get_json()["error"] == "not_allowed"
            assert batches.status(batch_id).as_dict() == before, (state, action)


@pytest.mark.processes
def test_the_web_refuses_what_the_state_does_not_allow_with_a_reason(surfaces, redis_conn):
    _, pages, _ = surfaces
    batches = Batches(redis_conn)
    batch_id = batch_in(batches, "completed")
    page = pages.get("/", environ_base=LOCAL).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = pages.post(f"/batches/{batch_id}/resume", data={"csrf_token": token},
                          environ_base=LOCAL, follow_redirects=True)
    assert "This batch has nothing to resume" in response.get_data(as_text=True)
    assert batches.status(batch_id).status == BatchStatus.COMPLETED
