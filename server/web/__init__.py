"""The Flask app the add-in (and a browser) talks to: an app factory with two blueprints."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from server.batches import Batches
from server.budget import Budgets
from server.config import Settings
from server.launcher import Launcher
from server.links import Signer, load_secret
from server.pricing import PriceTable
from server.redis_server import connect
from server.sheet_batches import SheetBatches
from server.uploads import Uploads
from server.web.auth import Authenticator
from server.writeback import WriteBack


@dataclass
class Services:
    settings: Settings
    batches: Batches
    budgets: Budgets
    prices: PriceTable
    signer: Signer
    auth: Authenticator
    launcher: Launcher
    sheets: SheetBatches
    uploads: Uploads


def build_services(settings: Settings) -> Services:
    if not settings.redis_url:
        raise RuntimeError("The web app needs REDIS_URL (sheetbatch serve sets it).")
    connection = connect(settings.redis_url)
    prices = PriceTable.load()
    batches = Batches(connection)
    budgets = Budgets(connection, settings.monthly_budget, prices.currency)
    signer = Signer(load_secret(settings.secret_key, settings.data_dir))
    writeback = WriteBack(batches, settings, signer)
    launcher = Launcher(connection, batches, budgets, prices)
    sheets = SheetBatches(settings, launcher, writeback)
    return Services(settings, batches, budgets, prices, signer, Authenticator(settings), launcher,
                    sheets, Uploads(connection, settings))


def create_app(settings: Settings | None = None) -> Flask:
    app = Flask(__name__)
    app.extensions["sheetbatch"] = build_services(settings or Settings.from_env())
    # Oversized uploads are refused before a byte is parsed (the multipart envelope gets a
    # little room on top of the file limit).
    app.config["MAX_CONTENT_LENGTH"] = services_of(app).settings.max_upload_bytes + 64 * 1024
    from server.web import api, files, uploads
    app.register_blueprint(api.blueprint)
    app.register_blueprint(files.blueprint)
    app.register_blueprint(uploads.blueprint)
    return app


def services_of(app: Flask) -> Services:
    return app.extensions["sheetbatch"]


def services() -> Services:
    return services_of(current_app)
