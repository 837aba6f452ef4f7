"""The sidebar's "Write prompts" step through /api/prompts (Flask's test client, real Redis, the
Google token fake, the Sheets emulator and the chat fake over HTTP): rows go below the last
filled row, no filled cell changes, the sheet is validated in place."""
from __future__ import annotations

import pytest

from server.sheet.template import FULL_COLUMNS
from testkit.clients import addin_headers, gspread_client

ALICE = "alice@example.com"
FIXED = {"aspect_ratio": "1:1", "model": "3.0", "style": "design"}


@pytest.fixture
def app_settings(emulator, chat_api) -> dict:
    """Sheets at the emulator, and a chat model to write the prompts."""
    return {"google_api_url": emulator.url, "openai_api_key": chat_api.api_key,
            "openai_base_url": chat_api.url}


@pytest.fixture
def alice(google) -> dict:
    return addin_headers(google, ALICE)


@pytest.fixture
def new_sheet(emulator, alice):
    gc = gspread_client(emulator, alice["X-Google-Access-Token"])

    def make(rows, grid_rows=None):
        ws = gc.create("prompts").sheet1
        if grid_rows:
            ws.resize(rows=grid_rows)
        if rows:
            ws.update(rows, "A1", value_input_option="RAW")
        return ws
    return make


def ask(client, alice, ws, rows=5, **changes):
    body = {"spreadsheet_id": ws.spreadsheet.id, "sheet_id": ws.id, "provider": "preview",
            "goal": "Christmas sticker designs for kids.", "rows": rows,
            "examples": ["A sticker design of a sleepy owl."], "settings": FIXED} | changes
    return client.post("/api/prompts", headers=alice, json=body)


FILLED = [["prompt", "visibility", "aspect_ratio", "model", "style", "notes"],
          ["a kite", "private", "16:9", "2.0", "", "mine"],
          ["", "", "", "", "", ""],
          ["a boat", "public", "", "", "", ""],
          ["", "", "", "", "", "keep me"]]  # row 5: only a note of the person's, far right


def test_rows_go_below_the_last_filled_row_and_no_filled_cell_changes(client, alice, new_sheet,
                                                                      chat_api):
    ws = new_sheet(FILLED, grid_rows=7)  # too small for 5 more rows: the grid grows
    before = ws.get_all_values()
    answer = ask(client, alice, ws)
    assert answer.status_code == 200, answer.get_json()
    data = answer.get_json()
    assert data["written"] | {"summary": None} == data["written"] | {
        "rows": 5, "first_row": 6, "last_row": 10, "requests": 1, "summary": None}
    after = ws.get_all_values()
    for r, row in enumerate(before):
        assert after[r][:len(row)] == row, f"row {r + 1} changed"
    header = after[0]
    new = [dict(zip(header, row)) for row in after[5:10]]
    assert all("Christmas sticker designs" in row["prompt"] for row in new)
    assert {(row["visibility"], row["model"], row["style"], row["notes"]) for row in new} == {
        ("private", "3.0", "design", "")}
    # Validated in place: the whole sheet, old rows and new (row 5 was the person's, unfinished).
    assert data["rows"] == 8 and [e["cell"] for e in data["errors"]] == ["A5", "B5"]
    [sent] = chat_api.requests()
    row_schema = sent["response_format"]["json_schema"]["schema"]["properties"]["rows"]["items"]
    assert set(row_schema["properties"]) == {"prompt"}  # the sheet has no other column to fill


def test_columns_the_rows_need_are_added_in_empty_header_cells(client, alice, new_sheet):
    ws = new_sheet([["prompt", "visibility"], ["a kite", "private"]])
    assert ask(client, alice, ws, rows=2).status_code == 200
    values = ws.get_all_values()
    assert values[0] == ["prompt", "visibility", "aspect_ratio", "model", "style"]
    assert values[1][:2] == ["a kite", "private"] and values[1][2:] == ["", "", ""]
    assert values[2][2:] == ["1:1", "3.0", "design"]


def test_an_empty_sheet_gets_the_templates_header(client, alice, new_sheet):
    ws = new_sheet([])
    answer = ask(client, alice, ws, rows=3, settings={})
    assert answer.status_code == 200, answer.get_json()
    values = ws.get_all_values()
    assert values[0] == list(FULL_COLUMNS) and len(values) == 4
    assert answer.get_json()["rows"] == 3


def test_a_full_sheet_is_refused_before_the_model_is_asked(client, alice, new_sheet, chat_api):
    ws = new_sheet([["prompt", "visibility"]] + [[f"p{i}", "private"] for i in range(495)])
    answer = ask(client, alice, ws, rows=10)
    assert answer.status_code == 400 and "room for 4 more" in answer.get_json()["message"]
    assert chat_api.requests() == []


def test_more_than_a_call_takes_is_400(client, alice, new_sheet):
    ws = new_sheet([["prompt", "visibility"]])
    assert ask(client, alice, ws, rows=11).status_code == 400


def test_without_a_key_the_answer_says_what_to_set(app_for, google, emulator, alice, new_sheet):
    client = app_for(**google.sign_in_settings(), google_api_url=emulator.url).test_client()
    prompts = client.get("/api/config", headers=alice).get_json()["prompts"]
    assert prompts["ready"] is False and "OPENAI_API_KEY" in prompts["missing"]
    assert prompts["per_call"].startswith("about ") and "tokens, about $" in prompts["per_call"]
    answer = ask(client, alice, new_sheet([["prompt", "visibility"]]))
    assert answer.status_code == 502 and "OPENAI_API_KEY" in answer.get_json()["message"]
