"""Every link we hand out, in one table, and the signatures that make them safe to hand out.

A link written into a sheet, an email or a bookmark must keep opening for as long as it is
valid, so its shape is written here once: the route registers its rule from the table, the links
written into sheets and emails and sent to the add-in are built from it, and the log scrubber
hides its token with the pattern made from it. Never rename a shape: old links would break.

The ZIP download and private images expire; thumbnails inside =IMAGE() must stay valid, so they
are signed (unguessable) but do not expire. The public gallery and public images are not signed:
anyone may look at a public row.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import (
    BadSignature,
    SignatureExpired,
    URLSafeSerializer,
    URLSafeTimedSerializer,
)

ZIP_SECONDS = 3600
PRIVATE_IMAGE_SECONDS = 7 * 24 * 3600
GALLERY_SECONDS = 7 * 24 * 3600
UPLOAD_SECONDS = 3600


@dataclass(frozen=True)
class SignedLink:
    """The shape of a signed link, `/<prefix>/<token>`: the token alone grants access."""
    prefix: str

    @property
    def rule(self) -> str:
        """The URL rule its route registers with."""
        return f"/{self.prefix}/<token>"

    def url(self, public_root: str, token: str) -> str:
        """The absolute link, from the address people reach us at."""
        return f"{public_root.rstrip('/')}/{self.prefix}/{token}"


UPLOAD = SignedLink("upload")  # one person's upload page (the add-in opens it)
DOWNLOAD = SignedLink("download")  # a batch's ZIP
IMAGE = SignedLink("images")  # one image, full size: the sheet's link, private or lasting
THUMB = SignedLink("thumbs")  # one image's thumbnail: the sheet's =IMAGE() preview
GALLERY = SignedLink("gallery")  # a batch's progress and images (the add-in and the email)
SIGNED_LINKS = (UPLOAD, DOWNLOAD, IMAGE, THUMB, GALLERY)
UPLOAD_START_RULE = UPLOAD.rule + "/start"  # where the upload page's form starts the batch

# Not signed: a person's public gallery, and an image anyone may see if its row is public.
PUBLIC_GALLERY_RULE = "/u/<handle>"
PUBLIC_IMAGE_RULE = "/i/<batch_id>/<name>"
PUBLIC_THUMB_RULE = PUBLIC_IMAGE_RULE + "/thumb"


def public_image_url(public_root: str, batch_id: str, name: str) -> str:
    """The link to an image of a public row: anyone may open it, so it needs no signature."""
    return f"{public_root.rstrip('/')}/i/{batch_id}/{name}"

# What the log scrubber hides. A token holds dots (payload.time.signature); a folder name does not.
SIGNED_PATH = re.compile(r"/(" + "|".join(link.prefix for link in SIGNED_LINKS) + r")/"
                         r"[^/\s?#\"'<>.]*\.[^/\s?#\"'<>]+")


class BadLink(Exception):
    pass


def load_secret(configured: str | None, data_dir: Path) -> str:
    """The configured key, or one made once and kept (0600) in the data folder."""
    if configured:
        return configured
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


class Signer:
    def __init__(self, secret: str):
        self._timed = URLSafeTimedSerializer(secret)
        self._lasting = URLSafeSerializer(secret)
        self._handle_key = hashlib.sha256(b"public-handle:" + secret.encode()).digest()

    def public_handle(self, email: str) -> str:
        """A stable name for the person's public gallery that does not reveal the email."""
        return hmac.new(self._handle_key, email.encode(), hashlib.sha256).hexdigest()[:20]

    def zip_token(self, batch_id: str, owner: str) -> str:
        return self._timed.dumps({"b": batch_id, "u": owner}, salt="zip")

    def image_token(self, batch_id: str, name: str, private: bool) -> str:
        payload = {"b": batch_id, "n": name}
        if private:
            return "p." + self._timed.dumps(payload, salt="image")
        return "l." + self._lasting.dumps(payload, salt="thumb")

    def gallery_token(self, batch_id: str, owner: str) -> str:
        return self._timed.dumps({"b": batch_id, "u": owner}, salt="gallery")

    def read_gallery(self, token: str) -> dict:
        return self._load(self._timed, token, "gallery", GALLERY_SECONDS)

    def upload_token(self, owner: str) -> str:
        return self._timed.dumps({"u": owner}, salt="upload")

    def read_upload(self, token: str) -> dict:
        return self._load(self._timed, token, "upload", UPLOAD_SECONDS)

    def read_zip(self, token: str) -> dict:
        return self._load(self._timed, token, "zip", ZIP_SECONDS)

    def upload_url(self, public_root: str, owner: str) -> str:
        return UPLOAD.url(public_root, self.upload_token(owner))

    def download_url(self, public_root: str, batch_id: str, owner: str) -> str:
        return DOWNLOAD.url(public_root, self.zip_token(batch_id, owner))

    def image_url(self, public_root: str, batch_id: str, name: str, private: bool) -> str:
        return IMAGE.url(public_root, self.image_token(batch_id, name, private))

    def thumb_url(self, public_root: str, batch_id: str, name: str) -> str:
        """Inside =IMAGE() a link must not expire: a lasting signature."""
        return THUMB.url(public_root, self.image_token(batch_id, name, private=False))

    def gallery_url(self, public_root: str, batch_id: str, owner: str) -> str:
        return GALLERY.url(public_root, self.gallery_token(batch_id, owner))

    @staticmethod
    def is_lasting(token: str) -> bool:
        """A lasting link (the sheet's preview): it opens a private row's thumbnail only."""
        return token.startswith("l.")

    def read_image(self, token: str) -> dict:
        kind, _, rest = token.partition(".")
        if kind == "p":
            return self._load(self._timed, rest, "image", PRIVATE_IMAGE_SECONDS)
        if kind == "l":
            return self._load(self._lasting, rest, "thumb", None)
        raise BadLink("This link is not valid.")

    @staticmethod
    def _load(serializer, token: str, salt: str, max_age: int | None) -> dict:
        try:
            if max_age is None:
                return serializer.loads(token, salt=salt)
            return serializer.loads(token, salt=salt, max_age=max_age)
        except SignatureExpired:
            raise BadLink("This link has expired. Ask the sidebar for a new one, or sign in to "
                          "sheetbatch to see your batches.") from None
        except BadSignature:
            raise BadLink("This link is not valid.") from None
