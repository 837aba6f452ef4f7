"""Every setting, read once from the environment: no other module reads it. Every knob has a
working default; the README's configuration table lists them all."""
from __future__ import annotations

import os
import socket
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable, Mapping

from server.providers import FALLBACK_PROVIDER, PROVIDERS, default_provider
from server.sheet.capabilities import DEFAULT_OPENAI_MODEL


def _env(environ: Mapping[str, str], name: str) -> str | None:
    """A variable's text; None when it is unset or blank."""
    return environ.get(name, "").strip() or None


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "sheetbatch"


def socket_dir() -> Path:
    """The folder of our sockets: in $XDG_RUNTIME_DIR (the user's own, made by the system), else
    in the shared temporary folder (whoever uses it checks it is theirs)."""
    if os.environ.get("XDG_RUNTIME_DIR"):
        return Path(os.environ["XDG_RUNTIME_DIR"]) / "sheetbatch"
    return Path(tempfile.gettempdir()) / f"sheetbatch-{os.getuid()}"


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    redis_url: str | None = None
    provider: str = FALLBACK_PROVIDER  # from_env: the first paid provider with a key
    provider_concurrency: int = 8
    ideogram_api_key: str | None = None
    ideogram_base_url: str = "https://api.ideogram.ai"
    ideogram_image_hosts: tuple[str, ...] = ("ideogram.ai",)
    openai_api_key: str | None = None
    openai_base_url: str = "https://api.openai.com/v1"  # as in OpenAI's own SDK: includes /v1
    openai_model: str = DEFAULT_OPENAI_MODEL
    openai_image_hosts: tuple[str, ...] = ("oaidalleapiprodscus.blob.core.windows.net",)
    # The chat model that writes prompts (`sheetbatch prompts`), on the same OpenAI-compatible
    # endpoint and key: a small, cheap model is plenty for a few hundred prompts.
    chat_model: str = "gpt-5-mini"
    provider_timeout: float = 120.0
    outage_deadline: float = 1800.0  # rows wait this long through a provider outage, then fail
    min_free_bytes: int = 64 * 1024 * 1024  # no paid call unless storage has this much room
    max_upload_bytes: int = 10 * 1024 * 1024
    max_unzipped_bytes: int = 200 * 1024 * 1024
    secret_key: str | None = None
    monthly_budget: float = 50.0
    flush_interval: float = 2.0
    # Write-back's share of the project's Sheets quota (Google: 300 writes a minute per project).
    sheets_requests_per_minute: int = 240
    # Audiences an identity token may carry: the OAuth client id of each Apps Script project
    # that calls us (a test deployment and the published add-on have different ones).
    google_client_ids: tuple[str, ...] = ()
    google_certs_url: str = "https://www.googleapis.com/oauth2/v1/certs"
    google_tokeninfo_url: str = "https://oauth2.googleapis.com/tokeninfo"
    google_issuers: tuple[str, ...] = ("accounts.google.com", "https://accounts.google.com")
    google_api_url: str | None = None  # the Sheets/Drive API root; tests point it at the emulator
    service_account_file: str | None = None
    prices_file: str | None = None  # None: the bundled price table
    s3_bucket: str | None = None
    s3_prefix: str = ""
    s3_endpoint: str | None = None
    smtp_url: str | None = None  # smtp://, smtp+starttls:// or smtps://[user:password@]host[:port]
    mail_from: str = "sheetbatch@localhost"
    bind: str = "127.0.0.1:8000"
    web_processes: int = 2
    web_threads: int = 8
    public_url: str | None = None  # the address people reach us at; None: the request's own
    trusted_proxies: int = 0  # reverse proxies in front whose X-Forwarded-* headers we believe
    node: str = "local"  # this machine's name in logs, worker names and image records
    commit: str | None = None  # the source commit deployed (the image build sets it)
    log_level: str = "INFO"
    workers: int = 1  # worker processes one `sheetbatch worker` runs
    # "auto": one person, no sign-in, when the server listens only on this computer (a loopback
    # bind address) and no GOOGLE_CLIENT_ID is set; "on" / "off" force it.
    single_user: str = "auto"
    google_gsi_client_url: str = "https://accounts.google.com/gsi/client"
    retention_days: float = 0.0  # delete batches older than this; 0 keeps them forever

    @property
    def stop_grace_seconds(self) -> float:
        """How long a stop waits for a worker to finish the paid call it is in (the call's own
        timeout and a margin to store the image) before the worker is killed."""
        return self.provider_timeout + 30

    @property
    def single_user_mode(self) -> bool:
        """One local person, no sign-in: only when nobody else can reach the server."""
        if self.single_user in ("on", "off"):
            return self.single_user == "on"
        host = self.bind.rpartition(":")[0].strip("[]")
        return host in LOOPBACK_HOSTS and not self.google_client_ids

    @property
    def web_client_id(self) -> str | None:
        """The OAuth client of the web page's sign-in: the first of GOOGLE_CLIENT_ID's list."""
        return self.google_client_ids[0] if self.google_client_ids else None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        """The settings in `environ` (this process's environment by default): each variable set
        (not blank) fills its field; the rest keep the field's default, or the default below
        that depends on the machine or on other variables."""
        env = partial(_env, environ)
        keys = {p.key_setting: env(p.key_variable) for p in PROVIDERS.values() if p.key_variable}
        depending = {
            "data_dir": default_data_dir(),
            "provider": default_provider(lambda p: keys[p.key_setting]),
            "service_account_file": env("GOOGLE_APPLICATION_CREDENTIALS"),
            "node": socket.gethostname(),
        }
        read = {field: parse(text) for field, variable, parse in VARIABLES
                if (text := env(variable)) is not None}
        return cls(**(depending | keys | read))


