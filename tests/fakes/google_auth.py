"""A local stand-in for Google's token endpoints: the v1 certificate list that identity tokens
are verified against, and tokeninfo for access tokens. It mints real RS256 identity tokens
signed with its own key, so the backend's google-auth verification runs unchanged."""
from __future__ import annotations

import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt

ISSUER = "https://accounts.google.com"
KEY_ID = "fake-key-1"


def _key_and_cert() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-google")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return pem_key, cert.public_bytes(serialization.Encoding.PEM)


class FakeGoogleAuth:
    def __init__(self, audience: str = "sheetbatch-test-client"):
        self.audience = audience
        self.key_pem, self.cert_pem = _key_and_cert()
        self.signer = crypt.RSASigner.from_string(self.key_pem, key_id=KEY_ID)
        self.access_tokens: dict[str, dict] = {}
        self.tokeninfo_calls = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "FakeGoogleAuth":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def certs_url(self) -> str:
        return f"{self.url}/oauth2/v1/certs"

    @property
    def tokeninfo_url(self) -> str:
        return f"{self.url}/tokeninfo"

    def identity_token(self, email: str, *, expires_in: int = 3600, audience: str | None = None,
                       issuer: str = ISSUER, verified: bool = True) -> str:
        now = int(time.time())
        claims = {"iss": issuer, "aud": audience or self.audience, "sub": email,
                  "email": email, "email_verified": verified, "iat": now,
                  "exp": now + expires_in}
        return jwt.encode(self.signer, claims).decode()

    def access_token(self, email: str, *, expires_in: int = 3600) -> str:
        token = f"ya29.fake-{email}-{len(self.access_tokens)}"
        self.access_tokens[token] = {"email": email, "email_verified": "true",
                                     "expires_in": str(expires_in), "aud": self.audience,
                                     "azp": self.audience,
                                     "scope": "https://www.googleapis.com/auth/spreadsheets"}
        return token

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                url = urlsplit(self.path)
                if url.path == "/oauth2/v1/certs":
                    return self._json(200, {KEY_ID: fake.cert_pem.decode()})
                if url.path == "/tokeninfo":
                    fake.tokeninfo_calls += 1
                    token = parse_qs(url.query).get("access_token", [""])[0]
                    info = fake.access_tokens.get(token)
                    if info is None:
                        return self._json(400, {"error": "invalid_token",
                                                "error_description": "Invalid Value"})
                    return self._json(200, info)
                self._json(404, {"error": "not_found"})

            def _json(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
