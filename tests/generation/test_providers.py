"""Providers over real HTTP (httpx) against the local fake image API, plus the preview provider."""
from __future__ import annotations

import email.utils
import io
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from PIL import Image

from server.config import Settings
from server.generation.providers import (
    PermanentProviderError,
    TransientProviderError,
    make_provider,
)
from server.generation.providers._http import host_allowed
from server.generation.providers.preview import PRESET_COLOURS
from server.providers import is_free
from server.retry import parse_retry_after
from server.sheet.request import ImageRequest
from testkit import ROOT
from testkit.fakes.image_api import FakeImageAPI
from testkit.processes import wait_for

PNG = b"\x89PNG\r\n\x1a\n"


def settings_for(image_api: FakeImageAPI, **overrides) -> Settings:
    values = dict(ideogram_api_key=image_api.api_key, ideogram_base_url=image_api.url,
                  ideogram_image_hosts=(image_api.image_host,), openai_api_key=image_api.api_key,
                  openai_base_url=image_api.openai_url, openai_image_hosts=(image_api.image_host,),
                  provider_timeout=5.0)
    return Settings(**(values | overrides))


def row(**values) -> ImageRequest:
    return ImageRequest(**({"prompt": "a lighthouse at dusk", "visibility": "private"} | values))


def ideogram(image_api, http, **overrides):
    return make_provider("ideogram", settings_for(image_api, **overrides), http)


def openai(image_api, http, **overrides):
    return make_provider("openai", settings_for(image_api, **overrides), http)


def received(image_api, endpoint):
    requests = image_api.requests(endpoint)
    assert requests, f"the fake saw no {endpoint} request"
    return requests[-1]


# ------------------------------------------------------------------ Ideogram 3.0 ---------------

def test_v3_sends_every_column_as_multipart(image_api, http):
    request = row(model="3.0", aspect_ratio="16:9", magic_prompt="off", rendering="quality",
                  negative_prompt="people, text", style="realistic", color_palette="ember",
                  num_images=4, seed_number=99)
    image = ideogram(image_api, http).generate(request, seed=1234)

    sent = received(image_api, "ideogram-v3")
    assert sent["content_type"].startswith("multipart/form-data")
    assert sent["fields"] == {
        "prompt": "a lighthouse at dusk", "aspect_ratio": "16x9", "rendering_speed": "QUALITY",
        "magic_prompt": "OFF", "style_type": "REALISTIC", "num_images": "1", "seed": "1234",
        "negative_prompt": "people, text", "color_palette": '{"name":"EMBER"}'}
    assert image.data.startswith(PNG) and image.media_type == "image/png"
    assert image.seed == 1234 and image.prompt == "a lighthouse at dusk"  # magic prompt off
    assert image.preview is False
    assert image_api.stats()["downloads"] == 1  # the temporary link was fetched at once


def test_v3_hex_palette_turbo_and_magic_prompt(image_api, http):
    request = row(model="3.0", rendering="turbo", magic_prompt="on",
                  color_palette=("#CBA324", "#112233", "#FFFFFF"))
    image = ideogram(image_api, http).generate(request, seed=None)

    fields = received(image_api, "ideogram-v3")["fields"]
    assert fields["rendering_speed"] == "TURBO" and fields["magic_prompt"] == "ON"
    assert "seed" not in fields and "negative_prompt" not in fields
    members = json.loads(fields["color_palette"])["members"]
    assert [m["color_hex"] for m in members] == ["#CBA324", "#112233", "#FFFFFF"]
    weights = [m["color_weight"] for m in members]
    assert weights == sorted(weights, reverse=True) and all(0.05 <= w <= 1 for w in weights)
    assert image.prompt.startswith("a lighthouse at dusk") and image.prompt != request.prompt
    assert isinstance(image.seed, int)  # the service chose one and we report it


# ------------------------------------------------------------------ legacy models --------------

@pytest.mark.parametrize("model, rendering, expected", [
    ("2.0", "default", "V_2"), ("2.0", "turbo", "V_2_TURBO"), ("2a", "default", "V_2A"),
    ("2a", "turbo", "V_2A_TURBO"), ("1.0", "default", "V_1"), ("1.0", "turbo", "V_1_TURBO")])
