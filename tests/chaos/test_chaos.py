"""Chaos, reduced (the full sizes are `bench/chaos.py`): what happens to people's runs, done to a
real `sheetbatch run` with its own embedded Redis and real worker processes, against the
image-API fake. Goals (issue 8): nothing lost, nothing stale, nothing stuck, duplicates only for
workers killed mid-call, estimate = bill otherwise, nothing paid and thrown away."""
from __future__ import annotations

import signal
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

from server.storage import LocalStorage
from testkit import chaos

pytestmark = pytest.mark.processes

ROWS, IMAGES = 8, 1


@pytest.fixture
def run_env(worker_env, tmp_path):
    """A person's environment: a paid provider, no REDIS_URL (each run has its own Redis)."""
    env = dict(worker_env, SHEETBATCH_DATA=str(tmp_path / "data"))
    env.pop("REDIS_URL")
    return env


@pytest.fixture
def run(run_env, image_api, tmp_path):
    image_api.configure(latency=0.3)
    return chaos.Run(run_env, tmp_path, image_api, ROWS, IMAGES)


def assert_exact(figures: chaos.Figures) -> None:
    assert (figures.delivered, figures.stale, figures.stuck) == (figures.images, 0, 0), figures
    assert figures.duplicates <= figures.killed_mid_call, figures
    if not figures.killed_mid_call:
        assert figures.paid == figures.images and figures.bill == figures.estimate, figures
    assert figures.paid_after_stop == 0, figures


# Ctrl-C (SIGINT to the group) is also what the ctrl_c tests below send, at many moments: its
# own run here is among the long forms (`scripts/test -m slow`).
@pytest.mark.parametrize("signum", [pytest.param(signal.SIGINT, marks=pytest.mark.slow),
                                    signal.SIGHUP, signal.SIGTERM])
def test_a_stop_signal_to_the_group_stops_cleanly_and_the_rerun_finishes(run_env, image_api,
                                                                         tmp_path, signum):
    # Enough images that the signal lands with some still queued (4 workers take 4 at a time).
    image_api.configure(latency=0.5)
    run = chaos.Run(run_env, tmp_path, image_api, 16, 1)
    figures = chaos.interrupted(run, signum, signal.Signals(signum).name)
    assert figures.exits == [1, 0] and figures.notes == "clean stop", figures
    assert_exact(figures)


def test_kill_9_of_the_run_leaves_no_orphan_paying(run):
    figures = chaos.killed_run(run)
    assert figures.exits[-1] == 0, figures
    assert_exact(figures)


def test_a_worker_killed_mid_call_costs_at_most_that_image(run):
    figures = chaos.worker_killed(run)
    assert figures.exits == [0], figures
    assert_exact(figures)


def test_losing_redis_ends_the_run_with_one_line_and_keeps_what_was_paid(run):
    figures = chaos.redis_killed(run)
    assert figures.exits == [3, 0] and figures.notes == "one line", figures
    assert_exact(figures)


def test_an_outage_makes_rows_wait_not_fail(run):
    figures = chaos.outage(run, seconds=6)
    assert figures.exits == [0], figures
    assert_exact(figures)


def test_an_edited_row_is_made_again_and_nothing_stale_is_delivered(run):
    figures = chaos.edited(run)
    assert figures.exits == [0, 0] and figures.notes == "1 row changed", figures
    assert figures.paid == ROWS * IMAGES + IMAGES  # the edited row's images, once more
    assert (figures.delivered, figures.stale, figures.duplicates) == (figures.images, 0, 0)


