"""Every column the sheet offers, for every endpoint (Ideogram 3.0 multipart, Ideogram legacy
JSON, each OpenAI model): either it reaches the API in the request the strict fake received, or
validation warned about that very cell before anything was paid. The rows come from the brief's
full and simple templates and from every file in examples/."""
from __future__ import annotations

import json

import pytest

from server.config import Settings
from server.files import read_file
from server.generation.providers import make_provider
from server.money.cost import sheet_cost
from server.money.prices import PriceTable
from server.providers import capabilities_for
from server.sheet.template import template_rows
from server.sheet.validation import validate
from testkit import ROOT
from testkit.processes import wait_for

EXAMPLES = sorted((ROOT / "examples").glob("*.*"))
PROVIDERS = [("ideogram", None), ("openai", "gpt-image-1"), ("openai", "dall-e-3"),
             ("openai", "dall-e-2")]
# How each column travels, per endpoint, spelled from the provider references (not from our
# client). `visibility` is ours to give meaning; `num_images` is one call per image.
WIRE = {
    "ideogram-v3": {"prompt": "prompt", "aspect_ratio": "aspect_ratio", "model": None,
                    "magic_prompt": "magic_prompt", "seed_number": "seed",
                    "rendering": "rendering_speed", "negative_prompt": "negative_prompt",
                    "style": "style_type", "color_palette": "color_palette"},
    "ideogram-legacy": {"prompt": "prompt", "aspect_ratio": "aspect_ratio", "model": "model",
                        "magic_prompt": "magic_prompt_option", "seed_number": "seed",
                        "rendering": "model", "negative_prompt": "negative_prompt",
                        "style": "style_type", "color_palette": "color_palette"},
    "openai": {"prompt": "prompt", "aspect_ratio": "size", "rendering": "quality"},
}
OURS = ("visibility", "num_images")


def sheets() -> list[tuple[str, list[list]]]:
    tables = [("full template", template_rows(full=True)),
              ("simple template", template_rows(full=False))]
    tables += [(path.name, read_file(path, None).rows) for path in EXAMPLES]
    return tables


def nothing_to_carry(model: str | None, column: str, setting) -> bool:
    """Settings that ask for what the API does anyway when the field is absent."""
    return ((column, setting) in (("style", "auto"), ("style", "general"))
            or (model and (column, setting) == ("rendering", "default"))  # the model's own default
            # dall-e-3 always rewrites the prompt; the other OpenAI models never do
            or (model == "dall-e-3" and (column, setting) == ("magic_prompt", "on"))
            or (model in ("gpt-image-1", "dall-e-2")
                and (column, setting) == ("magic_prompt", "off")))


def same_shape(size: str, ratio: str) -> bool:
    (w, h), (a, b) = (int(x) for x in size.split("x")), (int(x) for x in ratio.split(":"))
    return w * b == h * a


def provider_for(image_api, http, name, model):
    settings = Settings(ideogram_api_key=image_api.api_key, ideogram_base_url=image_api.url,
                        ideogram_image_hosts=(image_api.image_host,),
                        openai_api_key=image_api.api_key, openai_base_url=image_api.openai_url,
                        openai_model=model or "gpt-image-1",
                        provider_timeout=5.0)
    return make_provider(name, settings, http)


def test_the_sheets_cover_every_endpoint_and_column():
    """The check below is only as good as its rows: make sure they exercise everything."""
    rows = [dict(zip(table[0], values)) for _name, table in sheets() for values in table[1:]]
    assert {str(row.get("model")) for row in rows} >= {"3.0", "2.0", "2a"}
    written = {column for row in rows for column, value in row.items() if value not in (None, "")}
    assert written >= {"prompt", "aspect_ratio", "magic_prompt", "model", "num_images",
                       "seed_number", "rendering", "negative_prompt", "style", "color_palette"}


@pytest.mark.parametrize("name, model", PROVIDERS, ids=[m or n for n, m in PROVIDERS])
@pytest.mark.parametrize("title, table", sheets(), ids=[title for title, _ in sheets()])
def test_every_column_reaches_the_api_or_is_warned_about(image_api, http, name, model, title,
                                                         table):
    capabilities = capabilities_for(name, model or "gpt-image-1")
    report = validate(table, capabilities)
    warned = {(problem.row, problem.column) for problem in report.warnings}
    header = table[0]
    provider = provider_for(image_api, http, name, model)
    assert report.rows, f"{title} has no valid row"
    for row_number, request in report.rows.items():
        wait_for(lambda: image_api.stats()["in_flight"] == 0, timeout=5, what="the fake to settle")
        image_api.reset()
        image = provider.generate(request, request.seed_number)  # a 400 would raise here
        [sent] = image_api.requests()
        fields = sent["fields"]
        wire = WIRE[sent["endpoint"]]
        values = dict(zip(header, table[row_number - 1]))
        for column, value in values.items():
            if column in OURS or value in (None, "") or column not in request.__dict__:
                continue
            setting = request.__dict__[column]
            field = wire.get(column, "")
            reached = field is None or field in fields or nothing_to_carry(model, column, setting)
            if not reached:
                assert (row_number, column) in warned, \
                    f"{title} row {row_number}: {column}={value!r} neither sent nor warned"
            if column in ("color_palette", "negative_prompt") and field not in fields:
                words = setting[0] if isinstance(setting, tuple) else setting
                assert words in fields["prompt"], "folded into the prompt, as the warning says"
        if name == "openai" and not same_shape(fields["size"], request.aspect_ratio):
            assert (row_number, "aspect_ratio") in warned
        assert image.size, "the size made is reported"
        if "color_palette" in fields and sent["endpoint"] == "ideogram-v3":
            json.loads(fields["color_palette"])  # a JSON-encoded form part, as described


@pytest.mark.parametrize("name, model", PROVIDERS, ids=[m or n for n, m in PROVIDERS])
def test_the_estimate_is_what_the_provider_bills(name, model):
    """The OpenAI estimate follows the model, quality and size actually sent."""
    table = template_rows(full=True)
    capabilities = capabilities_for(name, model or "gpt-image-1")
    report = validate(table, capabilities)
    estimate = sheet_cost(PriceTable.load(), capabilities, report).total
    prices = PriceTable.load().per_image
    expected = 0.0
    for request in report.rows.values():
        entry, tier = capabilities.price_key(request.__dict__)
        expected += prices[entry][tier] * request.num_images
    assert estimate == pytest.approx(expected) and estimate > 0