def test_legacy_model_names(image_api, http, model, rendering, expected):
    ideogram(image_api, http).generate(row(model=model, rendering=rendering), seed=7)
    assert received(image_api, "ideogram-legacy")["fields"]["model"] == expected


def test_legacy_sends_every_column_as_json(image_api, http):
    request = row(model="2.0", aspect_ratio="10:16", magic_prompt="on", style="3d",
                  negative_prompt="blur", color_palette=("#000000", "#FF0000"))
    image = ideogram(image_api, http).generate(request, seed=2147483647)

    sent = received(image_api, "ideogram-legacy")
    assert sent["content_type"] == "application/json"
    assert sent["fields"] == {
        "prompt": "a lighthouse at dusk", "model": "V_2", "aspect_ratio": "ASPECT_10_16",
        "magic_prompt_option": "ON", "style_type": "RENDER_3D", "num_images": 1,
        "seed": 2147483647, "negative_prompt": "blur",
        "color_palette": {"members": [{"color_hex": "#000000", "color_weight": 1.0},
                                      {"color_hex": "#FF0000", "color_weight": 0.8}]}}
    assert image.seed == 2147483647 and image.prompt != request.prompt  # magic prompt rewrote it


def test_legacy_preset_palette_and_anime(image_api, http):
    ideogram(image_api, http).generate(row(model="2.0", style="anime", color_palette="pastel",
                                           magic_prompt="off", rendering="turbo"), seed=1)
    fields = received(image_api, "ideogram-legacy")["fields"]
    assert fields["color_palette"] == {"name": "PASTEL"} and fields["style_type"] == "ANIME"
    assert fields["magic_prompt_option"] == "OFF" and fields["model"] == "V_2_TURBO"


@pytest.mark.parametrize("rendering, model", [("default", "V_2A"), ("turbo", "V_2A_TURBO")])
def test_2a_palette_and_negative_prompt_travel_in_the_prompt(image_api, http, rendering, model):
    """V_2A takes neither (the description's per-model rules): both become words, as warned."""
    image = ideogram(image_api, http).generate(
        row(model="2a", rendering=rendering, style="anime", color_palette=("#CBA324", "#F86C14"),
            negative_prompt="blur, text", magic_prompt="off"), seed=1)
    assert received(image_api, "ideogram-legacy")["fields"] == {
        "prompt": "a lighthouse at dusk Colour palette: #CBA324, #F86C14. Avoid: blur, text.",
        "model": model, "aspect_ratio": "ASPECT_1_1", "magic_prompt_option": "OFF",
        "style_type": "ANIME", "num_images": 1, "seed": 1}
    assert image.prompt == ("a lighthouse at dusk Colour palette: #CBA324, #F86C14. "
                            "Avoid: blur, text.")


@pytest.mark.parametrize("rendering, model", [("default", "V_1"), ("turbo", "V_1_TURBO")])
def test_1_0_style_travels_as_keywords_and_negative_prompt_is_sent(image_api, http, rendering,
                                                                   model):
    image = ideogram(image_api, http).generate(
        row(model="1.0", rendering=rendering, style="3d", negative_prompt="people",
            magic_prompt="on", aspect_ratio="3:1"), seed=None)
    assert received(image_api, "ideogram-legacy")["fields"] == {
        "prompt": "a lighthouse at dusk Style: 3D render.", "model": model,
        "aspect_ratio": "ASPECT_3_1", "magic_prompt_option": "ON", "num_images": 1,
        "negative_prompt": "people"}
    assert image.prompt.startswith("a lighthouse at dusk Style: 3D render.")  # used_prompt shows it
    assert image.size == "1776x592"  # the resolution the service reports


def test_1_0_with_style_auto_sends_no_style_type(image_api, http):
    ideogram(image_api, http).generate(row(model="1.0"), seed=3)
    fields = received(image_api, "ideogram-legacy")["fields"]
    assert "style_type" not in fields and fields["prompt"] == "a lighthouse at dusk"


# ------------------------------------------------------------------ image hosts ----------------

