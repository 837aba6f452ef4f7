"""Who is calling: every /api/ request carries a Google token, verified here.

An identity token (a JWT from ScriptApp.getIdentityToken) is verified against Google's
certificates with google-auth; anything else is taken as an OAuth access token and checked with
Google's tokeninfo endpoint. Both endpoints come from settings so tests use a local issuer.
Verified tokens are cached until they expire (at most five minutes), so polling stays cheap.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import google.auth.exceptions
import google.auth.transport.requests
import httpx
import requests
from google.oauth2 import id_token

from server.config import Settings

CACHE_SECONDS = 300


@dataclass(frozen=True)
class Caller:
    email: str
    expires_at: float  # of this verification (at most CACHE_SECONDS away)
    token_expires_at: float  # of the token itself


class NotAuthenticated(Exception):
    """The token is missing, malformed, expired or not Google's."""


class Authenticator:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._cache: dict[str, Caller] = {}
        self._lock = threading.Lock()
        self._session = requests.Session()

    def identify(self, authorization: str | None) -> Caller:
        token = _bearer(authorization)
        with self._lock:
            cached = self._cache.get(token)
        if cached and cached.expires_at > time.time():
            return cached
        caller = self._verify_identity(token) if is_jwt(token) else self._verify_access(token)
        with self._lock:
            self._cache = {k: v for k, v in self._cache.items() if v.expires_at > time.time()}
            self._cache[token] = caller
        return caller

    def _verify_identity(self, token: str) -> Caller:
        accepted = self.settings.google_client_ids
        if not accepted:
            # Without an audience to check, any Google identity token would pass.
            raise NotAuthenticated("Identity tokens need GOOGLE_CLIENT_ID set on the server.")
        request = google.auth.transport.requests.Request(session=self._session)
        try:
            # The audience is checked below, to name the refused one.
            claims = id_token.verify_token(token, request, audience=None,
                                           certs_url=self.settings.google_certs_url)
        except (ValueError, google.auth.exceptions.GoogleAuthError) as error:
            raise NotAuthenticated(f"The identity token was refused: {error}") from None
        if claims.get("aud") not in accepted:
            raise NotAuthenticated(
                f"The identity token is for the OAuth client {claims.get('aud')!r}, which this "
                "server does not accept: add it to GOOGLE_CLIENT_ID (a comma-separated list).")
        if claims.get("iss") not in self.settings.google_issuers:
            raise NotAuthenticated("The identity token was not issued by Google.")
        return _caller(claims.get("email"), claims.get("email_verified"), claims.get("exp"))

    def _verify_access(self, token: str) -> Caller:
        try:
            response = httpx.get(self.settings.google_tokeninfo_url,
                                 params={"access_token": token}, timeout=10)
        except httpx.HTTPError:
            raise NotAuthenticated("Google could not be reached to check the token.") from None
        if response.status_code != 200:
            raise NotAuthenticated("The access token is not valid (expired or revoked).")
        info = response.json()
        accepted = self.settings.google_client_ids
        if accepted and not {info.get("aud"), info.get("azp")} & set(accepted):
            raise NotAuthenticated(f"The access token was issued to the OAuth client "
                                   f"{info.get('aud')!r}, which this server does not accept.")
        expires = time.time() + float(info.get("expires_in", 0))
        return _caller(info.get("email"), info.get("email_verified"), expires)


def is_jwt(token: str) -> bool:
    """Identity tokens are JWTs (a base64 JSON header, then two more parts); access tokens
    are opaque strings that may contain dots too."""
    return token.startswith("eyJ") and token.count(".") == 2


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("Sign in required: send an Authorization: Bearer token.")
    return token.strip()


def _caller(email: str | None, verified, expires) -> Caller:
    if not email or str(verified).lower() not in ("true", "1"):
        raise NotAuthenticated("The token does not carry a verified email address.")
    token_expires_at = float(expires or 0)
    if token_expires_at <= time.time():
        raise NotAuthenticated("The token has expired.")
    return Caller(email=email.lower(), token_expires_at=token_expires_at,
                  expires_at=min(token_expires_at, time.time() + CACHE_SECONDS))
