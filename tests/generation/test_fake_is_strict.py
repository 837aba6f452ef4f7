"""The image-API fake refuses what the real APIs refuse (the published Ideogram description and
its per-model rules; OpenAI's documented per-model parameters), in each provider's own error
shape, and simulates what they do to us: links on another host, answers lost after billing,
billing refusals."""
from __future__ import annotations

import json

import pytest

from server.config import Settings
from server.generation.providers import (
    AccountProviderError,
    PermanentProviderError,
    TransientProviderError,
    make_provider,
)
from server.sheet.request import ImageRequest


def legacy(fake, client, **image_request):
    return client.post(fake.url + "/generate", headers={"Api-Key": fake.api_key},
                       json={"image_request": {"prompt": "x"} | image_request})


def v3(fake, client, **fields):
    return client.post(fake.url + "/v1/ideogram-v3/generate", headers={"Api-Key": fake.api_key},
                       files={name: (None, value) for name, value in
                              ({"prompt": "x"} | fields).items()})


def openai(fake, client, **body):
    return client.post(fake.openai_url + "/images/generations",
                       headers={"Authorization": f"Bearer {fake.api_key}"},
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
def test_legacy_endpoint_refuses_what_the_description_forbids(fake, client, image_request,
                                                              message):
    answer = legacy(fake, client, **image_request)
    assert answer.status_code == 400 and message in answer.json()["error"]
    assert set(answer.json()) == {"error"} and fake.stats()["generated"] == 0


@pytest.mark.parametrize("image_request", [
    {"model": "V_1", "negative_prompt": "blur"}, {"model": "V_1_TURBO", "negative_prompt": "x"},
    {"model": "V_2", "negative_prompt": "blur", "color_palette": {"name": "EMBER"},
     "style_type": "RENDER_3D"},
    {"model": "V_2A_TURBO", "style_type": "ANIME"},
    {"color_palette": {"members": [{"color_hex": "#FFF"}, {"color_hex": "#CBA324",
                                                           "color_weight": 0.05}]}},
])
def test_legacy_endpoint_accepts_what_the_description_allows(fake, client, image_request):
    assert legacy(fake, client, **image_request).status_code == 200


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
def test_v3_endpoint_refuses_what_the_description_forbids(fake, client, fields, message):
    answer = v3(fake, client, **fields)
    assert answer.status_code == 400 and message in answer.json()["error"], answer.json()


def test_v3_accepts_a_json_encoded_palette_part(fake, client):
    palette = {"members": [{"color_hex": "#CBA324", "color_weight": 1.0}]}
    assert v3(fake, client, color_palette=json.dumps(palette), num_images="2",
              seed="7").status_code == 200
    assert fake.stats()["generated"] == 2


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
def test_openai_refuses_what_the_model_does_not_take(fake, client, body, param, message):
    answer = openai(fake, client, **body)
    error = answer.json()["error"]
    assert answer.status_code == 400 and set(error) == {"message", "type", "param", "code"}
    assert error["param"] == param and message in error["message"]
    assert error["type"] == "invalid_request_error"


def settings(fake, **overrides) -> Settings:
    return Settings(**({"ideogram_api_key": fake.api_key, "ideogram_base_url": fake.url,
                        "ideogram_image_hosts": (fake.image_host,),
                        "openai_api_key": fake.api_key, "openai_base_url": fake.openai_url,
                        "provider_timeout": 5.0} | overrides))


ROW = ImageRequest(prompt="a lighthouse", visibility="private", model="3.0")


@pytest.mark.parametrize("provider", ["ideogram", "openai"])
def test_an_answer_lost_after_billing_is_paid_for_and_counted(fake, client, provider):
    fake.configure(lost_every=1)
    with pytest.raises(TransientProviderError, match="connection .* was lost"):
        make_provider(provider, settings(fake), client).generate(ROW, seed=1)
    stats = fake.stats()
    assert stats["paid_but_lost"] == 1 and stats["generated"] == 1
    assert stats["responses_by_status"] == {"paid_but_lost": 1}


def test_a_dropped_connection_before_generating_is_not_billed(fake, client):
    fake.configure(drop_every=1)
    with pytest.raises(TransientProviderError):
        make_provider("ideogram", settings(fake), client).generate(ROW, seed=1)
    assert fake.stats()["generated"] == 0 and fake.stats()["paid_but_lost"] == 0


def test_insufficient_quota_is_a_billing_error_not_a_rate_limit(fake, client):
    fake.configure(insufficient_quota=True)
    with pytest.raises(AccountProviderError) as caught:
        make_provider("openai", settings(fake), client).generate(ROW, seed=None)
    assert isinstance(caught.value, PermanentProviderError)  # never retried
    assert "no credit left" in caught.value.reason and "billing" in caught.value.reason
    assert fake.stats()["generated"] == 0


def test_a_plain_rate_limit_stays_transient(fake, client):
    fake.configure(rate_limit_every=1, retry_after="2")
    with pytest.raises(TransientProviderError) as caught:
        make_provider("openai", settings(fake), client).generate(ROW, seed=None)
    assert caught.value.retry_after == 2.0


def test_openai_base_url_follows_the_sdk_convention(fake, client):
    """OPENAI_BASE_URL includes /v1, as in OpenAI's own SDK; without it the path is wrong."""
    assert Settings().openai_base_url == "https://api.openai.com/v1"
    with pytest.raises(PermanentProviderError, match="HTTP 404"):
        make_provider("openai", settings(fake, openai_base_url=fake.url), client).generate(
            ROW, seed=None)
