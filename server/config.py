"""Every setting, read once from the environment: no other module reads it. Every knob has a
working default; the README's configuration table lists them all."""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or default


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "sheetbatch"


def _list(name: str, default: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in _env(name, default).split(",") if part.strip())


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
    openai_base_url: str = "https://api.openai.com"
    openai_model: str = "gpt-image-1"
    provider_timeout: float = 120.0
    max_upload_bytes: int = 10 * 1024 * 1024
    max_unzipped_bytes: int = 200 * 1024 * 1024
    secret_key: str | None = None
    monthly_budget: float = 50.0
    flush_interval: float = 2.0
    google_client_id: str | None = None
    google_certs_url: str = "https://www.googleapis.com/oauth2/v1/certs"
    google_tokeninfo_url: str = "https://oauth2.googleapis.com/tokeninfo"
    google_issuers: tuple[str, ...] = ("accounts.google.com", "https://accounts.google.com")
    google_api_url: str | None = None  # the Sheets/Drive API root; tests point it at the emulator
    service_account_file: str | None = None
    prices_file: str | None = None  # None: the bundled price table
    s3_bucket: str | None = None
    s3_prefix: str = ""
    s3_endpoint: str | None = None
    bind: str = "127.0.0.1:8000"
    web_processes: int = 2
    web_threads: int = 8
    public_url: str | None = None  # the address people reach us at; None: the request's own
    trusted_proxies: int = 0  # reverse proxies in front whose X-Forwarded-* headers we believe
    node: str = "local"  # this machine's name in logs, worker names and image records
    commit: str | None = None  # the source commit deployed (the image build sets it)
    log_level: str = "INFO"
    workers: int = 1  # worker processes one `sheetbatch worker` runs

    @classmethod
    def from_env(cls) -> "Settings":
        ideogram_key = _env("IDEOGRAM_API_KEY")
        openai_key = _env("OPENAI_API_KEY")
        default_provider = "ideogram" if ideogram_key else "openai" if openai_key else "preview"
        return cls(
            data_dir=Path(_env("SHEETBATCH_DATA") or default_data_dir()),
            redis_url=_env("REDIS_URL"),
            provider=_env("SHEETBATCH_PROVIDER", default_provider),
            provider_concurrency=int(_env("SHEETBATCH_PROVIDER_CONCURRENCY", "8")),
            ideogram_api_key=ideogram_key,
            ideogram_base_url=_env("IDEOGRAM_BASE_URL", cls.ideogram_base_url),
            ideogram_image_hosts=_list("IDEOGRAM_IMAGE_HOSTS", "ideogram.ai"),
            openai_api_key=openai_key,
            openai_base_url=_env("OPENAI_BASE_URL", cls.openai_base_url),
            openai_model=_env("OPENAI_IMAGE_MODEL", cls.openai_model),
            provider_timeout=float(_env("SHEETBATCH_PROVIDER_TIMEOUT", "120")),
            max_upload_bytes=int(_env("SHEETBATCH_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024))),
            max_unzipped_bytes=int(_env("SHEETBATCH_MAX_UNZIPPED_BYTES", str(200 * 1024 * 1024))),
            secret_key=_env("SHEETBATCH_SECRET_KEY"),
            monthly_budget=float(_env("SHEETBATCH_MONTHLY_BUDGET", "50")),
            flush_interval=float(_env("SHEETBATCH_FLUSH_INTERVAL", "2")),
            google_client_id=_env("GOOGLE_CLIENT_ID"),
            google_certs_url=_env("GOOGLE_CERTS_URL", cls.google_certs_url),
            google_tokeninfo_url=_env("GOOGLE_TOKENINFO_URL", cls.google_tokeninfo_url),
            google_issuers=_list("GOOGLE_ISSUERS", ",".join(cls.google_issuers)),
            google_api_url=_env("SHEETBATCH_GOOGLE_API_URL"),
            service_account_file=_env("SHEETBATCH_SERVICE_ACCOUNT_FILE",
                                      _env("GOOGLE_APPLICATION_CREDENTIALS")),
            prices_file=_env("SHEETBATCH_PRICES"),
            s3_bucket=_env("SHEETBATCH_S3_BUCKET"),
            s3_prefix=_env("SHEETBATCH_S3_PREFIX", ""),
            s3_endpoint=_env("SHEETBATCH_S3_ENDPOINT"),
            bind=_env("SHEETBATCH_BIND", cls.bind),
            web_processes=int(_env("SHEETBATCH_WEB_PROCESSES", str(cls.web_processes))),
            web_threads=int(_env("SHEETBATCH_WEB_THREADS", str(cls.web_threads))),
            public_url=_env("SHEETBATCH_PUBLIC_URL"),
            trusted_proxies=int(_env("SHEETBATCH_TRUSTED_PROXIES", "0")),
            node=_env("SHEETBATCH_NODE", socket.gethostname()),
            commit=_env("SHEETBATCH_COMMIT"),
            log_level=_env("SHEETBATCH_LOG_LEVEL", cls.log_level).upper(),
            workers=int(_env("SHEETBATCH_WORKERS", "1")),
        )
