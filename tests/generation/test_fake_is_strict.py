"""The image-API fake refuses what the real APIs refuse (the published Ideogram description and
its per-model rules; OpenAI's documented per-model parameters), in each provider's own error
shape, and simulates what they do to us: links on another host, answers lost after billing,
billing refusals."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from server.config import Settings
from server.generation.providers import (
    AccountProviderError,
    InflightLimited,
    PermanentProviderError,
    TransientProviderError,
    make_provider,
)
from server.sheet.request import ImageRequest
from testkit.processes import wait_for


def legacy(image_api, http, **image_request):
    return http.post(image_api.url + "/generate", headers={"Api-Key": image_api.api_key},
                     json={"image_request": {"prompt": "x"} | image_request})


def v3(image_api, http, **fields):
    return http.post(image_api.url + "/v1/ideogram-v3/generate",
                     headers={"Api-Key": image_api.api_key},
                     files={name: (None, value) for name, value in
                            ({"prompt": "x"} | fields).items()})


def openai(image_api, http, **body):
    return http.post(image_api.openai_url + "/images/generations",
                     headers={"Authorization": f"Bearer {image_api.api_key}"},
                     json={"prompt": "x"} | body)


@pytest.mark.parametrize("image_request, message", [
    ({"model": "V_2A", "negative_prompt": "blur"},
     "negative_prompt is not supported for model V_2A"),
    ({"model": "V_2A_TURBO", "negative_prompt": "blur"}, "not supported for model V_2A_TURBO"),
    ({"model": "V_2A", "color_palette": {"name": "EMBER"}}, "color_palette is not supported"),
    ({"model": "V_1", "color_palette": {"name": "EMBER"}}, "color_palette is not supported"),
    ({"model": "V_1", "style_type": "ANIME"}, "style_type is not supported for model V_1"),
    ({"model": "V_1_TURBO", "style_type": "AUTO"}, "style_type is not supported"),
    ({"aspect_ratio": "ASPECT_16_9", "resolution": "RESOLUTION_1024_1024"},
     "aspect_ratio cannot be used in conjunction with resolution"),
    ({"aspect_ratio": "ASPECT_1_2"}, "image_request.aspect_ratio: 'ASPECT_1_2' is not one of"),
    ({"num_images": 9}, "image_request.num_images: 9 is greater than the maximum of 8"),
    ({"seed": "12"}, "image_request.seed: '12' is not of type 'integer'"),
    ({"color_palette": {"name": "EMBER", "members": [{"color_hex": "#FFFFFF"}]}},
     "image_request.color_palette"),
    ({"color_palette": {"members": [{"color_hex": "#FFFFFF", "color_weight": 0.01}]}},
     "color_weight: 0.01 is less than the minimum of 0.05"),
    ({"color_palette": {"members": [{"color_hex": "red"}]}}, "color_hex: 'red' does not match"),
    ({"negative_promt": "typo"}, "'negative_promt' was unexpected"),
])
def test_legacy_endpoint_refuses_what_the_description_forbids(image_api, http, image_request,
                                                              message):
    answer = legacy(image_api, http, **image_request)
    assert answer.status_code == 400 and message in answer.json()["error"]
    assert set(answer.json()) == {"error"} and image_api.stats()["generated"] == 0


@pytest.mark.parametrize("image_request", [
    {"model": "V_1", "negative_prompt": "blur"}, {"model": "V_1_TURBO", "negative_prompt": "x"},
    {"model": "V_2", "negative_prompt": "blur", "color_palette": {"name": "EMBER"},
     "style_type": "RENDER_3D"},
    {"model": "V_2A_TURBO", "style_type": "ANIME"},
    {"color_palette": {"members": [{"color_hex": "#FFF"}, {"color_hex": "#CBA324",
                                                           "color_weight": 0.05}]}},
])
def test_legacy_endpoint_accepts_what_the_description_allows(image_api, http, image_request):
    assert legacy(image_api, http, **image_request).status_code == 200


@pytest.mark.parametrize("fields, message", [
    ({"aspect_ratio": "16:9"}, "aspect_ratio: '16:9' is not one of"),
    ({"rendering_speed": "FAST"}, "rendering_speed: 'FAST' is not one of"),
    ({"style_type": "ANIME"}, "style_type: 'ANIME' is not one of"),
    ({"num_images": "0"}, "num_images: 0 is less than the minimum of 1"),
    ({"seed": "-1"}, "seed: -1 is less than the minimum of 0"),
    ({"seed": "abc"}, "seed: 'abc' is not of type 'integer'"),
    ({"color_palette": "EMBER"}, "color_palette: 'EMBER' is not valid"),
    ({"color_palette": '{"name": "EMBER", "members": []}'}, "color_palette"),
    ({"style_type": "AUTO", "style_codes": "AAFF5733"}, "style_codes cannot be used"),
    ({"model": "V_3"}, "'model' was unexpected"),
])
def test_v3_endpoint_refuses_what_the_description_forbids(image_api, http, fields, message):
    answer = v3(image_api, http, **fields)
    assert answer.status_code == 400 and message in answer.json()["error"], answer.json()


def test_v3_accepts_a_json_encoded_palette_part(image_api, http):
    palette = {"members": [{"color_hex": "#CBA324", "color_weight": 1.0}]}
    assert v3(image_api, http, color_palette=json.dumps(palette), num_images="2",
              seed="7").status_code == 200
    assert image_api.stats()["generated"] == 2


@pytest.mark.parametrize("body, param, message", [
    ({"model": "dall-e-3", "n": 2}, "n", "dall-e-3 supports n from 1 to 1"),
    ({"model": "dall-e-3", "size": "1536x1024"}, "size", "Invalid value: '1536x1024'"),
    ({"model": "dall-e-3", "quality": "high"}, "quality", "Invalid value: 'high'"),
    ({"model": "dall-e-2", "size": "1792x1024"}, "size", "Supported values for dall-e-2"),
    ({"model": "dall-e-2", "quality": "hd"}, "quality", "Invalid value: 'hd'"),
    ({"model": "dall-e-2", "style": "vivid"}, "style", "Invalid value: 'vivid'"),
    ({"model": "dall-e-2", "prompt": "x" * 1001}, "prompt", "maximum length 1000"),
    ({"model": "gpt-image-1", "response_format": "b64_json"}, "response_format",
     "not supported with gpt-image-1"),
    ({"model": "gpt-image-1", "size": "1792x1024"}, "size", "Invalid value: '1792x1024'"),
    ({"model": "gpt-image-1", "quality": "hd"}, "quality", "Invalid value: 'hd'"),
    ({"model": "dall-e-3", "background": "transparent"}, "background", "only supported with"),
    ({"model": "dall-e-4"}, "model", "Invalid value: 'dall-e-4'"),
    ({"model": "gpt-image-1", "seed": 3}, "seed", "Unknown parameter: 'seed'"),
])
def test_openai_refuses_what_the_model_does_not_take(image_api, http, body, param, message):
    answer = openai(image_api, http, **body)
    error = answer.json()["error"]
    assert answer.status_code == 400 and set(error) == {"message", "type", "param", "code"}
    assert error["param"] == param and message in error["message"]
    assert error["type"] == "invalid_request_error"


def settings(image_api, **overrides) -> Settings:
    return Settings(**({"ideogram_api_key": image_api.api_key, "ideogram_base_url": image_api.url,
                        "ideogram_image_hosts": (image_api.image_host,),
                        "openai_api_key": image_api.api_key,
                        "openai_base_url": image_api.openai_url,
                        "provider_timeout": 5.0} | overrides))


ROW = ImageRequest(prompt="a lighthouse", visibility="private", model="3.0")


@pytest.mark.parametrize("provider", ["ideogram", "openai"])
def test_an_answer_lost_after_billing_is_paid_for_and_counted(image_api, http, provider):
    image_api.configure(lost_every=1)
    with pytest.raises(TransientProviderError, match="connection .* was lost"):
        make_provider(provider, settings(image_api), http).generate(ROW, seed=1)
    stats = image_api.stats()
    assert stats["paid_but_lost"] == 1 and stats["generated"] == 1
    assert stats["responses_by_status"] == {"paid_but_lost": 1}


def test_a_dropped_connection_before_generating_is_not_billed(image_api, http):
    image_api.configure(drop_every=1)
    with pytest.raises(TransientProviderError):
        make_provider("ideogram", settings(image_api), http).generate(ROW, seed=1)
    assert image_api.stats()["generated"] == 0 and image_api.stats()["paid_but_lost"] == 0


def test_insufficient_quota_is_a_billing_error_not_a_rate_limit(image_api, http):
    image_api.configure(insufficient_quota=True)
    with pytest.raises(AccountProviderError) as caught:
        make_provider("openai", settings(image_api), http).generate(ROW, seed=None)
    assert isinstance(caught.value, PermanentProviderError)  # never retried
    assert "no credit left" in caught.value.reason and "billing" in caught.value.reason
    assert image_api.stats()["generated"] == 0


def test_a_plain_rate_limit_stays_transient(image_api, http):
    image_api.configure(rate_limit_every=1, retry_after="2")
    with pytest.raises(TransientProviderError) as caught:
        make_provider("openai", settings(image_api), http).generate(ROW, seed=None)
    assert caught.value.retry_after == 2.0


def test_openai_base_url_follows_the_sdk_convention(image_api, http):
    """OPENAI_BASE_URL includes /v1, as in OpenAI's own SDK; without it the path is wrong."""
    assert Settings().openai_base_url == "https://api.openai.com/v1"
    with pytest.raises(PermanentProviderError, match="HTTP 404"):
        make_provider("openai", settings(image_api, openai_base_url=image_api.url), http).generate(
            ROW, seed=None)


