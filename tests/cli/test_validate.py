"""`sheetbatch validate` and `sheetbatch template` as a user runs them: a subprocess."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess

import openpyxl
import pytest

from server.files.workbook import ERROR_FILL, WARNING_FILL
from testkit import ROOT, SHEETBATCH
from testkit.sheet_files import write_csv, write_xlsx

pytestmark = pytest.mark.processes  # these run the installed `sheetbatch` command

RED = ERROR_FILL.start_color.rgb
AMBER = WARNING_FILL.start_color.rgb


def run(*args, env=None, cwd=None):
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SHEETBATCH_")}
    environment = inherited | {"COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"} | (env or {})
    return subprocess.run([str(SHEETBATCH), *map(str, args)], capture_output=True, text=True,
                          env=environment, cwd=cwd, timeout=120)


GOOD = [["prompt", "visibility", "model", "num_images"],
        ["a fox", "public", "3.0", 2], ["an owl", "private", "2a", None]]
BAD = [["prompt", "visibility", "aspect_ratio", "Model", "notes"],
       ["a fox", "public", "7:5", None, "x"],
       ["", "public", "16:9", None, None],
       ["=1+1", "private", "16:09:00", None, None]]


@pytest.fixture
def good_csv(tmp_path):
    return write_csv(tmp_path / "good.csv", GOOD)


@pytest.fixture
def bad_xlsx(tmp_path):
    return write_xlsx(tmp_path / "bad.xlsx", BAD, title="Batch")


def test_valid_exit_0_and_summary(good_csv):
    result = run("validate", good_csv, "--provider", "ideogram")
    assert result.returncode == 0, result.stderr
    assert "2 rows" in result.stdout and "6 images" in result.stdout
    assert "$0.28" in result.stdout  # 2 × 0.06 + 4 × 0.04
    assert "Ready to generate" in result.stdout


def test_the_free_preview_shows_no_price(good_csv):
    """`validate --provider preview` printed "estimated cost $0.28" for placeholder images."""
    result = run("validate", good_csv, "--provider", "preview")
    assert "estimated cost free" in result.stdout and "$" not in result.stdout
    data = json.loads(run("validate", good_csv, "--provider", "preview", "--json").stdout)
    assert data["cost"] == {"currency": "USD", "total": 0.0}


def test_the_example_sheet_is_free_with_the_preview_and_priced_with_ideogram():
    """Issue 20: `validate examples/stickers.xlsx --provider preview` said "$0.39"."""
    sheet = ROOT / "examples" / "stickers.xlsx"
    no_keys = {"IDEOGRAM_API_KEY": "", "OPENAI_API_KEY": ""}
    named = run("validate", sheet, "--provider", "preview", env=no_keys)
    assert "estimated cost free" in named.stdout and "$" not in named.stdout
    by_default = json.loads(run("validate", sheet, "--json", env=no_keys).stdout)  # no key
    assert by_default["cost"] == {"currency": "USD", "total": 0.0}
    keyed = no_keys | {"IDEOGRAM_API_KEY": "a-key"}
    assert "estimated cost $0.39" in run("validate", sheet, "--provider", "ideogram",
                                         env=keyed).stdout
    by_key = json.loads(run("validate", sheet, "--json", env=keyed).stdout)  # its key is set
    assert by_key["cost"] == {"currency": "USD", "total": pytest.approx(0.39)}


def test_valid_json(good_csv):
    result = run("validate", good_csv, "--json", "--provider", "ideogram")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert list(data) == ["valid", "rows", "images", "cost", "first_row", "errors", "warnings",
                          "counts", "summary"]
    assert data["valid"] is True and data["rows"] == 2 and data["images"] == 6
    assert data["cost"] == {"currency": "USD", "total": pytest.approx(0.28)}
    assert data["first_row"]["model"] == "3.0" and data["first_row"]["num_images"] == 2
    assert data["errors"] == [] and data["warnings"] == []
    assert data["summary"] == {"size": "2 rows, 6 images", "verdict": "Ready to generate"}


def test_invalid_json_exit_1(bad_xlsx):
    result = run("validate", bad_xlsx, "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["valid"] is False and data["rows"] == 3 and data["images"] == 12
    assert [(e["cell"], e["row"], e["column"], e["value"]) for e in data["errors"]] == [
        ("D1", 1, "Model", "Model"), ("C2", 2, "aspect_ratio", "7:5"), ("A3", 3, "prompt", None)]
    assert [(w["cell"], w["row"], w["column"], w["value"]) for w in data["warnings"]] == [
        ("E1", 1, "notes", "notes"), ("C4", 4, "aspect_ratio", "16:09:00")]
    assert all(problem["message"] for problem in data["errors"] + data["warnings"])
    # Added to the contract: where the problems are, in counts that add up.
    assert data["counts"] == {"errors": 3, "warnings": 2, "ready_rows": 1, "rows_to_fix": 2,
                              "headers_to_fix": 1, "sheet_errors": 0}
    assert data["summary"] == {"size": "3 rows (1 ready), 12 images in all",
                               "verdict": "3 problems to fix in 2 of 3 rows and 1 header"}


def test_warnings_only_exit_0(tmp_path):
    path = write_xlsx(tmp_path / "w.xlsx", [["prompt", "visibility", "aspect_ratio"],
                                            ["a", "public", dt.time(16, 9)]],
                      formats={"C2": "h:mm"})
    result = run("validate", path, "--json")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["valid"] is True and data["first_row"]["aspect_ratio"] == "16:9"
    assert [(w["cell"], w["value"]) for w in data["warnings"]] == [("C2", "16:09:00")]


def test_human_table_mentions_cells(bad_xlsx):
    result = run("validate", bad_xlsx)
    assert result.returncode == 1
    for text in ("C2", "A3", "C4", "aspect_ratio", "7:5", "error", "warning"):
        assert text in result.stdout, text
    lines = result.stdout.splitlines()
    assert lines[0].startswith("3 rows (1 ready), 12 images in all, estimated cost")
    assert lines[-1] == "3 problems to fix in 2 of 3 rows and 1 header."


@pytest.mark.parametrize("make", ["missing", "junk", "extension", "sheet"])
def test_unreadable_exit_2(tmp_path, make, bad_xlsx):
    args = {"missing": [tmp_path / "nope.csv"], "extension": [tmp_path / "x.txt"],
            "junk": [tmp_path / "junk.xlsx"], "sheet": [bad_xlsx, "--sheet", "Nope"]}[make]
    (tmp_path / "x.txt").write_text("prompt,visibility\n")
    (tmp_path / "junk.xlsx").write_bytes(b"not a zip at all" * 50)
    result = run("validate", *args, "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "error" in result.stderr.lower() and "Traceback" not in result.stderr


def test_directory_exit_2(tmp_path):
    (tmp_path / "folder.csv").mkdir()
    result = run("validate", tmp_path / "folder.csv")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_size_limit_from_env_exit_2(good_csv):
    result = run("validate", good_csv, env={"SHEETBATCH_MAX_UPLOAD_BYTES": "10"})
    assert result.returncode == 2 and "limit" in result.stderr


def test_sheet_option(tmp_path):
    path = write_xlsx(tmp_path / "s.xlsx", [["notes"]], title="Notes",
                      extra_sheets={"Batch": GOOD})
    assert run("validate", path, "--sheet", "Notes", "--json").returncode == 1  # no columns
    result = run("validate", path, "--sheet", "Batch", "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["rows"] == 2
    # Unasked, the tab holding the prompt header is read, and the summary names it.
    result = run("validate", path)
    assert result.returncode == 0
    assert 'Read the sheet "Batch" of s.xlsx (also in it: Notes; choose one with --sheet' \
        in result.stdout


def test_custom_prices_env(tmp_path, good_csv):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"currency": "EUR",
                                  "per_image": {"3.0": {"default": 1}, "2a": {"default": 0.5}}}))
    result = run("validate", good_csv, "--json", "--provider", "ideogram",
                 env={"SHEETBATCH_PRICES": str(prices)})
    assert json.loads(result.stdout)["cost"] == {"currency": "EUR",
                                                 "total": pytest.approx(2 * 1 + 4 * 0.5)}


def test_custom_prices_currency_in_human_output(tmp_path, good_csv):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"currency": "EUR", "per_image": {"3.0": {"default": 1},
                                                                   "2a": {"default": 0.5}}}))
    result = run("validate", good_csv, "--provider", "ideogram",
                 env={"SHEETBATCH_PRICES": str(prices)})
    assert "$" not in result.stdout and "EUR" in result.stdout and "4.00" in result.stdout


def _comment(cell):
    return cell.comment.text if cell.comment else None


def test_annotate_xlsx(tmp_path, bad_xlsx):
    out = tmp_path / "annotated.xlsx"
    result = run("validate", bad_xlsx, "--annotate", out, "--json")
    assert result.returncode == 1
    sheet = openpyxl.load_workbook(out)["Batch"]
    # the header "Model" is renamed in the copy (one step: upload it again), amber, saying so
    assert sheet["D1"].value == "model"
    assert sheet["D1"].fill.start_color.rgb.endswith(AMBER[-6:])
    assert 'Renamed from "Model" to model' in _comment(sheet["D1"])
    assert sheet["C2"].fill.start_color.rgb.endswith(RED[-6:])
    assert "16:9" in _comment(sheet["C2"])
    assert sheet["A3"].fill.start_color.rgb.endswith(RED[-6:])
    assert "prompt" in _comment(sheet["A3"]).lower()
    assert sheet["C4"].fill.start_color.rgb.endswith(AMBER[-6:])
    assert "16:9" in _comment(sheet["C4"]) and "16:09:00" in _comment(sheet["C4"])
    assert sheet["E1"].fill.start_color.rgb.endswith(AMBER[-6:])  # unknown header
    for ok in ("A2", "B2", "B3", "C3", "A4", "B4"):
        assert sheet[ok].comment is None and sheet[ok].fill.fill_type is None, ok
    # the person's text is kept as text, never turned into a formula
    assert sheet["A4"].value == "=1+1" and sheet["A4"].data_type == "s"
    assert openpyxl.load_workbook(out, data_only=True)["Batch"]["A4"].value == "=1+1"


def test_friendly_headers_refused_then_the_marked_copy_renames_them(tmp_path):
    """`Aspect Ratio` and `Num Images` were ignored and every row made 1:1 × 4 images: now the
    file is refused with the header cells named, and the marked copy validates as written."""
    source = write_csv(tmp_path / "friendly.csv", [
        ["prompt", "visibility", "Aspect Ratio", "Num Images"], ["a fox", "public", "16:9", 1]])
    out = tmp_path / "marked.xlsx"
    result = run("validate", source, "--annotate", out)
    assert result.returncode == 1
    assert "C1" in result.stdout and "rename it to aspect_ratio" in result.stdout
    assert "D1" in result.stdout and "rename it to num_images" in result.stdout
    data = json.loads(run("validate", out, "--json").stdout)
    assert data["valid"] and data["images"] == 1
    assert data["first_row"]["aspect_ratio"] == "16:9"


def test_annotate_csv_source(tmp_path):
    source = write_csv(tmp_path / "bad.csv", [["prompt", "visibility", "style"],
                                               ["=1+1", "public", "3d"],
                                               ["b", "secret", "anime"]])
    out = tmp_path / "annotated.xlsx"
    assert run("validate", source, "--annotate", out).returncode == 1
    sheet = openpyxl.load_workbook(out).active
    assert sheet.title == "bad"
    assert sheet["A2"].value == "=1+1" and sheet["A2"].data_type == "s"
    assert sheet["B3"].fill.start_color.rgb.endswith(RED[-6:])
    assert "public" in _comment(sheet["B3"]) and "private" in _comment(sheet["B3"])
    assert sheet["A2"].comment is None and sheet["C2"].comment is None


def test_annotate_sheet_level_problem_on_a1(tmp_path):
    rows = [["prompt", "visibility"]] + [[f"p{i}", "public"] for i in range(500)]
    source = write_csv(tmp_path / "big.csv", rows)
    out = tmp_path / "annotated.xlsx"
    assert run("validate", source, "--annotate", out).returncode == 1
    sheet = openpyxl.load_workbook(out).active
    assert sheet["A1"].fill.start_color.rgb.endswith(RED[-6:])
    assert "499" in _comment(sheet["A1"])


def test_annotate_csv_with_odd_file_name(tmp_path):
    source = write_csv(tmp_path / "batch [final].csv", [["prompt", "visibility"], ["a", "nope"]])
    out = tmp_path / "annotated.xlsx"
    result = run("validate", source, "--annotate", out)
    assert result.returncode == 1 and out.exists(), result.stderr[-300:]


def test_annotate_xls_source(tmp_path):
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    sheet = book.add_sheet("Legacy")
    for c, value in enumerate(["prompt", "visibility", "num_images"]):
        sheet.write(0, c, value)
    for c, value in enumerate(["a", "public", 7]):
        sheet.write(1, c, value)
    source = tmp_path / "s.xls"
    book.save(str(source))
    out = tmp_path / "annotated.xlsx"
    assert run("validate", source, "--annotate", out).returncode == 1
    copy = openpyxl.load_workbook(out)["Legacy"]
    assert copy["C2"].fill.start_color.rgb.endswith(RED[-6:]) and "4" in _comment(copy["C2"])


def test_json_stdout_is_only_json_for_odd_xls(tmp_path):
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    sheet = book.add_sheet("S")
    for c, value in enumerate(["prompt", "visibility"]):
        sheet.write(0, c, value)
        sheet.write(1, c, ["a", "public"][c])
    path = tmp_path / "odd.xls"
    book.save(str(path))
    path.write_bytes(path.read_bytes() + b"\0" * 10)  # xlrd warns yet reads it
    result = run("validate", path, "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["valid"] is True


def test_provider_limits_are_warnings_for_the_chosen_provider(tmp_path):
    sheet = write_csv(tmp_path / "p.csv", [
        ["prompt", "visibility", "model", "seed_number", "color_palette", "aspect_ratio"],
        ["a fox", "public", "2a", 5, "ember", "16:9"]])
    ideogram = json.loads(run("validate", sheet, "--provider", "ideogram", "--json").stdout)
    assert ideogram["valid"] and [(w["cell"], w["column"]) for w in ideogram["warnings"]] == [
        ("E2", "color_palette")]
    openai = run("validate", sheet, "--provider", "openai", "--json",
                 env={"OPENAI_IMAGE_MODEL": "dall-e-3"})
    assert openai.returncode == 0  # limits never make a sheet invalid
    data = json.loads(openai.stdout)
    assert {w["column"] for w in data["warnings"]} == {"model", "seed_number", "color_palette",
                                                      "aspect_ratio"}
    assert data["cost"]["total"] == pytest.approx(4 * 0.08)  # dall-e-3 standard 1792x1024
    unknown = run("validate", sheet, "--provider", "openai", env={"OPENAI_IMAGE_MODEL": "dall-e-9"})
    assert unknown.returncode == 2 and "Unknown OpenAI image model 'dall-e-9'" in unknown.stderr
def test_terminal_escape_sequences_in_cells_are_not_printed(tmp_path):
    """A cell could clear the screen, retitle the window or fake a line of output."""
    hostile = ["\x1b[2J\x1b[Hcleared", "\x1b]0;pwned\x07title", "[bold]markup[/bold] \u202eevil"]
    path = write_csv(tmp_path / "escapes.csv",
                     [["prompt", "visibility"]] + [["a fox", value] for value in hostile])
    result = run("validate", path)
    assert result.returncode == 1
    assert not any(ch in result.stdout for ch in "\x1b\x07\u202e"), repr(result.stdout)
    assert "cleared" in result.stdout and "[bold]markup" in result.stdout


def test_a_long_problem_list_is_capped_with_how_many_more(tmp_path):
    from testkit.hostile_files import many_problems_csv
    result = run("validate", many_problems_csv(tmp_path))
    assert result.returncode == 1
    assert "and 3,792 more errors" in result.stdout
    assert result.stdout.count("│ error │") == 201  # 200 listed, then the "more" line
    data = json.loads(run("validate", many_problems_csv(tmp_path), "--json").stdout)
    assert len(data["errors"]) == 201 and data["errors"][-1]["message"] == "and 3,792 more errors"
    assert data["counts"]["errors"] == 3_992  # the counts are not capped
    assert data["summary"]["verdict"].startswith("3,992 problems to fix in ")
