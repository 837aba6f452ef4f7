"""The gspread client we talk to Google Sheets with, our retry policy, and `Spreadsheet`: one
spreadsheet's REST calls, each retried on transient errors, with access problems in plain English.

gspread's BackOffHTTPClient (6.2.1) can recurse without bound and ignores Retry-After, so every
Sheets call goes through `call_with_retries` instead.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import google.oauth2.credentials
import gspread
import requests
from gspread.urls import SPREADSHEET_URL

from server.config import Settings
from server.gsheets.endpoint import point_session_at
from server.retry import parse_retry_after, retry_delay

T = TypeVar("T")

RETRY_AFTER_CAP = 300.0  # never sleep longer than this, whatever a server asks
# (connect, read) seconds: a Google that does not answer is a transient error, not a hang, so
# the add-in (whose own fetch dies after about 60 s) always hears back from us in time.
REQUEST_TIMEOUT = (5.0, 15.0)
MIN_CALL_SECONDS = 1.0  # under a deadline, a call with less time than this is not started


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


NEEDS_PERSON_TOKEN = ("This needs your own Google sign-in to the sheet, and none was sent. Close "
                      "and reopen the Batch images sidebar, then try again.")


def sheets_client(access_token: str | None, settings: Settings) -> gspread.Client:
    """A gspread client acting as the person, with their own access token. Every read or change
    of a sheet on someone's behalf goes through here: their token proves they may open it."""
    if not access_token:
        raise SheetAccessError(NEEDS_PERSON_TOKEN, 403)
    # A bare token cannot refresh: a 401 later means "ask the add-in for a fresh token".
    return _pointed(gspread.authorize(google.oauth2.credentials.Credentials(access_token)),
                    settings)


def service_account_client(settings: Settings) -> gspread.Client:
    """Our service account: only for writing status back into a sheet whose owner already
    proved access with their own token (the batch was started with it)."""
    if not settings.service_account_file:
        raise SheetsUnavailable(
            "The person's Google token has expired and no service account is configured; set "
            "SHEETBATCH_SERVICE_ACCOUNT_FILE (or GOOGLE_APPLICATION_CREDENTIALS) to the "
            "service account's JSON key file.")
    return _pointed(gspread.service_account(filename=settings.service_account_file), settings)


def _pointed(client: gspread.Client, settings: Settings) -> gspread.Client:
    if settings.google_api_url:
        point_session_at(client.http_client.session, settings.google_api_url)
    client.set_timeout(REQUEST_TIMEOUT)
    return client


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
            sleep(retry_delay(attempt, retry_after(error), base=base, max_wait=max_wait,
                              max_asked=RETRY_AFTER_CAP))
    raise AssertionError("unreachable")  # the loop always returns or raises


class Spreadsheet:
    """One spreadsheet's REST calls (Sheets API v4), as the client's person or service account.
    With a `deadline` (time.monotonic()), every call together ends by then: a call with no time
    left is a timeout (transient), so a web request answers in time whatever Google does."""

    def __init__(self, client: gspread.Client, spreadsheet_id: str,
                 retry: Mapping[str, Any] | None = None, deadline: float | None = None):
        self.client = client
        self.id = spreadsheet_id
        self.retry = dict(retry or {})  # call_with_retries options (tests pass a fake sleep)
        self.deadline = deadline

    def call(self, method: str, path: str = "", **kwargs: Any) -> dict:
        """One API request, e.g. ("post", ":batchUpdate"); `path` follows the spreadsheet id."""
        url = SPREADSHEET_URL % quote(self.id, safe="") + path

        def send() -> dict:
            if self.deadline is not None:
                left = self.deadline - time.monotonic()
                if left < MIN_CALL_SECONDS:
                    raise requests.exceptions.Timeout("no time left to ask Google Sheets")
                self.client.set_timeout((min(REQUEST_TIMEOUT[0], left),
                                         min(REQUEST_TIMEOUT[1], left)))
            return self.client.http_client.request(method, url, **kwargs).json()
        try:
            return call_with_retries(send, **self.retry)
        except gspread.exceptions.APIError as error:
            if status_of(error) in (401, 403, 404):
                raise SheetAccessError.from_api_error(
                    error, self.id, acting_as(self.client)) from error
            raise

    def batch_update(self, requests: list[dict]) -> dict:
        return self.call("post", ":batchUpdate", json={"requests": requests})
