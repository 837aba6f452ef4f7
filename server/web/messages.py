"""Friendly pages for what goes wrong in a browser: expired links, missing pages, errors."""
from __future__ import annotations

from flask import jsonify, render_template, request, url_for
from werkzeug.exceptions import HTTPException

TITLES = {400: "That request did not work", 403: "Not allowed", 404: "Nothing here",
          405: "That request did not work", 413: "That file is too large",
          500: "Something went wrong on our side"}
TEXTS = {404: "This page, batch or image does not exist, or it is private. If it is yours, "
              "sign in and look in your creations.",
         500: "Nothing you did caused this; try again in a moment."}


def message_page(title: str, text: str, status: int,
                 action: tuple[str, str] | None = None) -> tuple[str, int]:
    return render_template("message.html", title=title, text=text, status=status,
                           action=action or ("Go to your batches", url_for("pages.batch_page"))), \
        status


def http_error(error: HTTPException):
    """Every HTTP error outside /api as a page; /api keeps its JSON shape."""
    status = error.code or 500
    if request.path.startswith("/api/"):
        return jsonify({"error": error.name.lower().replace(" ", "_"),
                        "message": error.description}), status
    text = TEXTS.get(status) or error.description
    return message_page(TITLES.get(status, error.name), text, status)
