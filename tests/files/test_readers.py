"""The file readers: encodings, delimiters, typed cells, sheets, limits and hostile files."""
from __future__ import annotations

import datetime as dt
import os
import zipfile
from pathlib import Path

import openpyxl
import pytest

from server.config import Settings
from server.files import UnreadableFile, read_file
from server.files.check import check_file
from testkit.sheet_files import PRICES, check, write_csv, write_xlsx

ROWS = [["prompt", "visibility", "model", "num_images"],
        ["Café au lait, crème brûlée", "public", "3.0", "2"],
        ["naïve €uro — test", "private", "2a", "1"]]


def values(table):
    return [list(row) for row in table.rows]


# ---------------------------------------------------------------- CSV

def test_csv_utf8(tmp_path):
    table = read_file(write_csv(tmp_path / "s.csv", ROWS))
    assert values(table) == ROWS and table.warnings == [] and table.title == "s"


def test_csv_utf8_bom(tmp_path):
    table = read_file(write_csv(tmp_path / "s.csv", ROWS, encoding="utf-8-sig"))
    assert table.rows[0][0] == "prompt"  # no BOM glued to the first header
    assert values(table) == ROWS and table.warnings == []
    assert check(table.rows).valid


def test_csv_utf16_with_bom(tmp_path):
    table = read_file(write_csv(tmp_path / "s.csv", ROWS, encoding="utf-16"))
    assert values(table) == ROWS and table.warnings == []


def test_csv_cp1252_fallback_warns(tmp_path):
    table = read_file(write_csv(tmp_path / "s.csv", ROWS, encoding="cp1252"))
    assert values(table) == ROWS  # nothing lost: é, €, — decoded right
    assert len(table.warnings) == 1
    warning = table.warnings[0]
    assert warning.cell is None and warning.row is None
    assert "UTF-8" in warning.message and "Windows" in warning.message


def test_cp1252_warning_reaches_report(tmp_path):
    path = write_csv(tmp_path / "s.csv", ROWS, encoding="cp1252")
    report = check_file(path, None, Settings(), PRICES).report
    assert report.valid
    assert "UTF-8" in report.warnings[0].message


