"""A local stand-in for Google's token endpoints: the v1 certificate list that identity tokens
are verified against, and tokeninfo for access tokens. It mints real RS256 identity tokens
signed with its own key, so the backend's google-auth verification runs unchanged.

It also plays Google Identity Services for web sign-in (developers.google.com/identity/gsi/web):
`/gsi/client` is the script a page loads; it reads the page's `g_id_onload` element
(`data-client_id`, `data-login_uri`), draws the "Sign in with Google" button into `.g_id_signin`,
lets the person pick one of `accounts` (Google's account chooser), and then does what Google
documents for a login URI: set the `g_csrf_token` cookie and POST the form fields `credential`
(the ID token: RS256 JWT with iss, azp, aud, sub, email, email_verified, nbf, name, picture,
given_name, family_name, iat, exp, jti), `g_csrf_token` and `select_by`.

It also stands in for Google's OAuth token endpoint for service accounts: `service_account_file`
writes a real JSON key file (a fresh RSA key) whose `token_uri` points here, and a JWT-bearer
grant signed with that key gets an access token (RFC 7523, as oauth2.googleapis.com/token).
`emails` maps every access token it issued to its account, for the Sheets emulator's ACLs."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt

ISSUER = "https://accounts.google.com"
KEY_ID = "fake-key-1"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"  # google-auth signs for this, whatever URI


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
        self.emails: dict[str, str] = {}  # access token -> account, for the emulator's ACLs
        self.service_accounts: dict[str, str] = {}  # key id -> public key (PEM)
        self.tokeninfo_calls = 0
        self.accounts: list[str] = []  # who can pick themselves in the account chooser
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

    def sign_in_settings(self) -> dict:
        """The `Settings` fields that make our app accept this issuer's tokens as Google's."""
        return {"google_client_ids": (self.audience,), "google_certs_url": self.certs_url,
                "google_tokeninfo_url": self.tokeninfo_url}

    def identity_token(self, email: str, *, expires_in: int = 3600, audience: str | None = None,
                       issuer: str = ISSUER, verified: bool = True) -> str:
        now = int(time.time())
        claims = {"iss": issuer, "aud": audience or self.audience, "sub": email,
                  "email": email, "email_verified": verified, "iat": now,
                  "exp": now + expires_in}
        return jwt.encode(self.signer, claims).decode()

    def gsi_credential(self, email: str, client_id: str, *, expires_in: int = 3600) -> str:
        """The ID token Google Identity Services hands a page's login URI."""
        now = int(time.time())
        name = email.split("@")[0].replace(".", " ").title()
        claims = {"iss": ISSUER, "azp": client_id, "aud": client_id,
                  "sub": str(int(hashlib.sha256(email.encode()).hexdigest()[:16], 16)),
                  "email": email, "email_verified": True,
                  "nbf": now - 10, "name": name, "given_name": name.split()[0],
                  "family_name": name.split()[-1], "picture": f"{self.url}/picture.png",
                  "iat": now, "exp": now + expires_in, "jti": secrets.token_hex(20)}
        return jwt.encode(self.signer, claims).decode()

    def access_token(self, email: str, *, expires_in: int = 3600) -> str:
        token = f"ya29.fake-{email}-{len(self.access_tokens)}"
        self.access_tokens[token] = {"email": email, "email_verified": "true",
                                     "expires_in": str(expires_in), "aud": self.audience,
                                     "azp": self.audience,
                                     "scope": "https://www.googleapis.com/auth/spreadsheets"}
        self.emails[token] = email
        return token

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def service_account_file(self, path: Path, email: str) -> Path:
        """A service account's JSON key file, in Google's format, for a fresh RSA key."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key_id = f"sa-key-{len(self.service_accounts) + 1}"
        self.service_accounts[key_id] = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
        path.write_text(json.dumps({
            "type": "service_account", "project_id": "sheetbatch-test", "private_key_id": key_id,
            "private_key": private, "client_email": email, "client_id": "1",
            "token_uri": self.token_uri}))
        return path

    def _service_account_token(self, form: dict[str, list[str]]) -> tuple[int, dict]:
        """The JWT-bearer grant: the assertion must be signed by a key we handed out."""
        if form.get("grant_type", [""])[0] != JWT_BEARER:
            return 400, {"error": "unsupported_grant_type"}
        assertion = form.get("assertion", [""])[0]
        try:
            claims = jwt.decode(assertion, certs=self.service_accounts,
                                audience=[TOKEN_AUDIENCE, self.token_uri])
        except (ValueError, KeyError):
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        return 200, {"access_token": self.access_token(claims["iss"]), "expires_in": 3599,
                     "token_type": "Bearer"}

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
                if url.path == "/gsi/client":
                    return self._send(200, GSI_CLIENT.encode(), "text/javascript")
                if url.path == "/gsi/accounts":
                    return self._json(200, {"accounts": fake.accounts})
                if url.path == "/gsi/credential":
                    query = parse_qs(url.query)
                    email = query.get("email", [""])[0]
                    client_id = query.get("client_id", [""])[0]
                    if email not in fake.accounts or not client_id:
                        return self._json(400, {"error": "invalid_request"})
                    return self._json(200, {"credential": fake.gsi_credential(email, client_id)})
                self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:  # noqa: N802
                if urlsplit(self.path).path != "/token":
                    return self._json(404, {"error": "not_found"})
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                self._json(*fake._service_account_token(form))

            def _json(self, status: int, payload: dict) -> None:
                self._send(status, json.dumps(payload).encode(), "application/json")

            def _send(self, status: int, data: bytes, content_type: str) -> None:
                self.send_response(status)
                # The script and its calls come from the page's origin, as Google's do.
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


# The stand-in for accounts.google.com/gsi/client: the button, the account chooser, and the
# documented POST of the credential to the page's login URI.
GSI_CLIENT = r"""
(function () {
  var origin = new URL(document.currentScript.src).origin;
  function start() {
    var onload = document.getElementById("g_id_onload");
    var slot = document.querySelector(".g_id_signin");
    if (!onload || !slot) { return; }
    var button = document.createElement("button");
    button.type = "button";
    button.id = "gsi-button";
    button.textContent = "Sign in with Google";
    slot.appendChild(button);
    button.addEventListener("click", function () {
      fetch(origin + "/gsi/accounts").then(function (r) { return r.json(); }).then(function (data) {
        var chooser = document.createElement("div");
        chooser.setAttribute("role", "dialog");
        chooser.setAttribute("aria-label", "Choose an account");
        chooser.id = "gsi-chooser";
        data.accounts.forEach(function (email) {
          var pick = document.createElement("button");
          pick.type = "button";
          pick.textContent = "Continue as " + email;
          pick.dataset.email = email;
          pick.addEventListener("click", function () { choose(onload.dataset, email); });
          chooser.appendChild(pick);
        });
        slot.appendChild(chooser);
        chooser.querySelector("button") && chooser.querySelector("button").focus();
      });
    });
  }
  function choose(config, email) {
    var query = "?client_id=" + encodeURIComponent(config.client_id) +
                "&email=" + encodeURIComponent(email);
    fetch(origin + "/gsi/credential" + query).then(function (r) { return r.json(); })
        .then(function (data) {
      var csrf = Math.random().toString(36).slice(2) + Date.now().toString(36);
      document.cookie = "g_csrf_token=" + csrf + "; path=/; SameSite=Lax";
      var form = document.createElement("form");
      form.method = "POST";
      form.action = config.login_uri;
      var fields = [["credential", data.credential], ["g_csrf_token", csrf], ["select_by", "btn"]];
      fields.forEach(function (pair) {
        var input = document.createElement("input");
        input.type = "hidden"; input.name = pair[0]; input.value = pair[1];
        form.appendChild(input);
      });
      document.body.appendChild(form);
      form.submit();
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
"""
