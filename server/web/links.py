"""Signed links: a ZIP download and private images expire; thumbnails inside =IMAGE() must stay
valid, so they are signed (unguessable) but do not expire."""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
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
