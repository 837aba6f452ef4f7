"""Property tests: generated valid sheets validate, survive csv/xlsx files, and a single bad
cell is reported exactly where it is."""
from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.files import read_file
from server.sheet.columns import (
    ALL_STYLES,
    ASPECT_RATIOS,
    MAX_SEED,
    MODELS,
    PALETTE_PRESETS,
    RATIOS_ONLY_3_0,
    STYLES_BY_MODEL,
    column_letter,
)
from server.sheet.request import ImageRequest
from testkit.sheet_files import FULL_HEADER, check, write_csv, write_xlsx

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Braces are left out: in a prompt they are placeholders, with rules of their own
# (tests/sheet/test_placeholders.py).
text = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"),
                             blacklist_characters="{}"), min_size=1,
               max_size=40).filter(lambda s: s.strip())


def casing(word):
    return st.sampled_from([word, word.upper(), word.capitalize(), f" {word} "])


@st.composite
def valid_row(draw, with_model=True):
    """A dict column → cell value (None = blank) satisfying every rule (model 2.0 when the
    sheet has no model column)."""
    model = draw(st.sampled_from(MODELS)) if with_model else "2.0"
    model_cell = draw(st.sampled_from({"3.0": ["3.0", 3, 3.0, "3"], "2.0": ["2.0", 2, "2"],
                                       "2a": ["2a", "2A"], "1.0": ["1.0", 1, 1.0]}[model]))
    ratios = ASPECT_RATIOS if model == "3.0" else \
        tuple(r for r in ASPECT_RATIOS if r not in RATIOS_ONLY_3_0)
    renderings = ("default", "turbo", "quality") if model == "3.0" else ("default", "turbo")
    palette = st.none()
    if model != "1.0":
        hexes = st.lists(st.from_regex(r"#[0-9A-Fa-f]{6}", fullmatch=True), min_size=1, max_size=5)
        palette = st.one_of(st.none(), st.sampled_from(PALETTE_PRESETS).flatmap(casing),
                            hexes.map(" ".join))
    return {
        "prompt": draw(text),
        "visibility": draw(st.sampled_from(["public", "private"]).flatmap(casing)),
        "aspect_ratio": draw(st.one_of(st.none(), st.sampled_from(ratios))),
        "magic_prompt": draw(st.one_of(st.none(), st.sampled_from(["on", "off"]).flatmap(casing))),
        "model": draw(st.one_of(st.none(), st.just(model_cell))) if model == "2.0" else model_cell,
        "num_images": draw(st.one_of(st.none(), st.integers(1, 4),
                                     st.integers(1, 4).map(float), st.integers(1, 4).map(str))),
        "seed_number": draw(st.one_of(st.none(), st.integers(0, MAX_SEED))),
        "rendering": draw(st.one_of(st.none(), st.sampled_from(renderings).flatmap(casing))),
        "negative_prompt": draw(st.one_of(st.none(), text)),
        "style": draw(st.one_of(st.none(),
                                st.sampled_from(STYLES_BY_MODEL[model]).flatmap(casing))),
        "color_palette": draw(palette),
    }


@st.composite
def valid_sheet(draw, max_rows=6):
    optional = [c for c in FULL_HEADER if c not in ("prompt", "visibility")]
    header = ["prompt", "visibility"] + draw(st.lists(st.sampled_from(optional), unique=True))
    header = draw(st.permutations(header))
    rows = draw(st.lists(valid_row("model" in header), min_size=1, max_size=max_rows))
    return [list(header)] + [[row[name] for name in header] for row in rows]


@SETTINGS
@given(valid_sheet())
def test_generated_valid_sheet_validates(sheet):
    report = check(sheet)
    assert report.valid, [p.as_dict() for p in report.errors]
    assert report.warnings == []
    assert list(report.rows) == list(range(2, len(sheet) + 1))
    for row in report.rows.values():
        assert row.model in MODELS and row.style in ALL_STYLES and 1 <= row.num_images <= 4
        assert row.prompt == row.prompt.strip() and row.prompt


def _as_text(value):
    """How a csv file carries the value: text, numbers written as Python prints them."""
    return "" if value is None else str(value)


@SETTINGS
@given(valid_sheet())
def test_round_trip_csv(sheet):
    with tempfile.TemporaryDirectory() as folder:
        table = read_file(write_csv(Path(folder) / "s.csv", sheet))
    assert table.rows == [[_as_text(v) for v in row] for row in sheet]
    assert table.warnings == []
    assert check(table.rows).rows == check(sheet).rows


@SETTINGS
@given(valid_sheet())
def test_round_trip_xlsx(sheet):
    with tempfile.TemporaryDirectory() as folder:
        table = read_file(write_xlsx(Path(folder) / "s.xlsx", sheet))
    assert check(table.rows).rows == check(sheet).rows


def _ratio_time(draw):
    ratio = draw(st.sampled_from([r for r in ASPECT_RATIOS if int(r.split(":")[0]) < 24]))
    hours, minutes = map(int, ratio.split(":"))
    return dt.time(hours, minutes), ratio