def test_a_failed_download_is_retried_as_a_download(run):
    figures = chaos.downloads_fail(run)
    assert figures.exits == [0], figures
    assert_exact(figures)


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)]).returncode:
        pytest.skip("mounting a small tmpfs needs root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)])


@pytest.mark.parametrize("how", ["full", "read-only"])
def test_a_failing_disk_pauses_the_batch_and_loses_nothing_paid(run_env, image_api, small_disk,
                                                                how):
    image_api.configure(latency=0.3)
    run = chaos.Run(run_env, small_disk, image_api, ROWS, IMAGES)
    figures = chaos.storage_fails(run, small_disk, how)
    assert figures.exits == [3, 0] and figures.notes.startswith("paused, one line"), figures
    assert_exact(figures)  # the rerun stored the images waiting in Redis without paying again
    # The one line says what is where, and what to do for this fault.
    said = one_line(figures.first_output)
    assert f"are in {run.out / 'images'}" in said, said
    if figures.waiting:
        assert f"{figures.waiting} more were paid for and wait in the run's Redis" in said, said
    else:
        assert "wait in the run's Redis" not in said, said
    advice, not_advice = ("free space", "writable") if how == "full" else \
        ("make it writable", "free space")
    assert advice in said and not_advice not in said, said


def test_an_edit_undone_on_a_read_only_folder_pauses_with_one_line(run_env, image_api,
                                                                  small_disk):
    """The kept image cannot be put back into a read-only folder: the run is refused before it
    plans, with one line saying what to do, and pays nothing; once writable, the rerun reuses
    the kept image."""
    run = chaos.Run(run_env, small_disk, image_api, 2, 1)
    room = {"SHEETBATCH_MIN_FREE_BYTES": "1"}  # the small disk is below the default reserve
    assert run.run(**room)[0] == 0
    original = run.prompts[2]
    run.prompts[2] = original + " at dawn"
    run.write_sheet()
    assert run.run(**room)[0] == 0
    run.prompts[2] = original
    run.write_sheet()
    paid = image_api.stats()["generated"]
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        code, said = run.run(**room)
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    assert code == 2 and chaos.no_traceback(said), said
    assert "cannot be written: make it writable" in one_line(said), said
    assert image_api.stats()["generated"] == paid  # nothing paid while it could not be kept
    code, said = run.run(**room)
    assert code == 0 and "Nothing to make" in said, said
    assert image_api.stats()["generated"] == paid


def test_two_runs_on_one_redis_each_pay_with_their_own_key(worker_env, image_api, tmp_path):
    image_api.configure(latency=0.3, extra_api_keys=["second-person-key"])
    env = dict(worker_env, SHEETBATCH_DATA=str(tmp_path / "data"))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    big = chaos.Run(env, tmp_path / "a", image_api, 16, 1)
    small = chaos.Run(env, tmp_path / "b", image_api, 2, 1)
    small.prompts = {row: f"a small boat number {row}" for row in small.prompts}
    small.write_sheet()
    figures, timing = chaos.two_runs(big, small, image_api.api_key, "second-person-key")
    assert figures.exits == [0, 0], figures
    assert timing["by_key"] == {image_api.api_key: 16, "second-person-key": 2}, timing
    assert timing["small_seconds"] < timing["big_seconds"], timing


# --- the run itself (issue 19) ---------------------------------------------------------------

def test_one_out_folder_from_two_data_folders_is_one_run_at_a_time(worker_env, image_api,
                                                                    tmp_path):
    image_api.configure(latency=2)  # one worker: the first run is busy for 24 s
    envs = []
    for name in ("data-a", "data-b"):
        env = dict(worker_env, SHEETBATCH_DATA=str(tmp_path / name))
        env.pop("REDIS_URL")  # each data folder, its own embedded Redis
        envs.append(env)
    first, second = (chaos.Run(env, tmp_path, image_api, 12, IMAGES) for env in envs)
    figures, refused, finished = chaos.two_data_folders(first, second)
    assert figures.exits[1] == 2 and "Another sheetbatch run" in refused, refused
    assert figures.exits[0] == 1 and figures.exits[2] == 0, (figures, finished)
    # The second pays for nothing the first made: one paid image per image in the sheet.
    assert (figures.paid, figures.delivered, figures.duplicates) == (figures.images,) * 2 + (0,)
    assert chaos.no_traceback(refused + finished)


def test_an_edit_undone_pays_nothing_and_delivers_the_original_images(run):
    row = 3
    figures, outputs = chaos.edit_reverted(run, row)
    assert figures.exits == [0, 0, 0], figures
    assert "1 row(s) changed" in outputs[1] and "Nothing to make" in outputs[2], outputs[2]
    assert figures.paid == ROWS * IMAGES + IMAGES  # the edit once; the undo nothing
    assert (figures.delivered, figures.stale, figures.duplicates) == (figures.images, 0, 0)
    # The workbook links, and the ZIP holds, the image of the original prompt (the fake's image
    # bytes depend on the prompt).
    book = next(run.out.glob("*-results.xlsx"))
    sheet = openpyxl.load_workbook(book).active
    header = [cell.value for cell in sheet[1]]
    linked = sheet.cell(row, header.index("image_1") + 1).value
    assert "dawn" not in linked, linked
    with zipfile.ZipFile(run.out / "images.zip") as archive:
        pngs = [name for name in archive.namelist() if name.endswith(".png")]
        assert len(pngs) == ROWS * IMAGES and not any("dawn" in name for name in pngs), pngs
        [entry] = [name for name in pngs if name.endswith(Path(linked).name)]
        assert archive.read(entry) == (run.out / linked).read_bytes()
    [stored] = [image for image in LocalStorage(run.out).list("images") if image.row == row]
    assert stored.name == Path(linked).name


def stop_many_times(run_env, image_api, tmp_path, stops: int) -> None:
    """Ctrl-C `stops` times, each at another moment of the batch: never a traceback, exit 1,
    the workbook and ZIP written, every paid image kept, no call started after the signal."""
    image_api.configure(latency=0.3)
    late, in_bound = [], 0
    for attempt in range(stops):
        image_api.configure(reset_stats=True)
        folder = tmp_path / f"stop-{attempt}"
        folder.mkdir()
        run = chaos.Run(run_env, folder, image_api, 16, 1)
        stop = chaos.ctrl_c(run, after_images=1 + attempt % 4, offset=0.037 * attempt % 0.3)
        assert chaos.no_traceback(stop.output), stop.output
        assert stop.exit_code == 1, stop.output  # not all done (README: exit codes)
        assert stop.outputs_written, stop.output
        assert stop.paid == stop.kept, stop  # every image in progress finished and kept
        late += stop.late_calls
        in_bound += stop.calls_in_bound
    print(f"{stops} stops: {in_bound} call(s) within {chaos.CALL_AFTER_SIGNAL_BOUND} s of the "
          f"signal, {len(late)} later")
    assert late == [], f"calls started {late} s after the signal"


def test_ctrl_c_at_any_moment_is_a_clean_stop_that_pays_nothing_after_it(run_env, image_api,
                                                                          tmp_path):
    stop_many_times(run_env, image_api, tmp_path, 4)  # a few seconds each on an idle machine


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_ctrl_c_many_times(run_env, image_api, tmp_path):
    stop_many_times(run_env, image_api, tmp_path, 12)


def test_a_second_ctrl_c_still_writes_the_results(run_env, image_api, tmp_path):
    image_api.configure(latency=0.5)
    run = chaos.Run(run_env, tmp_path, image_api, 16, 1)
    stop = chaos.ctrl_c(run, after_images=2, offset=0, twice=True)
    assert chaos.no_traceback(stop.output), stop.output
    assert stop.exit_code == 1 and stop.outputs_written, stop.output
    assert stop.late_calls == [], stop


def test_an_outage_shows_on_the_progress_line(run_env, image_api, tmp_path):
    image_api.configure(latency=0.3, server_error_every=1)  # every call a 503, until it heals
    run = chaos.Run(run_env, tmp_path, image_api, 4, 1)
    terminal = chaos.Terminal(run.args(), dict(run_env, COLUMNS="300"))
    try:
        terminal.wait_for_text("ideogram is not answering")
    finally:
        image_api.configure(server_error_every=0)
    exit_code, shown = terminal.finish()
    assert exit_code == 0 and chaos.no_traceback(shown), shown
    assert "retrying" in shown, shown
    assert image_api.stats()["generated"] == 4


def one_line(output: str) -> str:
    """The output with line breaks undone (rich wraps a long line at the terminal's width)."""
    return " ".join(output.split())


def test_a_reserve_above_the_free_space_pauses_with_the_advice_to_free_space(run_env, image_api,
                                                                              tmp_path):
    run = chaos.Run(run_env, tmp_path, image_api, 4, 1)
    first_exit, first = run.run(SHEETBATCH_MIN_FREE_BYTES=str(10**18))
    said = one_line(first)
    assert first_exit == 3 and chaos.no_traceback(first), first
    assert "free space" in said and "writable" not in said, said
    assert f"0 image(s) are in {run.out / 'images'}" in said, said
    assert "wait in the run's Redis" not in said  # nothing was paid: the check comes first
    assert image_api.stats()["calls"] == 0
    second_exit, second = run.run()
    assert second_exit == 0, second
    assert image_api.stats()["generated"] == 4
