"""`{name}` in a prompt filled from the row's own columns (DESIGN.md, `sheetbatch prompts`)."""
from __future__ import annotations

import pytest

from testkit.sheet_files import check, errors_of

pytestmark = pytest.mark.unit

ANIMALS = [["prompt", "visibility", "animal", "hat", "negative_prompt"],
           ["a sticker of a {animal} wearing a {hat}", "private", "fox", "top hat", "no {hat}s"],
           ["an {animal} in a {hat}", "public", "owl", "beret", None]]


def test_placeholders_filled_from_the_rows_own_cells():
    report = check(ANIMALS)
    assert report.valid, [p.as_dict() for p in report.errors]
    assert report.first_row["prompt"] == "a sticker of a fox wearing a top hat"
    assert report.first_row["negative_prompt"] == "no top hats"
    assert report.rows[3].prompt == "an owl in a beret"


def test_a_column_used_by_a_placeholder_is_not_warned_about_but_an_unused_one_is():
    table = [row + [extra] for row, extra in zip(ANIMALS, ["notes", "x", "y"])]
    report = check(table)
    assert [(p.col_index, p.column) for p in report.warnings] == [(5, "notes")]
    assert "not one we use" in report.warnings[0].message


def test_a_placeholder_naming_no_column_is_an_error_on_the_prompt_cell():
    report = check([["prompt", "visibility", "animal"],
                    ["a {colour} {animal}", "private", "fox"]])
    assert errors_of(report) == [("A2", "prompt")]
    assert '"colour"' in report.errors[0].message
    assert report.errors[0].value == "a {colour} {animal}"
    assert 2 not in report.rows


def test_a_blank_cell_a_placeholder_needs_is_an_error_naming_its_column():
    report = check([["prompt", "visibility", "hat"], ["a fox", "private", None],
                    ["a fox in a {hat}", "private", "  "]])
    assert errors_of(report) == [("A3", "prompt")]
    assert '"hat" cell is empty' in report.errors[0].message


def test_case_is_as_written_and_our_own_columns_are_not_placeholders():
    report = check([["prompt", "visibility", "Animal"], ["a {animal}", "private", "fox"],
                    ["a {Animal} in {visibility}", "private", "owl"]])
    assert errors_of(report) == [("A2", "prompt"), ("A3", "prompt")]
    assert "no column headed \"animal\"" in report.errors[0].message
    assert "one of our own columns" in report.errors[1].message


@pytest.mark.parametrize("prompt, filled", [
    ("a {{animal}} sign", "a {animal} sign"),
    ("braces {{ and }} and {animal}", "braces { and } and fox"),
    ("a lone { brace stays", "a lone { brace stays"),
    ("{ animal } with spaces", "fox with spaces"),
])
def test_literal_braces(prompt, filled):
    report = check([["prompt", "visibility", "animal"], [prompt, "private", "fox"]])
    assert report.valid, [p.as_dict() for p in report.errors]
    assert report.first_row["prompt"] == filled


def test_numbers_fill_as_written_and_the_fingerprint_sees_the_filled_prompt():
    table = [["prompt", "visibility", "legs"], ["a dog with {legs} legs", "private", 3.0]]
    report = check(table)
    assert report.rows[2].prompt == "a dog with 3 legs"
    other = check([table[0], ["a dog with {legs} legs", "private", 5]])
    assert report.rows[2].fingerprint(1, "preview") != other.rows[2].fingerprint(1, "preview")


def test_a_filled_prompt_over_the_length_limit_is_an_error():
    report = check([["prompt", "visibility", "word"], ["{word}" * 4, "private", "x" * 9000]])
    assert errors_of(report) == [("A2", "prompt")]
    assert "once its placeholders are filled" in report.errors[0].message


def test_a_second_column_of_a_used_name_is_warned_about():
    report = check([["prompt", "visibility", "hat", "hat"], ["a {hat}", "private", "cap", "fez"]])
    assert report.rows[2].prompt == "a cap"
    assert [(p.col_index, p.column) for p in report.warnings] == [(3, "hat")]
    assert "appears twice" in report.warnings[0].message
