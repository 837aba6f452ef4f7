"""gunicorn settings for `sheetbatch serve` (and the Procfile / Dockerfile), from Settings."""
from server import logs
from server.config import Settings

_settings = Settings.from_env()
bind = _settings.bind
# Threads, not sync workers: a ZIP download holds its worker for the whole stream.
worker_class = "gthread"
workers = _settings.web_processes
threads = _settings.web_threads
timeout = 120
graceful_timeout = 20
# Which forwarded headers to believe is ProxyFix's job (SHEETBATCH_TRUSTED_PROXIES), not
# gunicorn's: by default it would take X-Forwarded-Proto from anyone on 127.0.0.1.
secure_scheme_headers = {}
forwarded_allow_ips = ""
# No access log: download and image links carry their signature in the path.
accesslog = None
errorlog = "-"
loglevel = "warning"
# Every line, gunicorn's included, as one JSON object (server/logs.py).
logconfig_dict = logs.handler_config(_settings)
