"""Hostile files are refused before they cost memory or CPU (issue 10, finding 2), through the
readers the command line and the web page share, and through the upload page itself.

The corpus is generated (testkit/hostile_files.py), scaled down to just past each limit;
bench/hostile_uploads.py uploads the full-size shapes to `sheetbatch serve` and measures memory.
"""
from __future__ import annotations

import re

import pytest

from server.config import Settings
from server.files import UnreadableFile, read_file
from server.files.check import check_file
from server.files.child import read_in_child
from server.money.prices import PriceTable
from server.sheet.columns import MAX_PROMPT_CHARS
from server.sheet.validation import MAX_LISTED_PROBLEMS
from testkit import hostile_files

REFUSED = [  # maker, scale, what the one-line refusal says
    (hostile_files.shared_strings_bomb, 0.06, r"MB of text \(shared strings\).*at most 8 MB"),
    (hostile_files.wide_xlsx, 0.0, r"row 1 has 7,000 columns.*at most 100"),
    (hostile_files.wide_xlsx, 0.3, r"holds \d+ MB of sheets.*at most 32 MB"),
    (hostile_files.wide_csv, 0.01, r"a line of 4,000 cells.*at most 100"),
    (hostile_files.bare_cr_csv, 1.0, r"more than 50,000 rows"),
    (hostile_files.long_cells_csv, 0.1, r"cell A2 holds 99,996 characters.*at most 50,000"),
    (hostile_files.long_cells_csv, 1.0, r"a cell holds far more than 50,000 characters"),
    (hostile_files.inline_text_xlsx, 1.0, r"more than 16,000,000 characters"),
    # issue 23: shapes inside the old limits that still cost a worker 0.6–3.7 GB
    (hostile_files.odd_path_sheet_xlsx, 0.22, r"holds 3\d MB of sheets.*at most 32 MB"),
    (hostile_files.one_wide_row_xlsx, 0.01, r"row 2 has 16,385 columns.*at most 100"),
    (hostile_files.deep_nesting_xlsx, 0.001, r"nests more than 64 levels deep"),
    (hostile_files.many_tabs_xlsx, 1.0, r"more than 10,000 sheets"),
    (hostile_files.quoted_newlines_csv, 0.01, r"a line of 4,000 cells.*at most 100"),
    (hostile_files.separator_lines_csv, 0.01, r"a line of 4,000 cells.*at most 100"),
]
# Parts a sheet of prompts does not need are never read: these files are their small sheet.
NOT_READ = [(hostile_files.external_links_xlsx, 0.05), (hostile_files.styles_bomb_xlsx, 0.05),
            (hostile_files.rich_text_xlsx, 0.05), (hostile_files.odd_path_small_sheet_xlsx, 1.0)]


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.mark.parametrize("maker, scale, message", REFUSED,
                         ids=[f"{maker.__name__}-{scale}" for maker, scale, _ in REFUSED])
def test_a_hostile_file_is_refused_with_one_clear_line(tmp_path, settings, maker, scale, message):
    path = maker(tmp_path, scale)
    with pytest.raises(UnreadableFile, match=message) as refused:
        check_file(path, None, settings, PriceTable.load(None))
    assert "\n" not in str(refused.value) and str(tmp_path) not in str(refused.value)


@pytest.mark.parametrize("maker, scale", NOT_READ, ids=[maker.__name__ for maker, _ in NOT_READ])
def test_what_a_sheet_of_prompts_does_not_need_is_never_read(tmp_path, maker, scale):
    assert read_file(maker(tmp_path, scale)).rows == [["prompt", "visibility"], ["a fox", "public"]]


def test_the_memory_ceiling_refuses_what_the_limits_did_not_foresee(tmp_path):
    """The same file under a ceiling too low for it: one line, however the child died."""
    path = hostile_files.inline_text_xlsx(tmp_path)
    with pytest.raises(UnreadableFile, match=r"needs more memory than a sheet of prompts should "
                                             r"\(over 50 MB\)"):
        read_in_child(path, None, 200 * 2**20, ceiling=50 * 2**20)
    with pytest.raises(UnreadableFile, match="more than 16,000,000 characters"):
        read_in_child(path, None, 200 * 2**20)


def test_a_prompt_over_the_providers_limit_is_a_validation_error(tmp_path, settings):
    checked = check_file(hostile_files.long_prompts_csv(tmp_path), None, settings,
                         PriceTable.load(None))
    assert not checked.report.valid and not checked.report.rows
    assert [e.cell for e in checked.report.errors] == ["A2", "A3", "A4", "A5", "A6"]
    assert f"the limit is {MAX_PROMPT_CHARS:,}" in checked.report.errors[0].message
    assert len(checked.report.errors[0].value) <= 200  # the cell is quoted, not copied


def test_problem_lists_are_capped_with_how_many_more(tmp_path, settings):
    checked = check_file(hostile_files.many_problems_csv(tmp_path), None, settings,
                         PriceTable.load(None))
    report = checked.report
    assert len(report.errors) > 3000
    shown = report.as_dict(checked.cost.as_dict())["errors"]
    assert len(shown) == MAX_LISTED_PROBLEMS + 1
    assert shown[-1] == {"cell": None, "row": None, "column": None, "value": None,
                         "message": f"and {len(report.errors) - MAX_LISTED_PROBLEMS:,} more errors"}


@pytest.fixture
def upload_page(app_for):
    app = app_for()
    token = app.extensions["sheetbatch"].signer.upload_token("alice@example.com")
    return app.test_client(), f"/upload/{token}"


@pytest.mark.parametrize("maker, scale, message", REFUSED,
                         ids=[f"{maker.__name__}-{scale}" for maker, scale, _ in REFUSED])
def test_the_upload_page_refuses_a_hostile_file(tmp_path, upload_page, maker, scale, message):
    client, page = upload_page
    path = maker(tmp_path, scale)
    with path.open("rb") as file:
        response = client.post(page, data={"file": (file, path.name)})
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(message, text.replace("&#34;", '"'))
    assert str(tmp_path) not in text


def test_the_upload_page_lists_a_capped_number_of_problems(tmp_path, upload_page):
    client, page = upload_page
    path = hostile_files.many_problems_csv(tmp_path)
    with path.open("rb") as file:
        response = client.post(page, data={"file": (file, path.name)})
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert text.count('<tr class="error">') == MAX_LISTED_PROBLEMS + 1
    assert re.search(r"and [\d,]+ more errors", text)
    assert len(text) < 200_000
