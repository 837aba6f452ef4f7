"""The authorization matrix of the pages opened without the add-in's token: every route of the
app that takes a signed link (read from Flask's URL map, so a new one is covered at once) ×
missing or garbage, tampered, expired, another kind of link, another person's. The /api routes ×
token variants are in tests/web/test_api_errors.py (read from the OpenAPI document).

Nothing is mocked: the embedded Redis, a real stored image, links signed with the app's key
(expired ones by signing with a clock in the past).
"""
from __future__ import annotations

import io
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from PIL import Image

from server.sheet.request import ImageRequest
from server.storage import batch_storage
from server.web.links import GALLERY_SECONDS, PRIVATE_IMAGE_SECONDS
from server.web.openapi import OPENAPI

SECRET = "matrix-secret"
ALICE, BOB = "alice@example.com", "bob@example.com"


class LongAgo(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - max(GALLERY_SECONDS, PRIVATE_IMAGE_SECONDS) - 60


@pytest.fixture
def app_settings() -> dict:
    return {"secret_key": SECRET}  # the links below are signed with it


@pytest.fixture
def world(app):
    """Alice's batch with one stored private image, and every kind of link to it."""
    services = app.extensions["sheetbatch"]
    request = ImageRequest(prompt="a fox", visibility="private", num_images=1)
    batch_id = services.batches.create({2: request}, owner=ALICE, provider="preview",
                                       account="preview-account")
    storage, key = batch_storage(services.batches.fields(batch_id), services.settings)
    png = io.BytesIO()
    Image.new("RGB", (64, 64), "orange").save(png, format="PNG")
    image = storage.save(key, 2, 1, "a fox", png.getvalue(), seed=1, used_prompt="a fox")
    signer = services.signer
    links = {
        "upload": signer.upload_token(ALICE),
        "download": signer.zip_token(batch_id, ALICE),
        "images": signer.image_token(batch_id, image.name, private=True),
        "thumbs": signer.image_token(batch_id, image.name, private=False),
        "gallery": signer.gallery_token(batch_id, ALICE),
    }
    expired = URLSafeTimedSerializer(SECRET, signer=LongAgo)
    return {"batch": batch_id, "image": image.name, "links": links, "expired": {
        "upload": expired.dumps({"u": ALICE}, salt="upload"),
        "download": expired.dumps({"b": batch_id, "u": ALICE}, salt="zip"),
        "images": "p." + expired.dumps({"b": batch_id, "n": image.name}, salt="image"),
        "gallery": expired.dumps({"b": batch_id, "u": ALICE}, salt="gallery"),
    }, "bobs": {
        "download": signer.zip_token(batch_id, BOB),
        "gallery": signer.gallery_token(batch_id, BOB),
    }}


def signed_routes(app) -> list[tuple[str, str]]:
    """(method, rule) of every route outside /api/ that takes a <token>."""
    return sorted((method, rule.rule) for rule in app.url_map.iter_rules()
                  if "<token>" in rule.rule and not rule.rule.startswith("/api/")
                  for method in rule.methods - {"HEAD", "OPTIONS"})


def kind_of(rule: str) -> str:
    return rule.strip("/").split("/")[0]


def tampered(token: str) -> str:
    return token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")


def variants(world: dict, kind: str) -> dict[str, str]:
    """Every link that must not open a `kind` route."""
    good = world["links"][kind]
    others = {f"a {other} link": token for other, token in world["links"].items()
              if other != kind and not {kind, other} <= {"images", "thumbs"}}
    found = {"garbage": "not-a-link", "empty-ish": ".", "tampered": tampered(good),
             "unsigned payload": good.rsplit(".", 2)[0], **others}
    if kind in world["expired"]:
        found["expired"] = world["expired"][kind]
    if kind in world["bobs"]:
        found["another person's"] = world["bobs"][kind]
    return found


def open_route(client, method: str, rule: str, token: str):
    return client.open(rule.replace("<token>", token), method=method,
                       data={"upload_id": "0" * 16, "provider": "preview"})


def test_the_matrix_covers_every_signed_route(app):
    kinds = {kind_of(rule) for _, rule in signed_routes(app)}
    assert kinds == {"upload", "download", "images", "thumbs", "gallery"}
    documented = {path.replace("{batch_id}", "<batch_id>") for path in OPENAPI["paths"]}
    api_rules = {rule.rule for rule in app.url_map.iter_rules()
                 if rule.rule.startswith("/api/")}
    assert api_rules <= documented  # so tests/web/test_api_errors.py reaches every /api route


def test_a_good_link_opens_its_route(app, world):
    client = app.test_client()
    for method, rule in signed_routes(app):
        if method == "GET":
            response = open_route(client, method, rule, world["links"][kind_of(rule)])
            assert response.status_code == 200, rule


def test_no_other_link_opens_a_signed_route(app, world):
    client = app.test_client()
    tried = 0
    for method, rule in signed_routes(app):
        for name, token in variants(world, kind_of(rule)).items():
            response = open_route(client, method, rule, token)
            body = response.get_data()
            assert response.status_code in (403, 404), (method, rule, name, response.status_code)
            assert world["batch"].encode() not in body and b"a fox" not in body, (rule, name)
            assert not body.startswith(b"\x89PNG") and b"PK\x03\x04" not in body[:4]
            tried += 1
    assert tried >= 60  # 7 routes × 8 to 10 links each (docs/security.md)
