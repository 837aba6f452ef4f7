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
                    sheets)


def create_app(settings: Settings | None = None) -> Flask:
    app = Flask(__name__)
    app.extensions["sheetbatch"] = build_services(settings or Settings.from_env())
    from server.web import api, files
    app.register_blueprint(api.blueprint)
    app.register_blueprint(files.blueprint)
    return app


def services() -> Services:
    return current_app.extensions["sheetbatch"]
