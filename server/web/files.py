"""Signed downloads: the batch ZIP and single images. Links carry their own authority (they
are opened in a browser tab, without the add-in's token), so they are signed and most expire."""
from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, send_file

from server.batches import BatchNotFound
from server.links import BadLink
from server.storage import LocalStorage, batch_storage
from server.web import services
from server.zipper import batch_zip

blueprint = Blueprint("files", __name__)


@blueprint.get("/download/<token>")
def download_zip(token: str):
    try:
        claim = services().signer.read_zip(token)
        fields = services().batches.owned_by(claim["b"], claim["u"])
    except (BadLink, BatchNotFound) as error:
        return Response(str(error) if isinstance(error, BadLink) else "Not found.",
                        status=404 if isinstance(error, BatchNotFound) else 403,
                        mimetype="text/plain")
    storage, key = batch_storage(fields, services().settings)
    archive = batch_zip(storage, key)
    name = f"sheetbatch-{claim['b']}.zip"
    return Response(archive, mimetype="application/zip", headers={
        "Content-Length": str(len(archive)),
        "Content-Disposition": f'attachment; filename="{name}"'})


@blueprint.get("/images/<token>")
def image(token: str):
    try:
        claim = services().signer.read_image(token)
        fields = services().batches.fields(claim["b"])
    except (BadLink, BatchNotFound):
        abort(404)
    storage, key = batch_storage(fields, services().settings)
    if not isinstance(storage, LocalStorage):
        return redirect(storage.url(key, claim["n"]))
    try:
        return send_file(storage.path(key, claim["n"]), max_age=3600)
    except (FileNotFoundError, ValueError):
        abort(404)
