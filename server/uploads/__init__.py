"""Batches from uploaded .csv/.xls/.xlsx files: the short-lived store of uploads and the
file-batch service every upload surface goes through (receive, check, estimate, start, discard)."""
