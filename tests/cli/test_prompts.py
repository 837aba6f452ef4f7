"""`sheetbatch prompts` as a person runs it (a subprocess) against the strict chat fake."""
from __future__ import annotations

import os

import openpyxl
import pytest

from tests.cli.test_validate import run as sheetbatch

pytestmark = pytest.mark.processes

SETTINGS = ["--set", "aspect_ratio=1:1", "--set", "style=design", "--set", "model=3.0"]


def chat_env(chat_api):
    return {"OPENAI_API_KEY": chat_api.api_key, "OPENAI_BASE_URL": chat_api.url,
            "SHEETBATCH_PROVIDER": "ideogram", "IDEOGRAM_API_KEY": "unused-here"}


@pytest.mark.parametrize("name", ["x.csv", "x.xlsx"])
def test_twelve_rows_that_validate_in_one_request(chat_api, tmp_path, name):
    out = tmp_path / name
    result = sheetbatch("prompts", "--goal", "Christmas sticker designs for kids.", "--rows", "12",
                        *SETTINGS, "--example", "A sticker design of a fox curled up asleep.",
                        "-o", out, env=chat_env(chat_api))
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(chat_api.requests()) == 1
    assert "Asking gpt-5-mini for 12 rows in 1 request(s): about" in result.stdout
    assert "input +" in result.stdout and "output tokens, $0.0" in result.stdout
    validated = sheetbatch("validate", out, env=chat_env(chat_api))
    assert validated.returncode == 0, validated.stdout
    assert "12 rows" in validated.stdout


def test_rows_still_failing_print_the_validation_table_and_exit_1(chat_api, tmp_path):
    chat_api.configure(blank_prompts=100)
    result = sheetbatch("prompts", "--goal", "Owls.", "--rows", "3", *SETTINGS,
                        "-o", tmp_path / "owls.csv", env=chat_env(chat_api))
    assert result.returncode == 1
    assert "3 row(s) asked for again" in result.stdout
    assert "The prompt is empty" in result.stdout and "A4" in result.stdout
    assert (tmp_path / "owls.csv").exists()


def test_without_a_key_it_says_what_to_set(tmp_path):
    env = {"OPENAI_API_KEY": "", "PATH": os.environ["PATH"]}
    result = sheetbatch("prompts", "--goal", "Owls.", "--rows", "3", "-o", tmp_path / "o.csv",
                        env=env)
    assert result.returncode == 2 and not (tmp_path / "o.csv").exists()
    assert "OPENAI_API_KEY" in result.stderr and "Traceback" not in result.stderr


def test_a_wrong_setting_is_refused_before_any_request(chat_api, tmp_path):
    result = sheetbatch("prompts", "--goal", "Owls.", "--rows", "3", "--set", "colour=red",
                        "-o", tmp_path / "o.xlsx", env=chat_env(chat_api))
    assert result.returncode == 2 and '"colour" is not a column' in result.stderr
    assert "Asking" not in result.stdout
    assert chat_api.requests() == [] and "Traceback" not in result.stderr


def test_the_written_workbook_keeps_its_columns_as_text(chat_api, tmp_path):
    out = tmp_path / "x.xlsx"
    sheetbatch("prompts", "--goal", "Owls.", "--rows", "2", *SETTINGS, "-o", out,
               env=chat_env(chat_api))
    sheet = openpyxl.load_workbook(out).active
    header = [cell.value for cell in sheet[1]]
    assert sheet.cell(2, header.index("model") + 1).value == "3.0"  # text, not the number 3
