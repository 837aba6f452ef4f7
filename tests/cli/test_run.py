"""`sheetbatch run` end to end, as a person runs it: a real process, Ctrl-C, a second run."""
from __future__ import annotations

import os
import signal
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

from server.sheet.columns import RESULT_COLUMNS
from testkit import ROOT, SHEETBATCH
from testkit.processes import wait_for

pytestmark = pytest.mark.processes  # these run the installed `sheetbatch` command


def run(args, env, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([SHEETBATCH, *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=180, **kwargs)


def results_sheet(out: Path, stem: str):
    return openpyxl.load_workbook(out / f"{stem}-results.xlsx").active


def test_preview_run_of_the_example_makes_a_zip(tmp_path):
    env = dict(os.environ, SHEETBATCH_DATA=str(tmp_path / "data"))
    for name in ("REDIS_URL", "IDEOGRAM_API_KEY", "OPENAI_API_KEY", "SHEETBATCH_PROVIDER"):
        env.pop(name, None)  # the embedded defaults: own Redis, preview provider
    out = tmp_path / "out"
    result = run(["run", "examples/stickers.xlsx", "--out", str(out), "--workers", "2"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "preview" in result.stdout
    with zipfile.ZipFile(out / "images.zip") as archive:
        names = archive.namelist()
        assert archive.testzip() is None
    assert len([n for n in names if n.endswith(".png")]) == 8 and "manifest.csv" in names
    sheet = results_sheet(out, "stickers")
    header = [cell.value for cell in sheet[1]]
    expected = [name for name in RESULT_COLUMNS if name != "preview"]
    assert header[-len(expected):] == expected
    status_column = header.index("status") + 1
    assert {sheet.cell(row, status_column).value for row in range(2, 7)} == {"done"}
    sizes = {sheet.cell(row, header.index("used_size") + 1).value for row in range(2, 7)}
    assert "512x512" in sizes and None not in sizes  # the size each image was made at
    link = sheet.cell(2, header.index("image_1") + 1)
    assert (out / link.value).is_file() and link.hyperlink is not None


def test_invalid_sheet_stops_before_generating_with_a_marked_copy(tmp_path):
    out = tmp_path / "out"
    result = run(["run", "examples/with-mistakes.xlsx", "--out", str(out)],
                 dict(os.environ, SHEETBATCH_DATA=str(tmp_path / "data")))
    assert result.returncode == 1
    assert (out / "with-mistakes-checked.xlsx").is_file()
    assert not (out / "images.zip").exists()


def test_ctrl_c_stops_cleanly_and_a_second_run_resumes(worker_env, image_api, tmp_path):
    image_api.configure(latency=0.5)
    sheet = tmp_path / "batch.csv"
    lines = ["prompt,visibility,model,num_images,seed_number"]
    lines += [f"a red kite number {row},private,3.0,1,{row}" for row in range(2, 22)]
    sheet.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    args = [SHEETBATCH, "run", str(sheet), "--out", str(out), "--workers", "2", "--yes"]
    first = subprocess.Popen(args, env=worker_env, cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    wait_for(lambda: image_api.stats()["generated"] >= 3, what="some images")
    first.send_signal(signal.SIGINT)
    output, _ = first.communicate(timeout=60)
    assert first.returncode == 1, output
    assert "stopped" in output
    made_first = image_api.stats()["generated"]
    assert 3 <= made_first < 20
    kept = sorted((out / "images").glob("*.png"))
    assert len(kept) == made_first  # every finished image is kept

    second = run(["run", str(sheet), "--out", str(out), "--workers", "2", "--yes"], worker_env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"{20 - made_first} image(s) to make" in second.stdout
    assert f"{made_first} already made and kept" in second.stdout
    stats = image_api.stats()
    assert stats["generated"] == 20 and stats["duplicate_generations"] == []
    with zipfile.ZipFile(out / "images.zip") as archive:
        assert len([n for n in archive.namelist() if n.endswith(".png")]) == 20


def test_a_provider_without_its_key_stops_before_any_work(tmp_path):
    env = dict(os.environ, SHEETBATCH_DATA=str(tmp_path / "data"))
    env.pop("IDEOGRAM_API_KEY", None)
    result = run(["run", "examples/stickers.csv", "--out", str(tmp_path / "out"), "--provider",
                  "ideogram"], env)
    assert result.returncode == 2
    assert "IDEOGRAM_API_KEY" in result.stderr
    assert not (tmp_path / "out").exists()


def kite_sheet(tmp_path, rows=3, prompt=lambda row: f"a red kite number {row}"):
    sheet = tmp_path / "kites.csv"
    lines = ["prompt,visibility,model,num_images,seed_number"]
    lines += [f"{prompt(row)},private,3.0,1,{row}" for row in range(2, rows + 2)]
    sheet.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sheet


def paid_run(sheet, out, env, *extra):
    # A wide terminal, so that no sentence the test looks for is wrapped; no REDIS_URL, so the
    # run has its own Redis, as a person's has.
    env = {name: value for name, value in env.items() if name != "REDIS_URL"}
    return run(["run", str(sheet), "--out", str(out), "--workers", "2", *extra],
               dict(env, COLUMNS="300"))


def test_a_paid_run_asks_first_and_keeps_to_its_ceiling(worker_env, image_api, tmp_path):
    sheet, out = kite_sheet(tmp_path), tmp_path / "out"
    unconfirmed = paid_run(sheet, out, worker_env)
    assert unconfirmed.returncode == 1 and "--yes" in unconfirmed.stderr
    assert "(USD 0.18)" in unconfirmed.stdout  # 3 images of model 3.0, said before anything
    capped = paid_run(sheet, out, worker_env, "--yes", "--max-cost", "0.10")
    assert capped.returncode == 1 and "--max-cost" in capped.stderr
    over = paid_run(sheet, out, dict(worker_env, SHEETBATCH_MONTHLY_BUDGET="0.05"), "--yes")
    assert over.returncode == 1 and "available this month" in over.stderr
    assert image_api.stats()["calls"] == 0
    assert "Traceback" not in unconfirmed.stderr + capped.stderr + over.stderr


def test_a_rerun_retries_rows_an_outage_failed_but_not_refusals(worker_env, image_api, tmp_path):
    sheet = kite_sheet(tmp_path, prompt=lambda row: "an UNSAFE kite" if row == 3 else
                       f"a red kite number {row}")
    out = tmp_path / "out"
    image_api.configure(server_error_every=1)
    first = paid_run(sheet, out, dict(worker_env, SHEETBATCH_OUTAGE_DEADLINE="1"), "--yes")
    assert first.returncode == 1 and "3 failed" in first.stdout, first.stdout + first.stderr
    image_api.configure(server_error_every=0)
    kept = paid_run(sheet, out, worker_env, "--yes", "--no-retry-failed")
    assert kept.returncode == 1 and "3 failed image(s) left failed" in kept.stdout, kept.stdout
    second = paid_run(sheet, out, worker_env, "--yes")
    assert second.returncode == 1 and "3 image(s) to make" in second.stdout, second.stdout
    assert "2 of 3 rows done" in second.stdout  # the refusal stays a refusal
    third = paid_run(sheet, out, worker_env, "--yes")
    assert "1 failed image(s) left failed" in third.stdout and "Nothing to make" in third.stdout
    stats = image_api.stats()
    assert stats["generated"] == 2 and stats["duplicate_generations"] == []


def test_a_daily_limit_pauses_the_run_and_the_rerun_makes_exactly_the_rest(worker_env, image_api,
                                                                          tmp_path):
    sheet, out = kite_sheet(tmp_path, rows=60), tmp_path / "out"
    image_api.configure(daily_limit_images=40)
    first = paid_run(sheet, out, worker_env, "--yes")
    assert first.returncode != 0 and "Traceback" not in first.stderr
    assert "40 of 60 rows done, 0 failed, 20 stopped" in first.stdout, first.stdout
    [line] = first.stderr.strip().splitlines()  # one plain line says why and what to do
    assert "daily limit (daily_limit)" in line and "run the same command again" in line
    assert image_api.stats()["billed"] == 40
    image_api.configure(daily_limit_images=None)  # the next day
    second = paid_run(sheet, out, worker_env, "--yes")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "20 image(s) to make" in second.stdout and "40 already made and kept" in second.stdout
    stats = image_api.stats()
    assert stats["billed"] == 60 and stats["duplicate_generations"] == []


def test_one_run_per_output_folder(worker_env, image_api, tmp_path):
    image_api.configure(latency=3)  # the first run is still busy when the second starts
    sheet, out = kite_sheet(tmp_path, rows=8), tmp_path / "out"
    first = subprocess.Popen([SHEETBATCH, "run", str(sheet), "--out", str(out), "--yes"],
                             env=worker_env, cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    wait_for(lambda: image_api.stats()["calls"] >= 1, what="the first run to start")
    second = paid_run(sheet, out, worker_env, "--yes")
    assert second.returncode == 2 and f"process {first.pid}" in second.stderr
    output, _ = first.communicate(timeout=120)
    assert first.returncode == 0, output


def test_control_characters_are_warned_about_and_the_workbook_is_written(tmp_path):
    sheet = tmp_path / "odd.csv"
    sheet.write_text("prompt,visibility\n\"a kite\x07 with a bell\",private\n", encoding="utf-8")
    env = dict(os.environ, SHEETBATCH_DATA=str(tmp_path / "data"))
    for name in ("REDIS_URL", "IDEOGRAM_API_KEY", "OPENAI_API_KEY", "SHEETBATCH_PROVIDER"):
        env.pop(name, None)
    result = run(["run", str(sheet), "--out", str(tmp_path / "out")], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "control character" in result.stdout
    assert results_sheet(tmp_path / "out", "odd").cell(2, 1).value == "a kite with a bell"


def test_max_cost_at_or_above_the_estimate_confirms_and_a_refused_run_leaves_no_folder(
        worker_env, image_api, tmp_path):
    sheet = kite_sheet(tmp_path)  # 3 images of model 3.0: USD 0.18
    out = tmp_path / "results" / "kites"  # neither folder exists yet
    unconfirmed = paid_run(sheet, out, worker_env)
    below = paid_run(sheet, out, worker_env, "--max-cost", "0.17")
    assert unconfirmed.returncode == 1 and "--max-cost 0.18" in unconfirmed.stderr
    assert below.returncode == 1 and "more than --max-cost 0.17" in below.stderr, below.stderr
    assert not (tmp_path / "results").exists()  # refused: nothing left behind
    assert image_api.stats()["calls"] == 0
    at = paid_run(sheet, out, worker_env, "--max-cost", "0.18")  # no --yes: the ceiling confirms
    assert at.returncode == 0, at.stdout + at.stderr
    above = paid_run(sheet, tmp_path / "again", worker_env, "--max-cost", "5")
    assert above.returncode == 0, above.stdout + above.stderr
    assert image_api.stats()["generated"] == 6
    assert "Traceback" not in unconfirmed.stderr + below.stderr + at.stderr + above.stderr
