"""The authorization matrix of the pages opened without the add-in's token: every route of the
app that takes a signed link (read from Flask's URL map, so a new one is covered at once) ×
missing or garbage, tampered, expired, another kind of link, another person's. The /api routes ×
token variants are in tests/web/test_api_errors.py (read from the OpenAPI document).

Every link the table in server/links.py builds opens the route registered from it, and the log
scrubber hides its token: renaming a shape in one place cannot break the links already written
into people's sheets and emails.

Nothing is mocked: the embedded Redis, a real stored image, links signed with the app's key
(expired ones by signing with a clock in the past).
"""
from __future__ import annotations

import io
import time
from urllib.parse import urlsplit

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from PIL import Image

from server import links
from server.links import GALLERY_SECONDS, PRIVATE_IMAGE_SECONDS, SignedLink
from server.sheet.request import ImageRequest
from server.storage import batch_storage
from server.web.logs import scrub
from server.web.openapi import OPENAPI

SECRET = "matrix-secret"
ALICE, BOB = "alice@example.com", "bob@example.com"
PUBLIC_ROOT = "https://sheetbatch.example.org/"  # as SHEETBATCH_PUBLIC_URL may be written


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
    storage, key = batch_storage(services.batches.get(batch_id), services.settings)
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


def built_links(app, world) -> list[tuple[SignedLink, str]]:
    """Every kind of absolute link the table builds, to Alice's batch and its private image."""
    signer, batch, image = app.extensions["sheetbatch"].signer, world["batch"], world["image"]
    return [(links.UPLOAD, signer.upload_url(PUBLIC_ROOT, ALICE)),
            (links.DOWNLOAD, signer.download_url(PUBLIC_ROOT, batch, ALICE)),
            (links.IMAGE, signer.image_url(PUBLIC_ROOT, batch, image, private=True)),
            (links.THUMB, signer.thumb_url(PUBLIC_ROOT, batch, image)),
            (links.GALLERY, signer.gallery_url(PUBLIC_ROOT, batch, ALICE))]


def test_every_link_the_table_builds_opens_the_route_registered_from_it(app, world):
    built = built_links(app, world)
    assert {shape for shape, _ in built} == set(links.SIGNED_LINKS)
    adapter, client = app.url_map.bind(urlsplit(PUBLIC_ROOT).netloc), app.test_client()
    for shape, url in built:
        assert url.startswith(PUBLIC_ROOT) and "//" not in url[len("https://"):], url
        path = urlsplit(url).path
        rule, arguments = adapter.match(path, method="GET", return_rule=True)
        assert rule.rule == shape.rule and arguments == {"token": path.rsplit("/", 1)[1]}
        assert client.get(path).status_code == 200, url


def test_every_rule_of_the_table_is_registered_and_every_signed_route_is_in_it(app):
    registered = {rule.rule for rule in app.url_map.iter_rules()}
    table = {shape.rule for shape in links.SIGNED_LINKS} | {
        links.UPLOAD_START_RULE, links.PUBLIC_GALLERY_RULE, links.PUBLIC_IMAGE_RULE,
        links.PUBLIC_THUMB_RULE}
    assert table <= registered
    # A signed route outside the table would escape the log scrubber.
    prefixes = {shape.prefix for shape in links.SIGNED_LINKS}
    assert {kind_of(rule) for _, rule in signed_routes(app)} == prefixes


def test_the_log_scrubber_hides_the_token_of_every_link_the_table_builds(app, world):
    for shape, url in built_links(app, world):
        token, path = url.rsplit("/", 1)[1], urlsplit(url).path
        for line in (f"GET {url} 200", f"Exception on {path} [GET]", f'href="{url}?page=2"',
                     f"{path}/start"):
            text = scrub(line)
            assert f"/{shape.prefix}/[signed]" in text, line
            assert token not in text and token.rsplit(".", 1)[1] not in text, line
