"""The summary of a validation: counts that add up, said where the problems are, in the words
every surface shows ("7 problems to fix in 3 of 4 rows and 1 header", not "7 problem(s)")."""
from __future__ import annotations

import pytest

from server.sheet.columns import MAX_DATA_ROWS
from testkit.sheet_files import as_json, check

FOX = ["a fox", "public"]


def adds_up(report) -> None:
    """Every error is in a row, in a header cell, or of the sheet as a whole."""
    counts = as_json(report)["counts"]
    in_rows = sum(1 for problem in report.errors if problem.row and problem.row > 1)
    in_headers = sum(1 for problem in report.errors if problem.row == 1)
    assert in_rows + in_headers + counts["sheet_errors"] == counts["errors"]
    assert counts["ready_rows"] + counts["rows_to_fix"] <= report.row_count


def test_a_ready_sheet():
    report = check([["prompt", "visibility", "num_images"], ["a", "public", 2], ["b", "public", 4]])
    assert report.summary.size == "2 rows, 6 images"
    assert report.summary.verdict == "Ready to generate"
    assert as_json(report)["counts"] == {"errors": 0, "warnings": 0, "ready_rows": 2,
                                          "rows_to_fix": 0, "headers_to_fix": 0,
                                          "sheet_errors": 0}


@pytest.mark.parametrize("rows,verdict", [
    ([["prompt", "visibility", "notes"], FOX], "Ready to generate, with 1 warning to read"),
    ([["prompt", "visibility", "notes", "more"], FOX],
     "Ready to generate, with 2 warnings to read"),
])
def test_ready_with_warnings_in_singular_and_plural(rows, verdict):
    assert check(rows).summary.verdict == verdict


def test_problems_over_rows_and_a_header_say_where_they_are():
    """The issue's "7 problems" over fewer rows: several problems share a row, and one is in a
    header; the counts say so."""
    report = check([
        ["prompt", "visibility", "aspect_ratio", "Model", "num_images"],
        ["a lighthouse", "private", "16:9", "2.0", 2],
        [None, "public", "1:1", "3.0", 1],
        ["a boat", "secret", "7:5", "2.0", 5],
        ["a kite", "public", "4:5", "2.0", 2.5],
    ])
    assert len(report.errors) == 7
    assert report.summary.verdict == "7 problems to fix in 3 of 4 rows and 1 header"
    # 2 + 1 + 4 + 4: a bad num_images cell counts at the default
    assert report.summary.size == "4 rows (1 ready), 11 images in all"
    adds_up(report)


@pytest.mark.parametrize("rows,verdict", [
    ([["prompt", "visibility"], ["a fox", "secret"]], "1 problem to fix in the row"),
    ([["prompt", "visibility", "num_images"], ["a fox", "secret", 9]],
     "2 problems to fix in the row"),
    ([["prompt", "visibility"], ["a fox", "secret"], ["a cat", "nope"]],
     "2 problems to fix in all 2 rows"),
    ([["prompt", "visibility"], ["a fox", "secret"], FOX], "1 problem to fix in 1 of 2 rows"),
    ([["prompt", "visibility", "Aspect Ratio", "Num Images"], FOX],
     "2 problems to fix in 2 headers"),
    ([["prompt", "model"], ["a fox", "2.0"]], "1 problem to fix in the sheet as a whole"),
    ([["prompt", "model", "Style"], ["a fox", "9.0", "auto"]],
     "3 problems to fix in the row, 1 header and the sheet as a whole"),
])
def test_the_verdict_names_each_place_once(rows, verdict):
    report = check(rows)
    assert report.summary.verdict == verdict
    adds_up(report)


def test_a_missing_column_leaves_no_row_ready():
    report = check([["prompt", "num_images"], ["a fox", 2], ["a cat", 1]])
    assert report.summary.size == "2 rows (0 ready), 3 images in all"
    assert report.summary.verdict == "1 problem to fix in the sheet as a whole"


def test_over_the_limit_the_images_are_those_of_the_rows_read():
    rows = [["prompt", "visibility", "num_images"]] + [["a fox", "public", 1]] * 600
    assert MAX_DATA_ROWS == 499
    summary = check(rows).summary
    assert summary.size == "600 rows, over the limit of 499; the first 499 hold 499 images"
    assert summary.verdict == "1 problem to fix in the sheet as a whole"


def test_an_empty_sheet():
    summary = check([[]]).summary
    assert (summary.size, summary.verdict) == ("0 rows, 0 images",
                                               "1 problem to fix in the sheet as a whole")


def test_the_counts_are_not_capped_like_the_lists():
    rows = [["prompt", "visibility"]] + [["a fox", "secret"]] * 300
    result = as_json(check(rows))
    assert len(result["errors"]) == 201  # 200 listed, then "and 100 more errors"
    assert result["counts"]["errors"] == 300 and result["counts"]["rows_to_fix"] == 300
    assert result["summary"]["verdict"] == "300 problems to fix in all 300 rows"
