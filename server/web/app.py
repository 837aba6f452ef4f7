"""The Flask app the add-in (and a browser) talks to: an app factory and its blueprints."""
from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, request
from flask.json.provider import DefaultJSONProvider
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from server.config import Settings
from server.providers import api_keys, is_free
from server.services import Services


def create_app(settings: Settings | None = None) -> Flask:
    services = Services(settings or Settings.from_env())
    if not services.redis_url:
        raise RuntimeError("The web app needs REDIS_URL (sheetbatch serve sets it).")
    from server.web import logs
    logs.install(*api_keys(services.settings))
    app = Flask(__name__)
    app.json = JSONProvider(app)
    app.extensions["sheetbatch"] = services
    app.jinja_env.tests["free"] = is_free  # `{% if provider is free %}`: the table decides
    # Oversized uploads are refused before a byte is parsed (the multipart envelope gets a
    # little room on top of the file limit).
    app.config["MAX_CONTENT_LENGTH"] = services.settings.max_upload_bytes + 64 * 1024
    if services.settings.trusted_proxies:
        # Believe X-Forwarded-For/Proto/Host/Prefix from exactly that many proxies, no more.
        from werkzeug.middleware.proxy_fix import ProxyFix
        hops = services.settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops,
                                x_prefix=hops)
    from server.web import request_log
    request_log.install(app)
    from server.web import api, files, messages, pages, prompt_pages, signin, uploads
    configure_sessions(app, services.settings)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(files.blueprint)
    app.register_blueprint(uploads.blueprint)
    app.register_blueprint(signin.blueprint)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(prompt_pages.blueprint)
    csrf = CSRFProtect(app)
    # /api callers prove who they are with a bearer token, not a cookie; an upload link's
    # signed token in its URL is unguessable by another site; Google's sign-in POST carries
    # Google's own double-submit check.
    for exempt in (api.blueprint, uploads.blueprint, signin.google_callback):
        csrf.exempt(exempt)
    app.after_request(security_headers)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(CSRFError, lambda error: messages.message_page(
        "This form has expired", "Reload the page and try again.", 400))
    return app


class JSONProvider(DefaultJSONProvider):
    """JSON nested deeper than Python recurses is a bad request like any other bad JSON (Flask
    turns a ValueError into a 400; a RecursionError would be a 500)."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("the JSON is nested too deep") from None


# Every answer: never framed by another site (Stop/Resume could be clicked through a frame),
# never sniffed into another type, and our paths (signed links) never sent to another site.
SECURITY_HEADERS = {"X-Frame-Options": "DENY",
                    "Content-Security-Policy": "frame-ancestors 'none'",
                    "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "strict-origin-when-cross-origin"}


def security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        # A page shows one person's batches and forms: never kept by a shared computer's cache,
        # and never shown again from the back-forward cache (Back to a started upload asks us,
        # and opens the batch instead of a stale Start button).
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def http_error(error: HTTPException):
    """A path under /api/ that matches no route (or not with this method) never reaches the
    blueprint's handlers: it is answered in JSON too; pages get a friendly page."""
    if request.path.startswith("/api/"):
        from server.web.api import json_error
        return json_error(error)
    from server.web import messages
    return messages.http_error(error)


def configure_sessions(app: Flask, settings: Settings) -> None:
    from server.links import load_secret
    from server.web.signin import SESSION_DAYS, SessionInterface
    app.secret_key = load_secret(settings.secret_key, settings.data_dir)
    app.session_interface = SessionInterface()
    app.config.update(SESSION_COOKIE_NAME="sheetbatch", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax",
                      PERMANENT_SESSION_LIFETIME=timedelta(days=SESSION_DAYS),
                      WTF_CSRF_TIME_LIMIT=None)  # a token lives as long as the session
def public_root() -> str:
    """Where people reach us, for every link we hand out: the configured public URL, else the
    request's own root (behind proxies, as ProxyFix rebuilt it from their headers)."""
    from flask import request
    return (services().settings.public_url or request.url_root).rstrip("/") + "/"


def services() -> Services:
    """The current app's services."""
    return current_app.extensions["sheetbatch"]
