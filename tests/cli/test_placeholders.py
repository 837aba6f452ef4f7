"""Placeholders as a person meets them: `validate --json` and a paid run against the image-API
fake, both through the installed `sheetbatch` command."""
from __future__ import annotations

import json

import pytest

from testkit.sheet_files import write_csv
from tests.cli.test_run import paid_run, results_sheet
from tests.cli.test_validate import run as sheetbatch

pytestmark = pytest.mark.processes

ANIMALS = [["prompt", "visibility", "model", "num_images", "animal", "hat"],
           ["a sticker of a {animal} wearing a {hat}", "private", "3.0", 1, "fox", "top hat"],
           ["a sticker of a {animal} wearing a {hat}", "private", "3.0", 1, "owl", "beret"]]


def test_validate_json_shows_the_filled_first_row(tmp_path):
    result = sheetbatch("validate", write_csv(tmp_path / "animals.csv", ANIMALS), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["first_row"]["prompt"] == "a sticker of a fox wearing a top hat"
    assert data["warnings"] == []  # animal and hat are used, so not "not one we use"


def test_a_placeholder_naming_no_column_is_an_error_on_its_cell(tmp_path):
    table = [ANIMALS[0], ["a {colour} {animal}", "private", "3.0", 1, "fox", "cap"]]
    result = sheetbatch("validate", write_csv(tmp_path / "colour.csv", table), "--json")
    assert result.returncode == 1
    [error] = json.loads(result.stdout)["errors"]
    assert (error["cell"], error["column"]) == ("A2", "prompt")
    assert '"colour"' in error["message"]
    [warning] = json.loads(result.stdout)["warnings"]  # hat is used by no placeholder
    assert warning["column"] == "hat" and "not one we use" in warning["message"]


def test_the_image_api_receives_the_filled_prompt(worker_env, image_api, tmp_path):
    sheet, out = write_csv(tmp_path / "animals.csv", ANIMALS), tmp_path / "out"
    result = paid_run(sheet, out, worker_env, "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    sent = sorted(request["fields"]["prompt"] for request in image_api.requests())
    assert sent == ["a sticker of a fox wearing a top hat", "a sticker of a owl wearing a beret"]
    sheet = results_sheet(out, "animals")
    header = [cell.value for cell in sheet[1]]
    used = [row[header.index("used_prompt")]
            for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert all(used.startswith(prompt) for used, prompt in zip(sorted(used), sent))  # + magic
