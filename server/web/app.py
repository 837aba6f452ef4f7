"""The Flask app the add-in (and a browser) talks to: an app factory and its blueprints."""
from __future__ import annotations

from flask import Flask, current_app, request

from server.config import Settings
from server.services import Services


def create_app(settings: Settings | None = None) -> Flask:
    services = Services(settings or Settings.from_env())
    if not services.redis_url:
        raise RuntimeError("The web app needs REDIS_URL (sheetbatch serve sets it).")
    from server.web import logs
    logs.install(services.settings.ideogram_api_key, services.settings.openai_api_key)
    app = Flask(__name__)
    app.extensions["sheetbatch"] = services
    # Oversized uploads are refused before a byte is parsed (the multipart envelope gets a
    # little room on top of the file limit).
    app.config["MAX_CONTENT_LENGTH"] = services.settings.max_upload_bytes + 64 * 1024
    from server.web import api, files, uploads
    app.register_blueprint(api.blueprint)
    app.register_blueprint(files.blueprint)
    app.register_blueprint(uploads.blueprint)
    # A path under /api/ that matches no route (or not with this method) never reaches the
    # blueprint's handlers: answer it in JSON too.
    for status in (404, 405):
        app.register_error_handler(status, api_routing_error)
    return app


def api_routing_error(error):
    from server.web.api import json_error
    if request.path.startswith("/api/"):
        return json_error(error)
    return error


def services() -> Services:
    """The current app's services."""
    return current_app.extensions["sheetbatch"]