def test_foreign_image_host_is_refused(image_api, http):
    provider = ideogram(image_api, http, ideogram_image_hosts=("ideogram.ai",))
    with pytest.raises(PermanentProviderError, match="do not trust"):
        provider.generate(row(), seed=1)
    assert image_api.stats()["downloads"] == 0


def test_trusting_the_api_host_is_not_enough(image_api, http):
    """Image links come from another host than the API, as the real CDNs do."""
    with pytest.raises(PermanentProviderError, match=image_api.image_host):
        ideogram(image_api, http, ideogram_image_hosts=(image_api.host,)).generate(row(), seed=1)
    assert image_api.stats()["downloads"] == 0
    assert http.get(image_api.url + "/ephemeral/" + "0" * 32 + ".png").status_code == 404


@pytest.mark.parametrize("url, allowed", [
    ("https://ideogram.ai/api/images/ephemeral/x.png", True),
    ("https://cdn.ideogram.ai/x.png", True),
    ("http://ideogram.ai/x.png", True),  # listed exactly
    ("http://cdn.ideogram.ai/x.png", False),  # plain http only for hosts listed exactly
    ("https://evil-ideogram.ai/x.png", False),
    ("https://ideogram.ai.evil.com/x.png", False),
    ("file:///etc/passwd", False),
    ("https://169.254.169.254/latest", False)])
def test_host_rule(url, allowed):
    assert host_allowed(url, ("ideogram.ai",)) is allowed


def test_expired_link_is_gone(image_api, http):
    image_api.configure(url_ttl=0.05)
    response = http.post(image_api.url + "/generate", headers={"Api-Key": image_api.api_key},
                         json={"image_request": {"prompt": "x"}})
    url = response.json()["data"][0]["url"]
    time.sleep(0.1)
    assert http.get(url).status_code == 404
    assert image_api.stats()["expired_downloads"] == 1


# ------------------------------------------------------------------ error mapping --------------

def test_rate_limit_is_transient_with_retry_after(image_api, http):
    image_api.configure(rate_limit_every=1, retry_after="7")
    with pytest.raises(TransientProviderError) as caught:
        ideogram(image_api, http).generate(row(), seed=1)
    assert caught.value.retry_after == 7.0
    assert "too many requests" in caught.value.reason


def test_retry_after_as_http_date():
    now = time.time()
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now) == \
        pytest.approx(30, abs=1)
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


@pytest.mark.parametrize("config", [{"server_error_every": 1, "server_error_status": 500},
                                    {"server_error_every": 1, "server_error_status": 503},
                                    {"drop_every": 1}])
def test_server_errors_and_dropped_connections_are_transient(image_api, http, config):
    image_api.configure(**config)
    for model in ("3.0", "2.0"):
        with pytest.raises(TransientProviderError) as caught:
            ideogram(image_api, http).generate(row(model=model), seed=1)
        assert caught.value.retry_after is None


def test_timeout_is_transient(image_api, http):
    image_api.configure(latency=1.0)
    with pytest.raises(TransientProviderError, match="did not answer within 0.3 seconds"):
        ideogram(image_api, http, provider_timeout=0.3).generate(row(), seed=1)


def test_wrong_key_is_permanent_and_never_shown(image_api, http):
    provider = ideogram(image_api, http, ideogram_api_key="sk-very-secret-wrong-key")
    with pytest.raises(PermanentProviderError) as caught:
        provider.generate(row(), seed=1)
    assert "API key" in caught.value.reason and "Not authorized" in caught.value.reason
    assert "very-secret" not in caught.value.reason


def test_unsafe_prompt_is_permanent_with_the_service_message(image_api, http):
    with pytest.raises(PermanentProviderError) as caught:
        ideogram(image_api, http).generate(row(prompt="an UNSAFE thing", model="3.0"), seed=1)
    assert "refused the prompt (safety check)" in caught.value.reason
    assert "Prompt failed the safety check" in caught.value.reason


def test_an_image_withheld_by_the_safety_check_is_permanent_and_billed(image_api, http):
    image_api.configure(unsafe_image_every=1)
    with pytest.raises(PermanentProviderError) as caught:
        ideogram(image_api, http).generate(row(model="3.0"), seed=1)
    assert caught.value.reason == ("Image withheld by the provider's safety check (billed) — "
                                   "reword the prompt.")
    assert caught.value.billed and image_api.stats()["billed"] == 1


