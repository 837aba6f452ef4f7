"""The soak through the sheet path, small enough for CI (`bench/soak.py` runs it at full size):
rows inserted, sorted and deleted, Redis restarted, Sheets answering 429 for a while and the web
process restarted, all mid-batch; every row still ends done on its own row, every image made
once, the bill equal to the estimate, write-back within its request budget."""
from __future__ import annotations

import pytest

from testkit.soak import Soak

ROWS, IMAGES = 30, 2


@pytest.mark.processes
def test_soak_through_the_sheet_path(tmp_path):
    outcome = Soak(tmp_path, rows=ROWS, images=IMAGES, workers=4, latency=(0.2, 0.6),
                   sheets_outage=15).run()
    assert [what for _, what in outcome.events][:5] == [
        "3 rows inserted, rows sorted (des), 1 inserted row deleted",
        "Redis restarted (append-only file)", "Sheets answers 429 to everything for 15 s",
        "web process (gunicorn) restarted",
        "3 rows inserted, rows sorted (asc), 1 inserted row deleted"]
    assert outcome.rows == ROWS and outcome.misplaced == []
    assert outcome.rows_done_on_their_row == ROWS
    assert outcome.distinct_images == outcome.stored_images == ROWS * IMAGES
    assert outcome.paid == ROWS * IMAGES  # none paid twice
    assert outcome.bill == pytest.approx(outcome.estimate)
    assert outcome.write_back_peak_per_minute <= 240
    assert outcome.person_peak_per_minute <= 60
