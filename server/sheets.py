"""The gspread client we talk to Google Sheets with, and our own retry policy.

gspread's BackOffHTTPClient (6.2.1) can recurse without bound and ignores Retry-After, so every
Sheets call goes through `call_with_retries` instead.
"""
from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import google.oauth2.credentials
import gspread
import requests

from server.google_endpoint import point_session_at
from server.retry_after import parse_retry_after

T = TypeVar("T")

SERVICE_ACCOUNT_ENV = ("SHEETBATCH_SERVICE_ACCOUNT_FILE", "GOOGLE_APPLICATION_CREDENTIALS")
API_URL_ENV = "SHEETBATCH_GOOGLE_API_URL"
RETRY_AFTER_CAP = 300.0  # never sleep longer than this, whatever a server asks


class SheetsUnavailable(RuntimeError):
    """No way to reach Google Sheets is configured."""


class SheetAccessError(Exception):
    """The sheet cannot be opened by us; the text is one plain line for the person."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status

    @classmethod
    def from_api_error(cls, error: gspread.exceptions.APIError, spreadsheet_id: str,
                       who: str) -> SheetAccessError:
        status = status_of(error)
        if status == 401:
            return cls("Your Google sign-in has expired. Reload the sheet and try again.", 401)
        if status == 403:
            return cls(f"The sheet is not shared with {who}. Share it (as editor) and try again.",
                       403)
        return cls(f"The spreadsheet {spreadsheet_id} was not found. Check the link, or whether "
                   "it was deleted.", status)


def sheets_client(access_token: str | None, settings_like: Any = None) -> gspread.Client:
    """A gspread client acting as the person (their access token) or as our service account.

    `settings_like` is accepted for the callers' convenience; the knobs are read from the
    environment (SHEETBATCH_SERVICE_ACCOUNT_FILE / GOOGLE_APPLICATION_CREDENTIALS,
    SHEETBATCH_GOOGLE_API_URL) so tests can point a client at the emulator.
    """
    if access_token:
        # A bare token cannot refresh: a 401 later means "ask the add-in for a fresh token".
        client = gspread.authorize(google.oauth2.credentials.Credentials(access_token))
    else:
        path = _service_account_file(settings_like)
        if not path:
            raise SheetsUnavailable(
                "No Google access token was sent and no service account is configured; set "
                "SHEETBATCH_SERVICE_ACCOUNT_FILE (or GOOGLE_APPLICATION_CREDENTIALS) to the "
                "service account's JSON key file.")
        client = gspread.service_account(filename=path)
    url = os.environ.get(API_URL_ENV, "").strip() or getattr(settings_like, "google_api_url", None)
    if url:
        point_session_at(client.http_client.session, url)
    return client


def _service_account_file(settings_like: Any) -> str | None:
    configured = getattr(settings_like, "service_account_file", None)
    if configured:
        return str(configured)
    for name in SERVICE_ACCOUNT_ENV:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def acting_as(client: gspread.Client) -> str:
    """Who the sheet must be shared with, in words, for error messages."""
    credentials = getattr(client.http_client, "auth", None)
    email_address = getattr(credentials, "service_account_email", None)
    if email_address:
        return email_address
    return "the Google account you are signed in with"


def status_of(error: gspread.exceptions.APIError) -> int:
    """The HTTP status; gspread's .code is -1 when the body was not JSON (e.g. a proxy's 502)."""
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None) or error.code


def is_transient(error: BaseException) -> bool:
    if isinstance(error, gspread.exceptions.APIError):
        status = status_of(error)
        return status == 429 or 500 <= status < 600
    return isinstance(error, (requests.exceptions.ConnectionError, requests.exceptions.Timeout))


def retry_after(error: BaseException) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), if the server sent one."""
    response = getattr(error, "response", None)
    return parse_retry_after(response.headers.get("Retry-After") if response is not None else None)


def backoff(attempt: int, base: float, max_wait: float) -> float:
    """Truncated exponential backoff with jitter (Google's recommendation): 2^n * base plus up
    to one `base` of random spread, never above max_wait."""
    return min(max_wait, base * 2 ** attempt + random.uniform(0, base))


def call_with_retries(fn: Callable[[], T], *, attempts: int = 5, base: float = 1.0,
                      max_wait: float = 32.0, sleep: Callable[[float], None] = time.sleep) -> T:
    """Call fn(), retrying transient failures (429, 5xx, connection errors) up to `attempts`
    times in all. Anything else, or the last failure, is raised unchanged."""
    for attempt in range(attempts):
        try:
            return fn()
        except Exception as error:
            if not is_transient(error) or attempt == attempts - 1:
                raise
            asked = retry_after(error)
            sleep(min(asked, RETRY_AFTER_CAP) if asked is not None
                  else backoff(attempt, base, max_wait))
    raise AssertionError("unreachable")  # the loop always returns or raises