def _split(text: str) -> tuple[str, ...]:
    """A comma-separated list, blanks dropped."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


# (Settings field, environment variable, how its text is read), for every setting but the
# provider keys, whose variables are the provider table's (`server.providers`).
VARIABLES: tuple[tuple[str, str, Callable[[str], Any]], ...] = (
    ("provider", "SHEETBATCH_PROVIDER", str),
    ("redis_url", "REDIS_URL", str),
    ("data_dir", "SHEETBATCH_DATA", Path),
    ("provider_concurrency", "SHEETBATCH_PROVIDER_CONCURRENCY", int),
    ("prices_file", "SHEETBATCH_PRICES", str),
    ("max_upload_bytes", "SHEETBATCH_MAX_UPLOAD_BYTES", int),
    ("google_client_ids", "GOOGLE_CLIENT_ID", _split),
    ("secret_key", "SHEETBATCH_SECRET_KEY", str),
    ("monthly_budget", "SHEETBATCH_MONTHLY_BUDGET", float),
    ("flush_interval", "SHEETBATCH_FLUSH_INTERVAL", float),
    ("sheets_requests_per_minute", "SHEETBATCH_SHEETS_REQUESTS_PER_MINUTE", int),
    ("smtp_url", "SHEETBATCH_SMTP_URL", str),
    ("mail_from", "SHEETBATCH_MAIL_FROM", str),
    ("service_account_file", "SHEETBATCH_SERVICE_ACCOUNT_FILE", str),
    ("s3_bucket", "SHEETBATCH_S3_BUCKET", str),
    ("s3_endpoint", "SHEETBATCH_S3_ENDPOINT", str),
    ("s3_prefix", "SHEETBATCH_S3_PREFIX", str),
    ("ideogram_base_url", "IDEOGRAM_BASE_URL", str),
    ("ideogram_image_hosts", "IDEOGRAM_IMAGE_HOSTS", _split),
    ("openai_base_url", "OPENAI_BASE_URL", str),
    ("openai_model", "OPENAI_IMAGE_MODEL", str),
    ("chat_model", "OPENAI_CHAT_MODEL", str),
    ("openai_image_hosts", "OPENAI_IMAGE_HOSTS", _split),
    ("provider_timeout", "SHEETBATCH_PROVIDER_TIMEOUT", float),
    ("outage_deadline", "SHEETBATCH_OUTAGE_DEADLINE", float),
    ("min_free_bytes", "SHEETBATCH_MIN_FREE_BYTES", int),
    ("max_unzipped_bytes", "SHEETBATCH_MAX_UNZIPPED_BYTES", int),
    ("google_certs_url", "GOOGLE_CERTS_URL", str),
    ("google_tokeninfo_url", "GOOGLE_TOKENINFO_URL", str),
    ("google_issuers", "GOOGLE_ISSUERS", _split),
    ("google_api_url", "SHEETBATCH_GOOGLE_API_URL", str),
    ("bind", "SHEETBATCH_BIND", str),
    ("web_processes", "SHEETBATCH_WEB_PROCESSES", int),
    ("web_threads", "SHEETBATCH_WEB_THREADS", int),
    ("single_user", "SHEETBATCH_SINGLE_USER", str.lower),
    ("google_gsi_client_url", "GOOGLE_GSI_CLIENT_URL", str),
    ("retention_days", "SHEETBATCH_RETENTION_DAYS", float),
    ("public_url", "SHEETBATCH_PUBLIC_URL", str),
    ("trusted_proxies", "SHEETBATCH_TRUSTED_PROXIES", int),
    ("workers", "SHEETBATCH_WORKERS", int),
    ("node", "SHEETBATCH_NODE", str),
    ("commit", "SHEETBATCH_COMMIT", str),
    ("log_level", "SHEETBATCH_LOG_LEVEL", str.upper),
)
