"""Every command fed the wrong paths and values, as a person types them: each mistake ends in
one readable line (exit 2 for wrong usage, 1 for a sheet with problems), never a traceback."""
from __future__ import annotations

import os
import subprocess

import openpyxl
import pytest

from testkit import ROOT, SHEETBATCH
from testkit.sheet_files import write_csv

pytestmark = pytest.mark.processes  # these run the installed `sheetbatch` command


def run(args, cwd, data):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEETBATCH_")} | {
        "COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb", "SHEETBATCH_DATA": str(data)}
    for name in ("REDIS_URL", "IDEOGRAM_API_KEY", "OPENAI_API_KEY"):
        env.pop(name, None)  # the embedded defaults: own Redis, preview provider
    return subprocess.run([str(SHEETBATCH), *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=180)


@pytest.fixture
def place(tmp_path):
    write_csv(tmp_path / "good.csv", [["prompt", "visibility"], ["a fox", "public"]])
    (tmp_path / "notes.txt").write_text("not a sheet")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "a-folder").mkdir()
    return tmp_path


MISTAKES = {
    "validate a missing file": (["validate", "nope.csv"], "nope.csv: No such file"),
    "validate a folder": (["validate", "a-folder"], "a-folder"),
    "validate a text file": (["validate", "notes.txt"], "reads .csv, .xls and .xlsx"),
    "validate an empty file": (["validate", "empty.csv"], "empty.csv is empty"),
    "annotate into a missing folder": (["validate", "good.csv", "--annotate", "no/x.xlsx"],
                                       "There is no folder no"),
    "annotate as .csv": (["validate", "good.csv", "--annotate", "x.csv"], "must end in .xlsx"),
    "annotate onto a folder": (["validate", "good.csv", "--annotate", "a-folder"],
                               "must end in .xlsx"),
    "a sheet of a CSV": (["validate", "good.csv", "--sheet", "Data"], "leave out --sheet"),
    "an unknown provider": (["validate", "good.csv", "--provider", "nope"], "'nope'"),
    "template into a missing folder": (["template", "-o", "no/t.xlsx"], "There is no folder no"),
    "template as .txt": (["template", "-o", "t.txt"], "as .csv or .xlsx"),
    "template over a filled sheet": (["template", "-o", "good.csv"], "add --force"),
    "run a missing file": (["run", "nope.csv", "--out", "out"], "nope.csv: No such file"),
    "run into a file": (["run", "good.csv", "--out", "notes.txt"], "is a file, not a folder"),
    "run into an impossible folder": (["run", "good.csv", "--out", "notes.txt/out"],
                                      "Could not create the folder"),
    "run with no workers": (["run", "good.csv", "--out", "out", "--workers", "0"], "--workers"),
    "run with a negative ceiling": (["run", "good.csv", "--out", "out", "--max-cost", "-1"],
                                    "--max-cost"),
    "run without --out": (["run", "good.csv"], "--out"),
    "worker with none": (["worker", "-n", "0"], "--count"),
    "serve on a word": (["serve", "--port", "abc"], "--port"),
    "spend in a month that is not one": (["admin", "spend", "--month", "2026-13"], "YYYY-MM"),
    "purge a negative age": (["admin", "purge", "--older-than", "-1"], "--older-than"),
    "an unknown command": (["generate", "good.csv"], "No such command"),
}


@pytest.mark.parametrize("args,expected", MISTAKES.values(), ids=MISTAKES.keys())
def test_a_mistake_gets_one_line_never_a_traceback(place, args, expected):
    result = run(args, place, place / "data")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert expected in result.stdout + result.stderr
    assert not (place / "out").exists() or args[0] != "run"  # nothing was started


def test_template_never_overwrites_without_force(place):
    filled = place / "good.csv"
    before = filled.read_bytes()
    assert run(["template", "-o", "good.csv"], place, place / "data").returncode == 2
    assert filled.read_bytes() == before
    result = run(["template", "--full", "-o", "good.csv", "--force"], place, place / "data")
    assert result.returncode == 0 and filled.read_bytes() != before
    assert run(["template", "-o", "new.xlsx"], place, place / "data").returncode == 0
    assert openpyxl.load_workbook(place / "new.xlsx").active["A1"].value == "prompt"


def test_counts_of_a_sheet_over_the_limit_add_up(place):
    """"600 rows, 1996 images": the images were those of the first 499 rows only."""
    write_csv(place / "big.csv", [["prompt", "visibility"]] + [[f"p{i}", "public"]
                                                               for i in range(600)])
    result = run(["validate", "big.csv"], place, place / "data")
    assert result.returncode == 1
    assert "600 rows, over the limit of 499; the first 499 hold 1,996 images" in \
        " ".join(result.stdout.split())


def test_a_rerun_with_nothing_to_make_says_so(place):
    args = ["run", "good.csv", "--out", "out", "--workers", "1"]
    first = run(args, place, place / "data")
    assert first.returncode == 0, first.stdout + first.stderr
    again = run(args, place, place / "data")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Nothing to make: 4 image(s) already made and kept." in again.stdout
    assert "Generating" not in again.stdout  # no progress bar standing at 0 as if stuck


def test_the_readme_example_runs_from_the_checkout(tmp_path):
    """`sheetbatch template --full -o my-batch.xlsx` then validate it, as the README says."""
    result = run(["template", "--full", "-o", str(tmp_path / "my-batch.xlsx")], ROOT, tmp_path)
    assert result.returncode == 0
    assert run(["validate", str(tmp_path / "my-batch.xlsx")], ROOT, tmp_path).returncode == 0
