"""Validation knows the chosen provider: what it cannot carry is a warning on the cell saying
what will happen instead (never an error), and the estimate follows what will be billed."""
from __future__ import annotations

import pytest

from server.money.cost import sheet_cost
from server.money.prices import PriceTable
from server.providers import capabilities_for
from server.sheet.capabilities import nearest_size
from server.sheet.validation import validate

HEADER = ["prompt", "visibility", "model", "aspect_ratio", "magic_prompt", "seed_number",
          "rendering", "negative_prompt", "style", "color_palette"]


def check(provider: str, openai_model: str = "gpt-image-1", **cells):
    row = {"prompt": "a fox", "visibility": "private"} | cells
    table = [HEADER, [row.get(name) for name in HEADER]]
    return validate(table, capabilities_for(provider, openai_model))


def cost(provider: str, openai_model: str = "gpt-image-1", **cells) -> float:
    report = check(provider, openai_model, **cells)
    return sheet_cost(PriceTable.load(), capabilities_for(provider, openai_model), report).total


def warnings(report) -> dict[str, str]:
    return {problem.column: problem.message for problem in report.warnings}


def test_ideogram_2a_palette_and_negative_prompt_are_warned_and_folded():
    report = check("ideogram", model="2a", color_palette="ember", negative_prompt="text, blur")
    assert report.valid and not report.errors
    found = warnings(report)
    assert found["color_palette"] == ('Ideogram model 2a cannot take a colour palette. It will be '
                                      'added to the prompt as "Colour palette: ember." '
                                      '(see used_prompt).')
    assert found["negative_prompt"].startswith("Ideogram model 2a cannot take a negative prompt.")
    assert {p.cell for p in report.warnings} == {"J2", "H2"}


def test_ideogram_1_0_style_travels_as_keywords():
    report = check("ideogram", model="1.0", style="anime", negative_prompt="text")
    assert warnings(report) == {"style": 'Ideogram model 1.0 cannot take a style. It will be added '
                                         'to the prompt as "Style: anime illustration." '
                                         '(see used_prompt).'}


@pytest.mark.parametrize("model", ["3.0", "2.0"])
def test_ideogram_models_that_take_everything_get_no_warning(model):
    report = check("ideogram", model=model, color_palette="#CBA324 #F86C14", seed_number=5,
                   negative_prompt="text", style="realistic", magic_prompt="off")
    assert report.valid and report.warnings == []


def test_blank_cells_are_not_warned_about():
    assert check("openai", "dall-e-2").warnings == []


def test_openai_warns_about_every_column_it_cannot_carry():
    report = check("openai", "gpt-image-1", model="2.0", aspect_ratio="16:9",
                   magic_prompt="on", seed_number=7, rendering="turbo", style="anime",
                   color_palette="ember", negative_prompt="cars")
    assert report.valid
    found = warnings(report)
    assert set(found) == {"model", "aspect_ratio", "magic_prompt", "seed_number", "style",
                          "color_palette", "negative_prompt"}
    assert "gpt-image-1 cannot make 16:9: the nearest size it makes is 1536x1024." in \
        found["aspect_ratio"]
    assert "takes no seed" in found["seed_number"] and "used_seed stays empty" in \
        found["seed_number"]
    assert "no magic prompt" in found["magic_prompt"]
    assert 'added to the prompt as "Avoid: cars."' in found["negative_prompt"]


def test_dall_e_specific_warnings():
    dalle3 = warnings(check("openai", "dall-e-3", magic_prompt="off", aspect_ratio="9:16"))
    assert "always rewrites" in dalle3["magic_prompt"]
    assert "nearest size it makes is 1024x1792" in dalle3["aspect_ratio"]  # 4:7, not 9:16
    assert "aspect_ratio" not in warnings(check("openai", "dall-e-3", aspect_ratio="1:1"))
    dalle2 = warnings(check("openai", "dall-e-2", rendering="turbo", aspect_ratio="4:3",
                            prompt="x" * 1200))
    assert "single quality" in dalle2["rendering"]
    assert "nearest size it makes is 1024x1024" in dalle2["aspect_ratio"]
    assert "at most 1000 characters" in dalle2["prompt"]


def test_preview_carries_everything():
    assert check("preview", model="1.0", style="anime", seed_number=3).warnings == []


def test_provider_limits_never_turn_into_errors_and_brief_errors_stay():
    report = check("openai", model="2a", aspect_ratio="1:2", seed_number=1)
    assert [e.column for e in report.errors] == ["aspect_ratio"]  # the brief's rule, unchanged


@pytest.mark.parametrize("sizes, ratio, size", [
    (("1024x1024", "1536x1024", "1024x1536"), "4:3", "1536x1024"),
    (("1024x1024", "1792x1024", "1024x1792"), "5:4", "1024x1024"),
    (("1024x1024", "1792x1024", "1024x1792"), "2:3", "1024x1792"),
    (("256x256", "512x512", "1024x1024"), "1:1", "1024x1024")])  # the largest of equal shapes
def test_nearest_size(sizes, ratio, size):
    assert nearest_size(sizes, ratio) == size


def test_openai_estimate_follows_quality_and_size():
    high = cost("openai", "gpt-image-1", model="3.0", rendering="quality", aspect_ratio="16:9")
    assert high == pytest.approx(4 * 0.25)  # four images, high quality, 1536x1024
    assert cost("openai", "dall-e-2") == pytest.approx(4 * 0.02)


def test_unknown_openai_model_is_refused():
    with pytest.raises(ValueError, match="Unknown OpenAI image model 'dall-e-9'"):
        capabilities_for("openai", "dall-e-9")
