"""The Flask app the add-in (and a browser) talks to: an app factory and its blueprints."""
from __future__ import annotations

from flask import Flask, current_app

from server.config import Settings
from server.services import Services


def create_app(settings: Settings | None = None) -> Flask:
    services = Services(settings or Settings.from_env())
    if not services.redis_url:
        raise RuntimeError("The web app needs REDIS_URL (sheetbatch serve sets it).")
    app = Flask(__name__)
    app.extensions["sheetbatch"] = services
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
    from server.web import api, files, uploads
    app.register_blueprint(api.blueprint)
    app.register_blueprint(files.blueprint)
    app.register_blueprint(uploads.blueprint)
    return app


def public_root() -> str:
    """Where people reach us, for every link we hand out: the configured public URL, else the
    request's own root (behind proxies, as ProxyFix rebuilt it from their headers)."""
    from flask import request
    return (services().settings.public_url or request.url_root).rstrip("/") + "/"


def services() -> Services:
    """The current app's services."""
    return current_app.extensions["sheetbatch"]
