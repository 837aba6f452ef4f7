"""Every rule of DESIGN.md "The sheet schema" and the `validate --json` contract, table-driven."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from server.config import Settings
from server.money.cost import Cost, sheet_cost
from server.money.prices import PriceTable
from server.sheet.capabilities import IDEOGRAM, PREVIEW
from server.sheet.columns import MAX_DATA_ROWS, column_letter
from testkit.sheet_files import (
    FULL_HEADER,
    PRICES,
    as_json,
    check,
    errors_of,
    one_row,
    realistic_rows,
    warnings_of,
)

RATIOS = "1:1 16:9 9:16 4:3 3:4 3:2 2:3 16:10 10:16 1:3 3:1 1:2 2:1 4:5 5:4".split()
OLD_MODELS = ("2.0", "2a", "1.0")


def only_request(report):
    assert report.valid, [p.as_dict() for p in report.errors]
    assert len(report.rows) == 1
    return next(iter(report.rows.values()))


def only_error(report, column, cell="C2"):
    assert errors_of(report) == [(cell, column)], [p.as_dict() for p in report.errors]
    return report.errors[0]


# ---------------------------------------------------------------- valid values and normalising

VALID = [
    # column, cell value, normalised field value
    ("prompt", "a red fox", "a red fox"),
    ("prompt", "  padded prompt \t", "padded prompt"),
    ("prompt", 42, "42"),
    ("visibility", "public", "public"),
    ("visibility", "private", "private"),
    ("visibility", " PRIVATE ", "private"),
    ("visibility", "Public", "public"),
    ("magic_prompt", "on", "on"),
    ("magic_prompt", "off", "off"),
    ("magic_prompt", " OFF ", "off"),
    ("magic_prompt", "On", "on"),
    ("model", "3.0", "3.0"),
    ("model", "2.0", "2.0"),
    ("model", "2a", "2a"),
    ("model", "2A", "2a"),
    ("model", " 1.0 ", "1.0"),
    ("model", 3, "3.0"),
    ("model", 3.0, "3.0"),
    ("model", "3", "3.0"),
    ("model", 2, "2.0"),
    ("model", 2.0, "2.0"),
    ("model", 1, "1.0"),
    ("model", "1", "1.0"),
    ("num_images", 1, 1),
    ("num_images", 4, 4),
    ("num_images", 2.0, 2),
    ("num_images", "3", 3),
    ("num_images", " 2 ", 2),
    ("seed_number", 0, 0),
    ("seed_number", 2147483647, 2147483647),
    ("seed_number", "2147483647", 2147483647),
    ("seed_number", 12345.0, 12345),
    ("seed_number", " 7 ", 7),
    ("rendering", "default", "default"),
    ("rendering", "turbo", "turbo"),
    ("rendering", "TURBO", "turbo"),
    ("negative_prompt", "blurry, text", "blurry, text"),
    ("negative_prompt", "  blurry  ", "blurry"),
    ("style", "auto", "auto"),
    ("style", "General", "general"),
    ("style", "REALISTIC", "realistic"),
    ("style", "design", "design"),
    ("style", "3D", "3d"),
    ("style", "Anime", "anime"),
    ("color_palette", "ember", "ember"),
    ("color_palette", "ULTRAMARINE", "ultramarine"),
    ("color_palette", " Pastel ", "pastel"),
    ("color_palette", "#CBA324", ("#CBA324",)),
    ("color_palette", "#cba324 #F86C14", ("#CBA324", "#F86C14")),
    ("color_palette", "#000000 #111111 #222222 #333333 #444444",
     ("#000000", "#111111", "#222222", "#333333", "#444444")),
] + [("aspect_ratio", ratio, ratio) for ratio in RATIOS
     if ratio not in ("1:2", "2:1", "4:5", "5:4")] \
  + [("aspect_ratio", f" {r} ", r) for r in ("16:9",)]


@pytest.mark.parametrize("column,value,expected", VALID,
                         ids=[f"{c}={v!r}" for c, v, _ in VALID])
def test_valid_value_is_normalised(column, value, expected):
    request = only_request(check(one_row(column, value)))
    assert getattr(request, column) == expected
    assert check(one_row(column, value)).warnings == []


@pytest.mark.parametrize("ratio", RATIOS)
def test_all_fifteen_ratios_valid_with_model_3(ratio):
    request = only_request(check(one_row("aspect_ratio", ratio, model="3.0")))
    assert request.aspect_ratio == ratio


def test_presets_all_accepted():
    for preset in "ember fresh jungle magic melon mosaic pastel ultramarine".split():
        assert only_request(check(one_row("color_palette", preset.upper()))).color_palette == preset


DEFAULTS = {"aspect_ratio": "1:1", "magic_prompt": "on", "model": "2.0", "num_images": 4,
            "seed_number": None, "rendering": "default", "negative_prompt": None,
            "style": "auto", "color_palette": None}


@pytest.mark.parametrize("blank", [None, "", "   ", "\t"], ids=["none", "empty", "spaces", "tab"])
@pytest.mark.parametrize("column", list(DEFAULTS))
def test_blank_cell_takes_default(column, blank):
    request = only_request(check(one_row(column, blank)))
    assert getattr(request, column) == DEFAULTS[column]


def test_missing_optional_columns_take_defaults():
    request = only_request(check([["prompt", "visibility"], ["x", "public"]]))
    for column, default in DEFAULTS.items():
        assert getattr(request, column) == default


# ---------------------------------------------------------------- invalid values

INVALID = [
    # column, value, key words every message must contain, other cells in the row
    ("prompt", None, ["prompt", "empty"], {}),
    ("prompt", "   ", ["prompt", "empty"], {}),
    ("visibility", None, ["public", "private"], {}),
    ("visibility", "secret", ["public", "private"], {}),
    ("magic_prompt", "yes", ["on", "off"], {}),
    ("model", "4.0", ["3.0", "2.0", "2a", "1.0"], {}),
    ("model", "v3", ["3.0", "2.0", "2a", "1.0"], {}),
    ("model", 4, ["3.0", "2.0", "2a", "1.0"], {}),
    ("model", "2b", ["3.0", "2.0", "2a", "1.0"], {}),
    ("num_images", 0, ["1", "4"], {}),
    ("num_images", 5, ["1", "4"], {}),
    ("num_images", -1, ["1", "4"], {}),
    ("num_images", 2.5, ["whole", "1", "4"], {}),
    ("num_images", "2.5", ["whole", "1", "4"], {}),
    ("num_images", "two", ["whole", "1", "4"], {}),
    ("num_images", True, ["whole"], {}),
    ("seed_number", -1, ["0", "2147483647"], {}),
    ("seed_number", 2147483648, ["0", "2147483647"], {}),
    ("seed_number", "99999999999", ["0", "2147483647"], {}),
    ("seed_number", 1.5, ["whole", "2147483647"], {}),
    ("seed_number", "abc", ["whole", "2147483647"], {}),
    ("rendering", "ultra", ["default", "turbo", "quality"], {}),
    ("style", "cartoon", ["auto", "general", "realistic", "design"], {}),
    ("color_palette", "#12345", ["#", "ember", "ultramarine"], {}),
    ("color_palette", "#GGGGGG", ["#", "pastel"], {}),
    ("color_palette", "#CBA324,#F86C14", ["#", "spaces"], {}),
    ("color_palette", "rainbow", ["ember", "fresh", "jungle", "magic", "melon", "mosaic",
                                  "pastel", "ultramarine"], {}),
    ("color_palette", "pastel #CBA324", ["preset"], {}),
    ("color_palette", " ".join(["#ABCDEF"] * 6), ["5", "6"], {}),
    ("aspect_ratio", "7:5", RATIOS, {}),
    ("aspect_ratio", "16/9", ["16:9", "1:1"], {}),
    ("aspect_ratio", 1, ["16:9"], {}),
    ("aspect_ratio", dt.time(7, 5), ["16:9"], {}),
    ("aspect_ratio", dt.time(16, 9, 30), ["16:9"], {}),
    ("aspect_ratio", "16:09:30", ["16:9"], {}),
    ("aspect_ratio", dt.timedelta(hours=7, minutes=5), ["16:9"], {}),
    ("aspect_ratio", dt.datetime(2024, 3, 16, 9, 0), ["16:9"], {}),
    # model-dependent rules
    *[("aspect_ratio", r, [r, "3.0", m], {"model": m}) for r in ("1:2", "2:1", "4:5", "5:4")
      for m in OLD_MODELS],
    *[("rendering", "quality", ["quality", "3.0", m, "default", "turbo"], {"model": m})
      for m in OLD_MODELS],
    ("rendering", "Quality", ["quality", "3.0"], {}),  # default model 2.0
    ("style", "3d", ["3d", "3.0", "auto", "general", "realistic", "design"], {"model": "3.0"}),
    ("style", "ANIME", ["anime", "3.0", "auto", "general", "realistic", "design"],
     {"model": "3.0"}),
    ("color_palette", "pastel", ["2.0", "1.0"], {"model": "1.0"}),
    ("color_palette", "#CBA324", ["2.0", "1.0"], {"model": 1}),
]


def _id(case):
    column, value, _, others = case
    return f"{column}={value!r}" + "".join(f",{k}={v}" for k, v in others.items())


@pytest.mark.parametrize("column,value,words,others", INVALID, ids=[_id(c) for c in INVALID])
def test_invalid_value_is_an_error_at_its_cell(column, value, words, others):
    rows = one_row(column, value, **others)
    report = check(rows)
    problem = only_error(report, column, f"{column_letter(rows[0].index(column))}2")
    assert problem.row == 2
    for word in words:
        assert word.lower() in problem.message.lower(), (word, problem.message)
    assert report.rows == {}  # the row is not generated


def test_style_3d_anime_fine_with_old_models():
    for model in OLD_MODELS:
        for style in ("3d", "anime"):
            assert only_request(check(one_row("style", style, model=model))).style == style


def test_style_error_for_model_3_does_not_list_older_only_styles():
    problem = only_error(check(one_row("style", "3d", model="3.0")), "style")
    listed = problem.message.split(":", 1)[1]
    assert "3d" not in listed and "anime" not in listed


def test_unknown_style_message_names_the_rows_model_styles():
    problem = only_error(check(one_row("style", "cartoon", model="3.0")), "style")
    assert "3d" not in problem.message and "anime" not in problem.message


@pytest.mark.parametrize("value", [2.96, "2.95", 2.04, "1.04", 3.01],
                         ids=lambda v: repr(v))
def test_model_non_integral_near_miss_is_error(value):
    only_error(check(one_row("model", value)), "model")


def test_bad_model_and_unknown_style_both_reported():
    report = check(one_row("model", "9", style="cartoon"))
    assert errors_of(report) == [("C2", "model"), ("D2", "style")]
    style = report.errors[1].message
    for word in ("cartoon", "auto", "general", "realistic", "design", "3d", "anime"):
        assert word in style


@pytest.mark.parametrize("model", ["3.0", 3, "3"])
@pytest.mark.parametrize("ratio", ["1:2", "2:1", "4:5", "5:4"])
def test_3_0_only_ratios_accepted_with_3_0(ratio, model):
    assert only_request(check(one_row("aspect_ratio", ratio, model=model))).aspect_ratio == ratio


def test_quality_and_palette_with_3_0():
    request = only_request(check(one_row("rendering", "quality", model="3.0",
                                         color_palette="ember")))
    assert (request.rendering, request.color_palette, request.model) == ("quality", "ember", "3.0")


@pytest.mark.parametrize("model", ["3.0", "2.0", "2a"])
def test_palette_allowed_from_2_0(model):
    request = only_request(check(one_row("color_palette", "magic", model=model)))
    assert request.color_palette == "magic"


def test_bad_model_suppresses_model_conflicts():
    report = check(one_row("model", "9", style="3d", aspect_ratio="4:5"))
    assert errors_of(report) == [("C2", "model")]


def test_conflict_value_is_shown():
    problem = only_error(check(one_row("rendering", "quality", model="2a")), "rendering")
    assert problem.value == "quality"
    assert problem.as_dict()["value"] == "quality"


# ---------------------------------------------------------------- spreadsheet times

TIMES = [
    ("time-16:09", dt.time(16, 9), "16:9", "16:09:00"),
    ("time-02:03", dt.time(2, 3), "2:3", "02:03:00"),
    ("time-10:16", dt.time(10, 16), "10:16", "10:16:00"),
    ("time-01:01", dt.time(1, 1), "1:1", "01:01:00"),
    ("text-16:09:00", "16:09:00", "16:9", "16:09:00"),
    ("text-2:03:00", "2:03:00", "2:3", "2:03:00"),
    ("timedelta-16:09", dt.timedelta(hours=16, minutes=9), "16:9", "16:09:00"),
    ("timedelta-3:04", dt.timedelta(hours=3, minutes=4), "3:4", "03:04:00"),
    ("epoch-datetime", dt.datetime(1899, 12, 30, 9, 16), "9:16", "09:16:00"),
    ("epoch-datetime-1900", dt.datetime(1900, 1, 1, 4, 3), "4:3", "04:03:00"),
]


@pytest.mark.parametrize("value,ratio,seen", [t[1:] for t in TIMES], ids=[t[0] for t in TIMES])
def test_time_value_is_warning_normalised_to_ratio(value, ratio, seen):
    report = check(one_row("aspect_ratio", value))
    request = only_request(report)
    assert request.aspect_ratio == ratio
    assert warnings_of(report) == [("C2", "aspect_ratio")]
    warning = report.warnings[0]
    assert warning.value == seen
    assert warning.row == 2
    assert ratio in warning.message and seen in warning.message
    assert "text" in warning.message.lower()


def test_time_ratio_needing_3_0_warns_and_errors_on_older_model():
    report = check(one_row("aspect_ratio", dt.time(4, 5), model="2.0"))
    assert warnings_of(report) == [("C2", "aspect_ratio")]
    problem = only_error(report, "aspect_ratio")
    assert "3.0" in problem.message and "4:5" in problem.message
    assert problem.value == "04:05:00"


def test_time_ratio_needing_3_0_fine_with_3_0():
    report = check(one_row("aspect_ratio", dt.time(5, 4), model="3.0"))
    assert only_request(report).aspect_ratio == "5:4"


# ---------------------------------------------------------------- headers

def header_case(header, data=None):
    data = data or ["a cat", "public", "16:9"][:len(header)]
    return check([header, data])


@pytest.mark.parametrize("written,exact", [
    ("Prompt", "prompt"), (" model", "model"), ("VISIBILITY", "visibility"),
    ("aspect_ratio ", "aspect_ratio"), ("Style", "style"), ("Num_Images", "num_images"),
], ids=["Prompt", "space-model", "VISIBILITY", "aspect_ratio-space", "Style", "Num_Images"])
def test_near_miss_header_is_error_suggesting_exact_name(written, exact):
    header = ["prompt", "visibility", "model"]
    header = [written if h == exact else h for h in header]
    if written not in header:
        header.append(written)
    report = check([header, ["a", "public", "2.0", "x"][:len(header)]])
    near = [p for p in report.errors if p.column == written]
    assert len(near) == 1, [p.as_dict() for p in report.errors]
    problem = near[0].as_dict()
    assert problem["cell"] == f"{column_letter(header.index(written))}1" and problem["row"] == 1
    assert problem["column"] == written
    assert f"rename it to {exact}." in problem["message"]
    assert near[0].rename_to == exact
    # a near miss of a required column is not also reported as missing
    assert not [p for p in report.errors if "missing" in p.message]


@pytest.mark.parametrize("written,exact", [
    ("Aspect Ratio", "aspect_ratio"), ("Num Images", "num_images"), ("Seed Number", "seed_number"),
    ("Negative Prompt", "negative_prompt"), ("Color Palette", "color_palette"),
    ("magic-prompt", "magic_prompt"), ("Model", "model"), ("Seed", "seed_number"),
    ("Colour palette", "color_palette"), ("Number of images", "num_images"),
])
def test_friendly_header_is_an_error_on_its_header_cell_never_ignored(written, exact):
    """The person's `Aspect Ratio` column was dropped with a warning and every row was made 1:1
    at 4 images: now no row can start until it is renamed."""
    report = check([["prompt", "visibility", written], ["a cat", "public", "2"]])
    assert not report.valid
    (problem,) = report.errors
    assert (problem.cell, problem.column, problem.rename_to) == ("C1", written, exact)
    assert problem.message == (f'The header "{written}" must be written exactly {exact}: rename '
                               f"it to {exact}. Until then nothing in this column would be used.")
    assert report.warnings == []


def test_friendly_header_beside_the_exact_one_asks_to_keep_one():
    report = check([["prompt", "visibility", "aspect_ratio", "Aspect Ratio"],
                    ["a", "public", "16:9", "2:3"]])
    (problem,) = report.errors
    assert problem.cell == "D1" and problem.rename_to is None
    assert "means aspect_ratio, which column C already has" in problem.message


def test_unrelated_header_stays_a_warning():
    report = check([["prompt", "visibility", "Seeds of doubt"], ["a", "public", "x"]])
    assert report.valid and "ignored" in report.warnings[0].message


@pytest.mark.parametrize("rows", [[], [[]], [[None, " "], [], [None]]],
                         ids=["none", "blank", "spaces"])
def test_an_empty_sheet_says_so(rows):
    """It said "two required columns missing"."""
    report = check(rows)
    (problem,) = report.errors
    assert problem.message.startswith("This sheet is empty") and problem.cell is None


@pytest.mark.parametrize("value,meant", [("16 : 9", "16:9"), ("2x3", "2:3"), ("2/3", "2:3"),
                                         ("4 by 5", "4:5")])
def test_a_ratio_written_almost_right_gets_did_you_mean(value, meant):
    problem = only_error(check(one_row("aspect_ratio", value, model="3.0")), "aspect_ratio")
    assert problem.message.startswith(f"Did you mean {meant}?")


@pytest.mark.parametrize("value", [dt.datetime(2025, 2, 3), dt.date(2025, 2, 3), "2/3/2025"])
def test_a_ratio_excel_turned_into_a_date_says_so(value):
    problem = only_error(check(one_row("aspect_ratio", value)), "aspect_ratio")
    assert problem.message.startswith("Your spreadsheet turned 2/3 or 3/2 into a date")
    assert "such as 2:3" in problem.message


def test_duplicate_known_header_is_error():
    report = check([["prompt", "visibility", "model", "model"], ["a", "public", "2.0", "3.0"]])
    assert len(report.errors) == 1
    problem = report.errors[0].as_dict()
    assert problem["column"] == "model" and problem["cell"] == "D1"
    assert "twice" in problem["message"]
    assert not report.valid


def test_unknown_header_is_warning_and_ignored():
    report = check([["prompt", "visibility", "notes"], ["a", "public", "anything"]])
    assert report.valid
    assert len(report.warnings) == 1
    warning = report.warnings[0].as_dict()
    assert warning["column"] == "notes" and warning["cell"] == "C1"
    assert "notes" in warning["message"] and "ignored" in warning["message"]


def test_unknown_header_close_to_known_suggests_it():
    report = check([["prompt", "visibility", "num_image"], ["a", "public", "1"]])
    assert '"num_images"' in report.warnings[0].message


@pytest.mark.parametrize("column", ["status", "image_1", "image_2", "image_3", "image_4",
                                    "preview", "used_seed", "used_prompt", "error"])
def test_result_columns_silently_ignored(column):
    report = check([["prompt", "visibility", column], ["a", "public", "done"],
                    [None, None, "leftover"]])
    assert report.valid and report.warnings == []
    assert report.row_count == 1  # a row holding only result cells is empty
    assert report.result_columns == {column: 2}


@pytest.mark.parametrize("header,missing", [
    (["visibility"], ["prompt"]),
    (["prompt"], ["visibility"]),
    (["model", "style"], ["prompt", "visibility"]),
    ([None, "notes"], ["prompt", "visibility"]),
], ids=["no-prompt", "no-visibility", "neither", "none-of-ours"])
def test_missing_required_columns(header, missing):
    report = check([header, ["x"] * len(header)])
    found = [p for p in report.errors if "missing" in p.message]
    assert [p.column for p in found] == missing
    for problem in found:
        assert problem.cell is None and problem.row is None
        assert problem.column in problem.message
    assert report.rows == {}


def test_empty_sheet_is_error():
    assert not check([]).valid


def test_header_order_is_free():
    report = check([["style", "model", "visibility", "prompt"], ["3d", "2a", "public", "x"]])
    request = only_request(report)
    assert (request.prompt, request.visibility, request.model, request.style) == \
        ("x", "public", "2a", "3d")


# ---------------------------------------------------------------- rows, limits, cells

def test_empty_rows_ignored_and_row_numbers_kept():
    rows = [["prompt", "visibility"], [None, None], ["ok", "public"], [], ["", "  "],
            ["bad", "nope"]]
    report = check(rows)
    assert report.row_count == 2
    assert list(report.rows) == [3]
    assert errors_of(report) == [("B6", "visibility")]
    assert report.errors[0].row == 6


def _sheet_of(count):
    return [["prompt", "visibility"]] + [[f"p{i}", "public"] for i in range(count)]


def test_499_data_rows_ok():
    report = check(_sheet_of(499))
    assert report.valid and report.row_count == 499 and len(report.rows) == 499
    assert MAX_DATA_ROWS == 499


def test_500_data_rows_is_sheet_level_error_naming_limit():
    report = check(_sheet_of(500))
    assert not report.valid
    assert report.row_count == 500
    sheet_level = [p for p in report.errors if p.cell is None]
    assert len(sheet_level) == 1 and len(report.errors) == 1
    problem = sheet_level[0].as_dict()
    assert problem["row"] is None and problem["column"] is None
    assert "499" in problem["message"] and "500" in problem["message"]


def test_empty_rows_do_not_count_towards_limit():
    rows = _sheet_of(499)
    rows[100:100] = [[None, None]] * 50
    assert check(rows).valid


@pytest.mark.parametrize("index,letters", [(0, "A"), (25, "Z"), (26, "AA"), (27, "AB"),
                                            (51, "AZ"), (52, "BA"), (701, "ZZ"), (702, "AAA")])
def test_column_letter(index, letters):
    assert column_letter(index) == letters


def test_cells_beyond_column_z():
    header = [None] * 27 + ["prompt", "visibility"]  # prompt in AB, visibility in AC
    report = check([header, [None] * 27 + ["x", "maybe"], [], [None] * 27 + ["", "public"]])
    assert errors_of(report) == [("AC2", "visibility"), ("AB4", "prompt")]


def test_problems_sorted_sheet_level_first_then_reading_order():
    rows = [["prompt", "visibility", "model", "Style"], ["", "x", "9", None],
            ["a", "public", "0", None]]
    report = check(rows)
    assert [p.cell for p in report.errors] == ["D1", "A2", "B2", "C2", "C3"]


# ---------------------------------------------------------------- images, cost, JSON contract

def test_images_and_cost_from_price_table():
    rows = [FULL_HEADER,
            ["a", "public", None, None, "3.0", 2, None, "quality", None, None, None],  # 2 × 0.09
            ["b", "public", None, None, "2a", None, None, "turbo", None, None, None],   # 4 × 0.025
            ["c", "public", None, None, None, 1, None, None, None, None, None]]        # 1 × 0.08
    report = check(rows)
    assert report.images == 7
    assert as_json(report)["cost"] == {"currency": "USD", "total": pytest.approx(0.36)}


def test_cost_counts_rows_with_errors_at_defaults():
    report = check([["prompt", "visibility", "num_images"], ["a", "nope", 2], ["b", "public", 9]])
    assert not report.valid
    assert report.images == 2 + 4
    assert as_json(report)["cost"]["total"] == pytest.approx(6 * 0.08)


def test_custom_price_table_file(tmp_path, monkeypatch):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"currency": "USD", "per_image": {
        "2.0": {"default": 1.5, "turbo": 1}, "3.0": {"default": 10}}}))
    monkeypatch.setenv("SHEETBATCH_PRICES", str(prices))
    table = PriceTable.load(Settings.from_env().prices_file)
    report = check([["prompt", "visibility", "model", "num_images", "rendering"],
                    ["a", "public", "2.0", 2, None], ["b", "public", "2.0", 1, "turbo"],
                    ["c", "public", "3.0", 1, "quality"]])
    # quality falls back to 3.0's default
    assert as_json(report, table)["cost"]["total"] == pytest.approx(2 * 1.5 + 1 + 10)


def test_custom_price_table_currency_is_reported(tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"currency": "EUR", "per_image": {"2.0": {"default": 1}}}))
    report = check([["prompt", "visibility"], ["a", "public"]])
    assert as_json(report, PriceTable.load(str(prices)))["cost"] == \
        {"currency": "EUR", "total": 4.0}


def test_the_preview_costs_nothing_whatever_the_prices():
    report = check([["prompt", "visibility", "num_images"], ["a", "public", 4]])
    assert sheet_cost(PRICES, PREVIEW, report) == Cost(0.0, "USD")
    assert sheet_cost(PRICES, IDEOGRAM, report).total == pytest.approx(4 * 0.08)


def test_as_dict_shape_matches_contract():
    rows = [["prompt", "visibility", "aspect_ratio", "Model"],
            ["a", "private", "7:5", None], [None] * 4, ["b", "public", dt.time(16, 9), None]]
    result = json.loads(json.dumps(as_json(check(rows)), default=str))
    assert list(result) == ["valid", "rows", "images", "cost", "first_row", "errors", "warnings",
                          "counts", "summary"]
    assert result["valid"] is False and result["rows"] == 2 and result["images"] == 8
    assert list(result["cost"]) == ["currency", "total"]
    assert result["cost"] == {"currency": "USD", "total": pytest.approx(0.64)}
    assert set(result["first_row"]) == set(FULL_HEADER)
    assert result["first_row"]["prompt"] == "a" and result["first_row"]["visibility"] == "private"
    assert result["first_row"]["aspect_ratio"] == "1:1"  # default standing in for the bad cell
    for problem in result["errors"] + result["warnings"]:
        assert list(problem) == ["cell", "row", "column", "value", "message"]
    assert result["errors"][0] == {"cell": "D1", "row": 1, "column": "Model", "value": "Model",
                                   "message": result["errors"][0]["message"]}
    assert {k: result["errors"][1][k] for k in ("cell", "row", "column", "value")} == \
        {"cell": "C2", "row": 2, "column": "aspect_ratio", "value": "7:5"}
    assert {k: result["warnings"][0][k] for k in ("cell", "row", "column", "value")} == \
        {"cell": "C4", "row": 4, "column": "aspect_ratio", "value": "16:09:00"}


def test_first_row_normalised_and_palette_joined():
    rows = [FULL_HEADER, [" x ", "PUBLIC", "16:9", "OFF", 3, 2.0, 7, "Quality", "a, b",
                          "Design", "#abcdef #123456"]]
    result = as_json(check(rows))
    assert result["valid"]
    assert result["first_row"] == {
        "prompt": "x", "visibility": "public", "aspect_ratio": "16:9", "magic_prompt": "off",
        "model": "3.0", "num_images": 2, "seed_number": 7, "rendering": "quality",
        "negative_prompt": "a, b", "style": "design", "color_palette": "#ABCDEF #123456"}
    assert result["images"] == 2 and result["cost"]["total"] == pytest.approx(0.18)


def test_realistic_sheet_valid():
    report = check(realistic_rows(60))
    assert report.valid and report.warnings == [] and report.row_count == 60


def test_missing_required_column_still_checks_every_other_cell():
    report = check([["prompt", "model", "num_images"], ["a cat", "9.0", 2], ["a dog", "3.0", 3]])
    assert not report.valid and report.rows == {}
    problems = [(p.cell, p.column) for p in report.errors]
    assert (None, "visibility") in problems and ("B2", "model") in problems
    assert report.row_count == 2 and report.images == 5


@pytest.mark.parametrize("rows", [[["prompt", "visibility"]],
                                  [["prompt", "visibility"], [None, "  "], ["", ""]]],
                         ids=["header-only", "blank-rows"])
def test_a_sheet_without_prompts_is_an_error(rows):
    report = check(rows)
    assert not report.valid and report.row_count == 0
    [problem] = report.errors
    assert problem.cell is None and "no prompts" in problem.message