@SETTINGS
@given(st.data())
def test_time_cells_round_trip_xlsx_as_warnings(data):
    value, ratio = _ratio_time(data.draw)
    sheet = [["prompt", "visibility", "model", "aspect_ratio"], ["p", "public", "3.0", value]]
    with tempfile.TemporaryDirectory() as folder:
        table = read_file(write_xlsx(Path(folder) / "s.xlsx", sheet, formats={"D2": "h:mm"}))
    report = check(table.rows)
    assert report.valid and report.rows[2].aspect_ratio == ratio
    assert [(w.cell, w.value) for w in report.warnings] == [("D2", value.isoformat())]


INVALID_CELLS = {
    "prompt": ["", "   "],
    "visibility": ["", "secret", "publicly"],
    "aspect_ratio": ["7:5", "16/9", "0:0", dt.time(7, 5)],
    "magic_prompt": ["yes", "true"],
    "model": ["4.0", "v3", "2b", 5],
    "num_images": [0, 5, 2.5, "two", -1],
    "seed_number": [-1, MAX_SEED + 1, 0.5, "seed"],
    "rendering": ["ultra", "fast"],
    "style": ["cartoon", "photo"],
    "color_palette": ["#12345", "rainbow", " ".join(["#ABCDEF"] * 6)],
}


@SETTINGS
@given(st.data())
def test_single_bad_cell_reported_exactly_there(data):
    sheet = data.draw(valid_sheet())
    candidates = [name for name in sheet[0] if name in INVALID_CELLS]
    column = data.draw(st.sampled_from(candidates))
    row = data.draw(st.integers(1, len(sheet) - 1))
    value = data.draw(st.sampled_from(INVALID_CELLS[column]))
    index = sheet[0].index(column)
    sheet[row][index] = value
    report = check(sheet)
    cell = f"{column_letter(index)}{row + 1}"
    assert [(p.cell, p.column, p.row) for p in report.errors] == [(cell, column, row + 1)], \
        [p.as_dict() for p in report.errors]
    assert report.warnings == []
    assert row + 1 not in report.rows
    assert sorted(report.rows) == [r + 1 for r in range(1, len(sheet)) if r != row]


@SETTINGS
@given(st.data())
def test_model_conflict_reported_at_the_setting_cell(data):
    """A valid 3.0-only setting on an older model: the error is on the setting, not the model."""
    sheet = data.draw(valid_sheet())
    for name in ("model", "rendering"):
        if name not in sheet[0]:
            sheet[0].append(name)
            for r in range(1, len(sheet)):
                sheet[r].append(None)
    row = data.draw(st.integers(1, len(sheet) - 1))
    model_index, rendering_index = sheet[0].index("model"), sheet[0].index("rendering")
    sheet[row][model_index] = data.draw(st.sampled_from(["2.0", "2a", "1.0"]))
    for name in ("aspect_ratio", "style", "color_palette"):
        if name in sheet[0]:
            sheet[row][sheet[0].index(name)] = None
    sheet[row][rendering_index] = "quality"
    report = check(sheet)
    assert [(p.cell, p.column) for p in report.errors] == \
        [(f"{column_letter(rendering_index)}{row + 1}", "rendering")]


@SETTINGS
@given(valid_sheet())
def test_every_valid_row_survives_the_queue(sheet):
    # One serialisation of a request (Redis, jobs): every field of every valid row comes back
    # with its type (a colour palette stays a tuple, a seed an int).
    for request in check(sheet).rows.values():
        again = ImageRequest.from_json(request.to_json())
        assert again == request
        assert [type(getattr(again, name)) for name in vars(request)] == \
            [type(value) for value in vars(request).values()]
        assert again.fingerprint(2, "ideogram") == request.fingerprint(2, "ideogram")


@SETTINGS
@given(valid_sheet(max_rows=1), st.sampled_from(["prompt", "model", "aspect_ratio",
                                                 "seed_number", "color_palette", "style"]))
def test_a_fingerprint_changes_with_what_shapes_the_image(sheet, name):
    [request] = check(sheet).rows.values()
    other = {"prompt": request.prompt + " again", "model": "3.0" if request.model != "3.0"
             else "2.0", "aspect_ratio": "1:1" if request.aspect_ratio != "1:1" else "16:9",
             "seed_number": (request.seed_number or 0) + 1, "style": "auto"
             if request.style != "auto" else "general",
             "color_palette": ("#000000",) if request.color_palette != ("#000000",) else "ember"}
    changed = replace(request, **{name: other[name]})
    assert changed.fingerprint(1, "ideogram") != request.fingerprint(1, "ideogram")
    assert request.fingerprint(1, "ideogram") not in (request.fingerprint(2, "ideogram"),
                                                      request.fingerprint(1, "preview"))
    assert replace(request, visibility="public").fingerprint(1, "x") == request.fingerprint(1, "x")