def test_invalid_request_is_permanent(image_api, http):
    # 1:2 is a 3.0-only ratio; the sheet rules stop it, but if one slips through the API says no.
    with pytest.raises(PermanentProviderError,
                       match="invalid: image_request.aspect_ratio: 'ASPECT_1_2' is not one of"):
        ideogram(image_api, http).generate(row(model="2.0", aspect_ratio="1:2"), seed=1)


# ------------------------------------------------------------------ OpenAI ---------------------

@pytest.mark.parametrize("model, ratio, size", [
    ("gpt-image-1", "1:1", "1024x1024"), ("gpt-image-1", "16:9", "1536x1024"),
    ("gpt-image-1", "4:5", "1024x1536"), ("gpt-image-1", "2:3", "1024x1536"),
    ("gpt-image-1", "1:3", "1024x1536"), ("gpt-image-1", "3:1", "1536x1024"),
    ("dall-e-3", "1:1", "1024x1024"), ("dall-e-3", "16:9", "1792x1024"),
    ("dall-e-3", "9:16", "1024x1792"), ("dall-e-3", "5:4", "1024x1024"),
    ("dall-e-3", "3:2", "1792x1024"), ("dall-e-2", "16:9", "1024x1024"),
    ("dall-e-2", "1:3", "1024x1024")])
def test_openai_nearest_size_per_model(image_api, http, model, ratio, size):
    image = openai(image_api, http, openai_model=model).generate(row(aspect_ratio=ratio), seed=5)
    assert received(image_api, "openai")["fields"]["size"] == size
    assert image.size == size  # reported in the results (used_size)
    assert image.data.startswith(PNG) and image.media_type == "image/png"
    assert image.seed is None  # the API has no seed; we do not pretend


@pytest.mark.parametrize("model, rendering, expected", [
    ("gpt-image-1", "turbo", {"quality": "low"}),
    ("gpt-image-1", "default", {"quality": "medium"}),
    ("gpt-image-1", "quality", {"quality": "high"}),
    ("dall-e-3", "default", {"quality": "standard", "response_format": "b64_json"}),
    ("dall-e-3", "quality", {"quality": "hd", "response_format": "b64_json"}),
    ("dall-e-2", "turbo", {"response_format": "b64_json"})])
def test_openai_request_per_model(image_api, http, model, rendering, expected):
    openai(image_api, http, openai_model=model).generate(row(rendering=rendering), seed=None)
    assert received(image_api, "openai")["fields"] == {
        "model": model, "prompt": "a lighthouse at dusk", "n": 1,
        "size": "1024x1024", **expected}


def test_openai_folds_style_palette_and_negative_prompt_into_the_prompt(image_api, http):
    image = openai(image_api, http, openai_model="dall-e-3").generate(
        row(negative_prompt="cars", style="anime", color_palette="ember"), seed=None)
    sent = received(image_api, "openai")["fields"]["prompt"]
    assert sent == ("a lighthouse at dusk Style: anime illustration. Colour palette: ember. "
                    "Avoid: cars.")
    assert image.prompt != sent and image.prompt.startswith(sent)  # revised_prompt wins


def test_openai_cuts_the_prompt_to_the_model_limit(image_api, http):
    openai(image_api, http, openai_model="dall-e-2").generate(row(prompt="x" * 1500), seed=None)
    assert received(image_api, "openai")["fields"]["prompt"] == "x" * 1000


def test_dall_e_answers_links_on_another_host_unless_asked_for_base64(image_api, http):
    headers = {"Authorization": f"Bearer {image_api.api_key}"}
    url = image_api.openai_url + "/images/generations"
    link = http.post(url, headers=headers, json={"model": "dall-e-2", "prompt": "x"}).json()
    assert urlsplit(link["data"][0]["url"]).hostname == image_api.image_host != image_api.host
    inline = http.post(url, headers=headers, json={"model": "dall-e-3", "prompt": "x",
                                                   "response_format": "b64_json"}).json()
    assert set(inline["data"][0]) == {"b64_json", "revised_prompt"}


