"""gunicorn settings for `sheetbatch serve` (and the Procfile / Dockerfile)."""
import os

bind = os.environ.get("SHEETBATCH_BIND", "127.0.0.1:8000")
# Threads, not sync workers: a ZIP download holds its worker for the whole stream.
worker_class = "gthread"
workers = int(os.environ.get("SHEETBATCH_WEB_PROCESSES", "2"))
threads = int(os.environ.get("SHEETBATCH_WEB_THREADS", "8"))
timeout = 120
graceful_timeout = 20
# No access log: download and image links carry their signature in the path.
accesslog = None
errorlog = "-"
loglevel = "warning"