def test_csv_undecodable_is_unreadable(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(b"prompt,visibility\n\x81\x8d\x8f,public\n")  # undefined in cp1252 too
    with pytest.raises(UnreadableFile, match="UTF-8"):
        read_file(path)


@pytest.mark.parametrize("delimiter", [";", "\t", ","], ids=["semicolon", "tab", "comma"])
def test_csv_delimiter_follows_header(tmp_path, delimiter):
    rows = [["prompt", "visibility", "negative_prompt"], ["a, b; c", "public", "x, y"]]
    table = read_file(write_csv(tmp_path / "s.csv", rows, delimiter=delimiter))
    assert values(table) == rows


def test_csv_semicolon_validates(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("prompt;visibility;model\nA fox, at dusk;public;3.0\n", encoding="utf-8")
    report = check_file(path, None, Settings(), PRICES).report
    assert report.valid and report.rows[2].prompt == "A fox, at dusk"


@pytest.mark.parametrize("first_line", ["sep=;", '"sep=;"', "SEP=;"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_csv_sep_line_names_the_delimiter_and_is_not_a_row(tmp_path, first_line, newline):
    """Excel's "sep=;" first line became a column; the header stays row 1 (Excel hides it)."""
    path = tmp_path / "s.csv"
    path.write_text(newline.join([first_line, "prompt;visibility", "A fox, at dusk;maybe", ""]),
                    encoding="utf-8", newline="")
    report = check_file(path, None, Settings(), PRICES).report
    assert [(p.cell, p.column) for p in report.errors] == [("B2", "visibility")]
    assert report.warnings == []


def test_csv_blank_lines_keep_row_numbers(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("prompt,visibility\r\n\r\na,public\r\n,,\r\nb,nope\r\n", encoding="utf-8")
    report = check(read_file(path).rows)
    assert [(p.cell, p.column) for p in report.errors] == [("B5", "visibility")]


def test_csv_with_nul_bytes_is_unreadable(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(b"prompt,visibility\n\x00\x00\x00,public\n")
    with pytest.raises(UnreadableFile):
        read_file(path)


# ---------------------------------------------------------------- XLSX

def test_xlsx_typed_cells(tmp_path):
    rows = [["prompt", "visibility", "model", "num_images", "seed_number", "aspect_ratio",
             "negative_prompt"],
            ["a", "public", 3, 2.0, 12345, dt.time(16, 9), dt.date(2024, 5, 17)],
            ["b", "private", 2.0, 1, None, "2:3", None]]
    path = write_xlsx(tmp_path / "s.xlsx", rows, formats={"F2": "h:mm", "G2": "yyyy-mm-dd"})
    table = read_file(path)
    assert table.rows[1][2] == 3 and table.rows[1][3] == 2.0 and table.rows[1][4] == 12345
    assert table.rows[1][5] == dt.time(16, 9)
    assert table.rows[1][6] == dt.datetime(2024, 5, 17)
    report = check(table.rows)
    assert report.valid
    assert report.rows[2].model == "3.0" and report.rows[2].num_images == 2
    assert report.rows[2].aspect_ratio == "16:9" and report.rows[3].model == "2.0"
    assert [(w.cell, w.column, w.value) for w in report.warnings] == \
        [("F2", "aspect_ratio", "16:09:00")]


def test_xlsx_duration_cell_is_warning(tmp_path):
    rows = [["prompt", "visibility", "aspect_ratio"],
            ["a", "public", dt.timedelta(hours=16, minutes=9)]]
    table = read_file(write_xlsx(tmp_path / "s.xlsx", rows, formats={"C2": "[h]:mm:ss"}))
    report = check(table.rows)
    assert report.valid and report.rows[2].aspect_ratio == "16:9"
    assert [(w.cell, w.value) for w in report.warnings] == [("C2", "16:09:00")]


def test_xlsx_date_in_ratio_is_error(tmp_path):
    rows = [["prompt", "visibility", "aspect_ratio"], ["a", "public", dt.datetime(2024, 3, 16)]]
    report = check(read_file(write_xlsx(tmp_path / "s.xlsx", rows)).rows)
    assert [(p.cell, p.column) for p in report.errors] == [("C2", "aspect_ratio")]


def test_xlsx_leading_empty_column_and_rows_keep_positions(tmp_path):
    rows = [[None, "prompt", "visibility"], [], [None, "a", "nope"]]
    report = check(read_file(write_xlsx(tmp_path / "s.xlsx", rows)).rows)
    assert [(p.cell, p.column) for p in report.errors] == [("C3", "visibility")]


def test_xlsx_sheet_selection(tmp_path):
    path = write_xlsx(tmp_path / "s.xlsx", [["x"]], title="Notes",
                      extra_sheets={"Batch": [["prompt", "visibility"], ["a", "public"]]})
    assert read_file(path).title == "Batch"  # the tab holding the prompt header
    assert read_file(path, "Notes").title == "Notes"  # the person's choice wins
    table = read_file(path, "Batch")
    assert table.title == "Batch" and check(table.rows).valid
    assert table.sheets == ["Notes", "Batch"]


def test_xlsx_without_a_prompt_header_reads_the_first_tab(tmp_path):
    path = write_xlsx(tmp_path / "s.xlsx", [["x"]], title="Notes",
                      extra_sheets={"Other": [["y"]]})
    assert read_file(path).title == "Notes"


def test_xlsx_instructions_first_then_a_friendly_prompt_header(tmp_path):
    """Data on a second tab ("Instructions" first) said "The required column prompt is missing"."""
    path = write_xlsx(tmp_path / "s.xlsx", [["How to fill this in"], ["one row per prompt"]],
                      title="Instructions", extra_sheets={"Data": [["Prompt", "visibility"]]})
    assert read_file(path).title == "Data"


def test_xlsx_unknown_sheet(tmp_path):
    path = write_xlsx(tmp_path / "s.xlsx", [["x"]], title="Notes",
                      extra_sheets={"Batch": [["prompt"]]})
    with pytest.raises(UnreadableFile, match='"Nope".*Notes, Batch'):
        read_file(path, "Nope")


def test_xlsx_formula_cached_values(tmp_path):
    """A formula cell is read as its cached value (data_only), never as formula text."""
    path = write_xlsx(tmp_path / "s.xlsx", [["prompt", "visibility"], ["a", "public"]])
    workbook = openpyxl.load_workbook(path)
    workbook.active["C2"] = "=1+1"
    workbook.save(path)
    assert read_file(path).rows[1][2] is None  # no cached value written by openpyxl


# ---------------------------------------------------------------- XLS

def _xls(path: Path, rows, time_cells=(), sheets=None):
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    time_style = xlwt.easyxf(num_format_str="h:mm")
    for name, sheet_rows in (sheets or {"Sheet1": rows}).items():
        sheet = book.add_sheet(name)
        for r, row in enumerate(sheet_rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if (r, c) in time_cells:
                    sheet.write(r, c, value, time_style)
                else:
                    sheet.write(r, c, value)
    book.save(str(path))
    return path


def test_xls_typed_cells_and_time(tmp_path):
    rows = [["prompt", "visibility", "aspect_ratio", "model", "num_images"],
            ["a", "public", dt.time(16, 9), 3, 2.0],
            ["b", "private", "2:3", "2a", 1]]
    table = read_file(_xls(tmp_path / "s.xls", rows, time_cells={(1, 2)}))
    assert table.rows[1][2] == dt.time(16, 9)
    report = check(table.rows)
    assert report.valid
    assert report.rows[2].aspect_ratio == "16:9" and report.rows[2].model == "3.0"
    assert report.rows[2].num_images == 2
    assert [(w.cell, w.value) for w in report.warnings] == [("C2", "16:09:00")]


def test_xls_sheet_selection_and_unknown(tmp_path):
    path = _xls(tmp_path / "s.xls", None,
                sheets={"Notes": [["x"]], "Batch": [["prompt", "visibility"], ["a", "public"]]})
    assert read_file(path).title == "Batch"
    assert read_file(path, "Notes").title == "Notes"
    assert check(read_file(path, "Batch").rows).valid
    with pytest.raises(UnreadableFile, match="Nope"):
        read_file(path, "Nope")


# ---------------------------------------------------------------- limits and hostile files

@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".xls"])
def test_size_limit_refused_before_parsing(tmp_path, suffix):
    path = tmp_path / f"big{suffix}"
    path.write_bytes(b"x" * 5000)  # not even valid: parsed, it would be refused as damaged
    with pytest.raises(UnreadableFile, match="the limit is"):
        read_file(path, max_bytes=4999)


def test_size_limit_exact_size_allowed(tmp_path):
    path = write_csv(tmp_path / "s.csv", ROWS)
    assert read_file(path, max_bytes=path.stat().st_size).rows


def _bomb(path: Path, size: int):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * 2**20
            for _ in range(size // 2**20):
                member.write(chunk)
    return path


def test_zip_bomb_refused(tmp_path):
    path = _bomb(tmp_path / "bomb.xlsx", 300 * 2**20)
    assert path.stat().st_size < 2 * 2**20
    with pytest.raises(UnreadableFile, match="refusing"):
        read_file(path)


def test_high_ratio_under_size_limit_refused(tmp_path):
    path = _bomb(tmp_path / "bomb.xlsx", 20 * 2**20)  # 20 MB of zeros: ratio ≈ 1000
    with pytest.raises(UnreadableFile, match="refusing"):
        read_file(path)


def test_unzipped_limit_parameter(tmp_path):
    path = write_xlsx(tmp_path / "s.xlsx", [["prompt", "visibility"], ["a", "public"]])
    with pytest.raises(UnreadableFile, match="refusing"):
        read_file(path, max_unzipped_bytes=1000)


@pytest.mark.parametrize("suffix", [".xlsx", ".xls"])
def test_random_bytes_unreadable(tmp_path, suffix):
    path = tmp_path / f"junk{suffix}"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(UnreadableFile):
        read_file(path)


def test_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "x.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(UnreadableFile):
        read_file(path)


def test_xlsx_renamed_xls_unreadable(tmp_path):
    source = write_xlsx(tmp_path / "s.xlsx", ROWS)
    path = tmp_path / "s.xls"
    path.write_bytes(source.read_bytes())
    with pytest.raises(UnreadableFile):
        read_file(path)


def test_xlsx_with_damaged_sheet_xml_unreadable(tmp_path):
    source = write_xlsx(tmp_path / "ok.xlsx", ROWS)
    path = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w") as zout:
        for member in zin.infolist():
            data = zin.read(member.filename)
            if member.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            zout.writestr(member, data)
    with pytest.raises(UnreadableFile):
        read_file(path)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".xls"])
def test_directory_unreadable(tmp_path, suffix):
    path = tmp_path / f"folder{suffix}"
    path.mkdir()
    with pytest.raises(UnreadableFile):
        read_file(path)


def test_missing_file_unreadable(tmp_path):
    with pytest.raises(UnreadableFile):
        read_file(tmp_path / "nope.csv")


@pytest.mark.parametrize("name", ["s.txt", "s.ods", "s.xlsm", "noextension"])
def test_unknown_extension(tmp_path, name):
    path = tmp_path / name
    path.write_text("prompt,visibility\na,public\n")
    with pytest.raises(UnreadableFile, match=r"\.csv, \.xls and \.xlsx"):
        read_file(path)


def test_extension_case_insensitive(tmp_path):
    path = write_csv(tmp_path / "S.CSV", ROWS)
    assert values(read_file(path)) == ROWS


def _xls_bytes():
    xlwt = pytest.importorskip("xlwt")
    import io
    book = xlwt.Workbook()
    sheet = book.add_sheet("S")
    for r, row in enumerate([["prompt", "visibility", "num_images"]] +
                            [[f"prompt {i}", "public", 1 + i % 4] for i in range(30)]):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_damaged_xls_never_escapes_as_other_exception(tmp_path):
    import random
    data = _xls_bytes()
    rnd = random.Random(1)
    escaped = []
    for attempt in range(150):
        damaged = bytearray(data)
        for _ in range(rnd.randint(1, 20)):
            damaged[rnd.randrange(len(damaged))] = rnd.randrange(256)
        path = tmp_path / f"d{attempt}.xls"
        path.write_bytes(bytes(damaged))
        try:
            read_file(path)
        except UnreadableFile:
            pass
        except Exception as error:  # noqa: BLE001 - the point of the test
            escaped.append(f"{type(error).__name__}: {error}")
    assert escaped == []


@pytest.mark.processes
def test_xls_reader_prints_nothing_to_stdout(tmp_path):
    # a fresh process: xlrd binds sys.stdout as its default log file at import time
    import subprocess
    import sys
    path = tmp_path / "odd.xls"
    path.write_bytes(_xls_bytes() + b"\0" * 10)  # a size xlrd grumbles about, yet readable
    assert check(read_file(path).rows).valid
    code = "import sys; from server.files import read_file; read_file(sys.argv[1])"
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_a_csv_with_far_too_many_lines_is_refused_before_parsing(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text("prompt,visibility\n" + "\n" * 60_000, encoding="utf-8")
    with pytest.raises(UnreadableFile,
                       match="more than 50,000 rows; a batch sheet has at most 500"):
        read_file(path)


def test_an_xlsx_with_far_too_many_rows_is_refused(tmp_path):
    path = tmp_path / "huge.xlsx"
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Batch")
    sheet.append(["prompt", "visibility"])
    for n in range(50_001):
        sheet.append([f"p{n}", "private"])
    workbook.save(path)
    with pytest.raises(UnreadableFile, match="more than 50,000 rows"):
        read_file(path)
