"""`sheetbatch template`: the simple and full templates validate clean and guide the person."""
from __future__ import annotations

import json
import subprocess

import openpyxl
import pytest

from server.sheet.columns import COLUMNS_BY_NAME, column_letter
from server.sheet.template import (
    FULL_COLUMNS,
    PLACEHOLDER_EXAMPLE_COLUMN,
    SIMPLE_COLUMNS,
    template_rows,
)
from testkit import SHEETBATCH
from testkit.sheet_files import FULL_HEADER

ENUMERATED = [name for name, column in COLUMNS_BY_NAME.items() if column.choices]


def make(tmp_path, name, full):
    path = tmp_path / name
    args = [str(SHEETBATCH), "template", "-o", str(path)] + (["--full"] if full else [])
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert path.exists()
    return path


def validate_json(path):
    result = subprocess.run([str(SHEETBATCH), "validate", str(path), "--json"],
                            capture_output=True, text=True, timeout=120)
    return result.returncode, json.loads(result.stdout)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
@pytest.mark.parametrize("full", [False, True], ids=["simple", "full"])
def test_template_validates_clean(tmp_path, suffix, full):
    path = make(tmp_path, "t" + suffix, full)
    code, data = validate_json(path)
    assert code == 0
    assert data["valid"] and data["errors"] == [] and data["warnings"] == []
    assert data["rows"] == len(template_rows(full)) - 1


def test_template_columns(tmp_path):
    assert list(FULL_COLUMNS) == FULL_HEADER
    simple = openpyxl.load_workbook(make(tmp_path, "s.xlsx", False)).active
    full = openpyxl.load_workbook(make(tmp_path, "f.xlsx", True)).active
    assert [c.value for c in simple[1]] == list(SIMPLE_COLUMNS)
    # The brief's columns, then one of the person's own that a placeholder example uses.
    assert [c.value for c in full[1]] == FULL_HEADER + [PLACEHOLDER_EXAMPLE_COLUMN]
    examples = len(template_rows(full=True)) - 1
    assert all(c.value is not None for c in full[1 + examples][:2])
    assert all(c.value is None for c in full[2 + examples])


def test_template_csv_text(tmp_path):
    text = make(tmp_path, "f.csv", True).read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(FULL_HEADER + [PLACEHOLDER_EXAMPLE_COLUMN])


@pytest.mark.parametrize("full", [False, True], ids=["simple", "full"])
def test_xlsx_template_aspect_ratio_is_text(tmp_path, full):
    sheet = openpyxl.load_workbook(make(tmp_path, "t.xlsx", full)).active
    header = [c.value for c in sheet[1]]
    letter = column_letter(header.index("aspect_ratio"))
    for row in (2, 3, 4, 5, 100, 500):
        assert sheet[f"{letter}{row}"].number_format == "@", row
    model = column_letter(header.index("model"))
    assert sheet[f"{model}2"].number_format == "@"
    assert sheet[f"{model}2"].value == "2.0"  # text, not the number 2


@pytest.mark.parametrize("full", [False, True], ids=["simple", "full"])
def test_xlsx_template_list_validation_on_every_enumerated_column(tmp_path, full):
    sheet = openpyxl.load_workbook(make(tmp_path, "t.xlsx", full)).active
    header = [c.value for c in sheet[1]]
    validations = sheet.data_validations.dataValidation
    by_range = {str(v.sqref): v for v in validations}
    for name in header:
        letter = column_letter(header.index(name))
        found = by_range.get(f"{letter}2:{letter}500")
        if name in ENUMERATED:
            assert found is not None and found.type == "list", name
            assert found.formula1.strip('"').split(",") == list(COLUMNS_BY_NAME[name].choices)
        elif name in ("num_images", "seed_number"):
            assert found is not None and found.type == "whole"
        else:
            assert found is None, name
    if full:
        nums = by_range[f"{column_letter(header.index('num_images'))}2:" \
                        f"{column_letter(header.index('num_images'))}500"]
        assert (nums.formula1, nums.formula2) == ("1", "4")
        seed = by_range[f"{column_letter(header.index('seed_number'))}2:" \
                        f"{column_letter(header.index('seed_number'))}500"]
        assert (seed.formula1, seed.formula2) == ("0", "2147483647")


@pytest.mark.processes
def test_template_bad_extension_exit_2(tmp_path):
    result = subprocess.run([str(SHEETBATCH), "template", "-o", str(tmp_path / "t.ods")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and ".csv or .xlsx" in result.stderr
