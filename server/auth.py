"""Who is calling: every /api/ request carries a Google token, verified here.

An identity token (a JWT from ScriptApp.getIdentityToken) is verified against Google's
certificates with google-auth; anything else is taken as an OAuth access token and checked with
Google's tokeninfo endpoint. Both endpoints come from settings so tests use a local issuer.
Verified tokens are cached until they expire (at most five minutes), so polling stays cheap;
refused ones for a minute, so a flood of bad tokens costs Google (and us) one call each at most.
"""
from __future__ import annotations

import re
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
REFUSED_SECONDS = 60
MAX_CACHED = 10_000  # tokens remembered either way; beyond it the oldest are forgotten first
# One address: no spaces or control characters, one @, at most 254 characters (RFC 5321).
# Non-ASCII is fine (internationalised addresses).
EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]{1,189}")


@dataclass(frozen=True)
class Caller:
    email: str
    expires_at: float  # of this verification (at most CACHE_SECONDS away)
    token_expires_at: float  # of the token itself


class NotAuthenticated(Exception):
    """The token is missing, malformed, expired or not Google's."""


class GoogleUnreachable(NotAuthenticated):
    """Google could not be asked; the token may be fine."""


def _remember(cache: dict, token: str, entry, now: float) -> dict:
    """`cache` with `token` added and expired entries dropped, never above MAX_CACHED."""
    def until(value) -> float:
        return value.expires_at if isinstance(value, Caller) else value[0]
    kept = {k: v for k, v in cache.items() if until(v) > now}
    while len(kept) >= MAX_CACHED:
        kept.pop(next(iter(kept)))
    kept[token] = entry
    return kept


class Authenticator:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._cache: dict[str, Caller] = {}
        self._refused: dict[str, tuple[float, str]] = {}  # token → (until, why)
        self._lock = threading.Lock()
        self._session = requests.Session()

    def identify(self, authorization: str | None) -> Caller:
        token = _bearer(authorization)
        now = time.time()
        with self._lock:
            cached, refused = self._cache.get(token), self._refused.get(token)
        if cached and cached.expires_at > now:
            return cached
        if refused and refused[0] > now:
            raise NotAuthenticated(refused[1])
        try:
            caller = self._verify_identity(token) if is_jwt(token) else self._verify_access(token)
        except NotAuthenticated as error:
            if not isinstance(error, GoogleUnreachable):  # that one may pass in a moment
                with self._lock:
                    self._refused = _remember(self._refused, token, (now + REFUSED_SECONDS,
                                                                     str(error)), now)
            raise
        with self._lock:
            self._cache = _remember(self._cache, token, caller, now)
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
        except google.auth.exceptions.TransportError:
            raise GoogleUnreachable("Google could not be reached to check the token.") from None
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
        accepted = self.settings.google_client_ids
        if not accepted:
            # Without our client to compare, an access token any Google app obtained would pass.
            raise NotAuthenticated("Access tokens need GOOGLE_CLIENT_ID set on the server.")
        try:
            response = httpx.get(self.settings.google_tokeninfo_url,
                                 params={"access_token": token}, timeout=10)
        except httpx.HTTPError:
            raise GoogleUnreachable("Google could not be reached to check the token.") from None
        if response.status_code != 200:
            raise NotAuthenticated("The access token is not valid (expired or revoked).")
        info = response.json()
        if not {info.get("aud"), info.get("azp")} & set(accepted):
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
    if not isinstance(email, str) or str(verified).lower() not in ("true", "1"):
        raise NotAuthenticated("The token does not carry a verified email address.")
    if not EMAIL.fullmatch(email):
        raise NotAuthenticated("The token's email address is not a valid address.")
    token_expires_at = float(expires or 0)
    if token_expires_at <= time.time():
        raise NotAuthenticated("The token has expired.")
    return Caller(email=email.lower(), token_expires_at=token_expires_at,
                  expires_at=min(token_expires_at, time.time() + CACHE_SECONDS))
