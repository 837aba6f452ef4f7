"""The Sheets API requests the emulator logged, counted as Google's quotas count them: which are
write-back's own, and the most in any 60 seconds (the soak and bench/sheets.py report both)."""
from __future__ import annotations

# The methods write-back calls; every other request in the log is the person's or validation's.
WRITE_BACK_PATHS = ("values:batchUpdateByDataFilter", "developerMetadata:search",
                    "values:batchGetByDataFilter")


def is_write_back(entry: dict) -> bool:
    return entry["path"].endswith(WRITE_BACK_PATHS)


def peak_per_minute(entries: list[dict]) -> int:
    """The most entries in any 60-second window (a sliding window over their times)."""
    times, best, low = sorted(e["time"] for e in entries), 0, 0
    for high, moment in enumerate(times):
        while moment - times[low] >= 60:
            low += 1
        best = max(best, high - low + 1)
    return best