# --- Ideogram's account rules (rate-limits and errors pages) ------------------------------------

def test_the_in_flight_limit_counts_images_not_requests(image_api, http):
    """"a request for 4 images takes 4 places. The default limit is 10"; over it 429
    inflight_limit, not run and not billed."""
    assert image_api.configure()["inflight_limit"] == 10
    image_api.configure(latency=1.0)
    with ThreadPoolExecutor(3) as pool:
        first = [pool.submit(v3, image_api, http, num_images="4") for _ in range(2)]
        wait_for(lambda: image_api.stats()["in_flight"] == 2, what="8 images in progress")
        over = v3(image_api, http, num_images="3")  # 8 + 3 > 10
        fits = pool.submit(v3, image_api, http, num_images="2")  # 8 + 2 = 10
        assert [f.result().status_code for f in first] == [200, 200]
        assert fits.result().status_code == 200
    assert over.status_code == 429 and "Retry-After" not in over.headers
    assert over.json()["reject_reason"] == "inflight_limit"
    assert over.json()["max_inflight_requests"] == 10
    assert image_api.stats()["billed"] == 10  # the refused 3 were never run


def test_the_in_flight_limit_is_per_organization_across_endpoints(image_api, http):
    image_api.configure(latency=1.0, inflight_limit=1)
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(legacy, image_api, http)
        wait_for(lambda: image_api.stats()["in_flight"] == 1, what="one image in progress")
        assert v3(image_api, http).status_code == 429  # the other endpoint counts it too
        assert running.result().status_code == 200
    assert v3(image_api, http).status_code == 200  # a finished image frees its place