def test_openai_link_answer_is_fetched_from_a_trusted_image_host(image_api, http):
    image_api.configure(openai_answers_url=True)  # a compatible server that ignores response_format
    image = openai(image_api, http, openai_model="dall-e-3").generate(row(), seed=None)
    assert image.data.startswith(PNG) and image_api.stats()["downloads"] == 1


def test_openai_link_on_a_host_not_listed_is_refused(image_api, http):
    image_api.configure(openai_answers_url=True)
    with pytest.raises(PermanentProviderError, match="do not trust"):
        openai(image_api, http, openai_image_hosts=Settings().openai_image_hosts).generate(
            row(), seed=None)
    assert image_api.stats()["downloads"] == 0


def test_openai_errors(image_api, http):
    secret = "sk-proj-abcdefghijklmnop"
    with pytest.raises(PermanentProviderError) as caught:
        openai(image_api, http, openai_api_key=secret).generate(row(), seed=None)
    assert "Incorrect API key" in caught.value.reason and secret not in caught.value.reason
    with pytest.raises(PermanentProviderError, match=r"safety check\): Your request was rejected"):
        openai(image_api, http).generate(row(prompt="UNSAFE"), seed=None)
    image_api.configure(rate_limit_every=1, retry_after="3")
    with pytest.raises(TransientProviderError) as transient:
        openai(image_api, http).generate(row(), seed=None)
    assert transient.value.retry_after == 3.0


# ------------------------------------------------------------------ preview --------------------

@pytest.mark.parametrize("ratio, size", [("1:1", (512, 512)), ("16:9", (512, 288)),
                                         ("9:16", (288, 512)), ("4:3", (512, 384)),
                                         ("10:16", (320, 512)), ("1:3", (171, 512)),
                                         ("2:1", (512, 256)), ("5:4", (512, 410))])
def test_preview_size_per_aspect_ratio(ratio, size):
    image = make_provider("preview", Settings()).generate(row(aspect_ratio=ratio), seed=3)
    assert Image.open(io.BytesIO(image.data)).size == size


def test_preview_is_deterministic_per_seed_free_and_labelled():
    provider = make_provider("preview", Settings())
    request = row(color_palette="ember")
    first, again = provider.generate(request, None), provider.generate(request, None)
    assert first.seed != again.seed, "an unseeded row's images must differ"
    assert provider.generate(request, first.seed) == first
    assert first.preview and is_free(provider.name)
    assert 0 <= first.seed <= 2147483647 and first.prompt == request.prompt
    assert provider.generate(request, 5).seed == 5
    assert provider.generate(request, 5).data != provider.generate(request, 6).data
    colours = {"#%02X%02X%02X" % rgb for _count, rgb in
               Image.open(io.BytesIO(first.data)).convert("RGB").getcolors(1 << 20)}
    assert set(PRESET_COLOURS["ember"]) <= colours


def test_preview_uses_hex_palette():
    image = make_provider("preview", Settings()).generate(
        row(color_palette=("#123456", "#ABCDEF")), seed=1)
    colours = {"#%02X%02X%02X" % rgb for _count, rgb in
               Image.open(io.BytesIO(image.data)).convert("RGB").getcolors(1 << 20)}
    assert {"#123456", "#ABCDEF"} <= colours


# ------------------------------------------------------------------ make_provider --------------

def test_make_provider_names_and_keys():
    with pytest.raises(ValueError, match="Unknown image provider 'dalle'"):
        make_provider("dalle", Settings())
    with pytest.raises(ValueError, match="set IDEOGRAM_API_KEY"):
        make_provider("ideogram", Settings())
    with pytest.raises(ValueError, match="set OPENAI_API_KEY"):
        make_provider("openai", Settings())
    assert make_provider("Preview", Settings()).name == "preview"
    assert not is_free(make_provider("ideogram", Settings(ideogram_api_key="k")).name)


# ------------------------------------------------------------------ the fake itself ------------

