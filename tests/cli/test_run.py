"""`sheetbatch run` end to end, as a person runs it: a real process, Ctrl-C, a second run."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from server.sheet.columns import RESULT_COLUMNS
from tests.conftest import ROOT, wait_for

pytestmark = pytest.mark.processes  # these run the installed `sheetbatch` command

SHEETBATCH = str(Path(sys.executable).parent / "sheetbatch")


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
    args = [SHEETBATCH, "run", str(sheet), "--out", str(out), "--workers", "2"]
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

    second = run(["run", str(sheet), "--out", str(out), "--workers", "2"], worker_env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Resuming" in second.stdout
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