@pytest.mark.parametrize("reason", ["insufficient_funds", "daily_limit"])
def test_402_is_not_billed_and_names_its_reason(image_api, http, reason):
    image_api.configure(payment_required=reason)
    answer = v3(image_api, http)
    assert answer.status_code == 402 and answer.json()["reject_reason"] == reason
    assert legacy(image_api, http).status_code == 402
    assert image_api.stats()["billed"] == 0 and image_api.stats()["generated"] == 0


def test_a_daily_limit_after_n_images_lifts_when_configured_away(image_api, http):
    image_api.configure(daily_limit_images=3)
    assert v3(image_api, http, num_images="2").status_code == 200
    assert v3(image_api, http).status_code == 200
    refused = v3(image_api, http)
    assert refused.status_code == 402 and refused.json()["reject_reason"] == "daily_limit"
    image_api.configure(daily_limit_images=None)  # the next day
    assert v3(image_api, http).status_code == 200
    assert image_api.stats()["billed"] == 4


def test_a_withheld_image_is_billed_without_a_link(image_api, http):
    answer = v3(image_api, http, prompt="a WITHHELD scene", num_images="2")
    assert answer.status_code == 200
    assert [(image["url"], image["is_image_safe"]) for image in answer.json()["data"]] == [
        (None, False), (None, False)]
    assert image_api.stats()["billed"] == 2 and image_api.stats()["withheld"] == 2


def test_result_links_expire(image_api, http):
    image_api.configure(url_ttl=0.3)
    link = v3(image_api, http).json()["data"][0]["url"]
    assert http.get(link).status_code == 200
    wait_for(lambda: http.get(link).status_code == 404, timeout=5, what="the link to expire")
    assert image_api.stats()["expired_downloads"] >= 1


def test_the_provider_reads_the_account_refusals(image_api, http):
    image_api.configure(payment_required="daily_limit")
    with pytest.raises(AccountProviderError, match=r"daily limit \(daily_limit\)"):
        make_provider("ideogram", settings(image_api), http).generate(ROW, seed=1)
    image_api.configure(payment_required=None, inflight_limit=0)
    with pytest.raises(InflightLimited) as caught:
        make_provider("ideogram", settings(image_api), http).generate(ROW, seed=1)
    assert caught.value.limit is None  # 0 is no figure to follow