def test_fake_validates_like_the_api(image_api, http):
    v3 = image_api.url + "/v1/ideogram-v3/generate"
    key = {"Api-Key": image_api.api_key}
    missing_prompt = http.post(v3, headers=key, files={"aspect_ratio": (None, "1x1")})
    assert missing_prompt.status_code == 400 and "prompt" in missing_prompt.json()["error"]
    bad_ratio = http.post(v3, headers=key, files={"prompt": (None, "x"),
                                                  "aspect_ratio": (None, "16:9")})
    assert bad_ratio.status_code == 400 and "aspect_ratio" in bad_ratio.json()["error"]
    no_key = http.post(v3, files={"prompt": (None, "x")})
    assert no_key.status_code == 401 and no_key.json() == {
        "error": "Not authorized to generate an image."}
    bad_model = http.post(image_api.url + "/generate", headers=key,
                          json={"image_request": {"prompt": "x", "model": "V_4"}})
    assert bad_model.status_code == 400
    openai_no_key = http.post(image_api.openai_url + "/images/generations", json={"prompt": "x"})
    assert openai_no_key.status_code == 401
    assert set(openai_no_key.json()["error"]) == {"message", "type", "param", "code"}
    assert image_api.stats()["generated"] == 0


def test_fake_control_over_http_every_kth_and_duplicates(image_api, http):
    control = http.post(image_api.url + "/_control", json={"rate_limit_every": 2, "retry_after": 4})
    assert control.json()["rate_limit_every"] == 2
    assert http.post(image_api.url + "/_control", json={"nonsense": 1}).status_code == 400
    provider = ideogram(image_api, http)
    outcomes = []
    for _ in range(4):
        try:
            provider.generate(row(), seed=11)
            outcomes.append("ok")
        except TransientProviderError:
            outcomes.append("429")
    assert outcomes == ["ok", "429", "ok", "429"]
    stats = http.get(image_api.url + "/_stats").json()
    assert stats["responses_by_status"] == {"200": 2, "429": 2}
    assert stats["duplicate_generations"] == [
        {"prompt": "a lighthouse at dusk", "seed": 11, "calls": 4, "generated": 2}]
    assert image_api.calls_for("a lighthouse at dusk", 11) == 4


def test_fake_seeded_fractions_repeat(image_api, http):
    def run():
        image_api.configure(reset=True, server_error_fraction=0.5, rng_seed=42)
        results = []
        for index in range(12):
            response = http.post(image_api.url + "/generate",
                                 headers={"Api-Key": image_api.api_key},
                                 json={"image_request": {"prompt": f"p{index}"}})
            results.append(response.status_code)
        return results
    first = run()
    assert first == run() and {200, 503} <= set(first)


def test_fake_handles_concurrent_requests(image_api, http):
    image_api.configure(latency=0.3, inflight_limit=None)  # the fake's threads, not Ideogram's rule
    provider = ideogram(image_api, http)
    with ThreadPoolExecutor(16) as pool:
        images = list(pool.map(lambda n: provider.generate(row(prompt=f"p{n}"), seed=n),
                               range(16)))
    assert len(images) == 16
    stats = image_api.stats()
    assert stats["max_in_flight"] >= 8 and stats["generated"] == 16
    # A handler leaves the in-flight count just after its answer is on the wire.
    wait_for(lambda: image_api.stats()["in_flight"] == 0, timeout=5, what="handlers to finish")


@pytest.mark.processes
def test_fake_runs_as_its_own_process(http):
    process = subprocess.Popen([sys.executable, "-m", "testkit.fakes.image_api", "--port", "0",
                                "--api-key", "proc-key"], cwd=ROOT, stdout=subprocess.PIPE,
                               text=True)
    try:
        started = json.loads(process.stdout.readline())
        assert started["api_key"] == "proc-key"
        http.post(started["url"] + "/_control", json={"latency": 0.0}).raise_for_status()
        response = http.post(started["url"] + "/generate", headers={"Api-Key": "proc-key"},
                             json={"image_request": {"prompt": "x", "seed": 3}})
        assert response.json()["data"][0]["seed"] == 3
        assert http.get(started["url"] + "/_stats").json()["generated"] == 1
    finally:
        process.terminate()
        process.wait(timeout=5)
