"""Every setting, read once from the environment: no other module reads it. Every knob has a
working default; the README's configuration table lists them all."""
from __future__ import annotations

import os
import socket
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Mapping


def _env(name: str, default: str | None = None, environ=os.environ) -> str | None:
    value = environ.get(name, "").strip()
    return value or default


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "sheetbatch"


def socket_dir() -> Path:
    """The folder of our sockets: in $XDG_RUNTIME_DIR (the user's own, made by the system), else
    in the shared temporary folder (whoever uses it checks it is theirs)."""
    if os.environ.get("XDG_RUNTIME_DIR"):
        return Path(os.environ["XDG_RUNTIME_DIR"]) / "sheetbatch"
    return Path(tempfile.gettempdir()) / f"sheetbatch-{os.getuid()}"


def _list(name: str, default: str, environ=os.environ) -> tuple[str, ...]:
    return tuple(part.strip() for part in _env(name, default, environ).split(",") if part.strip())


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    redis_url: str | None = None
    provider: str = "preview"
    provider_concurrency: int = 8
    ideogram_api_key: str | None = None
    ideogram_base_url: str = "https://api.ideogram.ai"
    ideogram_image_hosts: tuple[str, ...] = ("ideogram.ai",)
    openai_api_key: str | None = None
    openai_base_url: str = "https://api.openai.com/v1"  # as in OpenAI's own SDK: includes /v1
    openai_model: str = "gpt-image-1"
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
        """The settings in `environ` (this process's environment by default)."""
        env = partial(_env, environ=environ)
        env_list = partial(_list, environ=environ)
        ideogram_key = env("IDEOGRAM_API_KEY")
        openai_key = env("OPENAI_API_KEY")
        default_provider = "ideogram" if ideogram_key else "openai" if openai_key else "preview"
        return cls(
            data_dir=Path(env("SHEETBATCH_DATA") or default_data_dir()),
            redis_url=env("REDIS_URL"),
            provider=env("SHEETBATCH_PROVIDER", default_provider),
            provider_concurrency=int(env("SHEETBATCH_PROVIDER_CONCURRENCY", "8")),
            ideogram_api_key=ideogram_key,
            ideogram_base_url=env("IDEOGRAM_BASE_URL", cls.ideogram_base_url),
            ideogram_image_hosts=env_list("IDEOGRAM_IMAGE_HOSTS", "ideogram.ai"),
            openai_api_key=openai_key,
            openai_base_url=env("OPENAI_BASE_URL", cls.openai_base_url),
            openai_model=env("OPENAI_IMAGE_MODEL", cls.openai_model),
            openai_image_hosts=env_list("OPENAI_IMAGE_HOSTS", ",".join(cls.openai_image_hosts)),
            chat_model=env("OPENAI_CHAT_MODEL", cls.chat_model),
            provider_timeout=float(env("SHEETBATCH_PROVIDER_TIMEOUT", "120")),
            outage_deadline=float(env("SHEETBATCH_OUTAGE_DEADLINE", str(cls.outage_deadline))),
            min_free_bytes=int(env("SHEETBATCH_MIN_FREE_BYTES", str(cls.min_free_bytes))),
            max_upload_bytes=int(env("SHEETBATCH_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024))),
            max_unzipped_bytes=int(env("SHEETBATCH_MAX_UNZIPPED_BYTES", str(200 * 1024 * 1024))),
            secret_key=env("SHEETBATCH_SECRET_KEY"),
            monthly_budget=float(env("SHEETBATCH_MONTHLY_BUDGET", "50")),
            flush_interval=float(env("SHEETBATCH_FLUSH_INTERVAL", "2")),
            sheets_requests_per_minute=int(env("SHEETBATCH_SHEETS_REQUESTS_PER_MINUTE",
                                               str(cls.sheets_requests_per_minute))),
            google_client_ids=env_list("GOOGLE_CLIENT_ID", ""),
            google_certs_url=env("GOOGLE_CERTS_URL", cls.google_certs_url),
            google_tokeninfo_url=env("GOOGLE_TOKENINFO_URL", cls.google_tokeninfo_url),
            google_issuers=env_list("GOOGLE_ISSUERS", ",".join(cls.google_issuers)),
            google_api_url=env("SHEETBATCH_GOOGLE_API_URL"),
            service_account_file=env("SHEETBATCH_SERVICE_ACCOUNT_FILE",
                                      env("GOOGLE_APPLICATION_CREDENTIALS")),
            prices_file=env("SHEETBATCH_PRICES"),
            s3_bucket=env("SHEETBATCH_S3_BUCKET"),
            s3_prefix=env("SHEETBATCH_S3_PREFIX", ""),
            s3_endpoint=env("SHEETBATCH_S3_ENDPOINT"),
            bind=env("SHEETBATCH_BIND", cls.bind),
            web_processes=int(env("SHEETBATCH_WEB_PROCESSES", str(cls.web_processes))),
            web_threads=int(env("SHEETBATCH_WEB_THREADS", str(cls.web_threads))),
            single_user=env("SHEETBATCH_SINGLE_USER", cls.single_user).lower(),
            google_gsi_client_url=env("GOOGLE_GSI_CLIENT_URL", cls.google_gsi_client_url),
            retention_days=float(env("SHEETBATCH_RETENTION_DAYS", "0")),
            smtp_url=env("SHEETBATCH_SMTP_URL"),
            mail_from=env("SHEETBATCH_MAIL_FROM", cls.mail_from),
            public_url=env("SHEETBATCH_PUBLIC_URL"),
            trusted_proxies=int(env("SHEETBATCH_TRUSTED_PROXIES", "0")),
            node=env("SHEETBATCH_NODE", socket.gethostname()),
            commit=env("SHEETBATCH_COMMIT"),
            log_level=env("SHEETBATCH_LOG_LEVEL", cls.log_level).upper(),
            workers=int(env("SHEETBATCH_WORKERS", "1")),
        )
