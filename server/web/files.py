"""Signed downloads: the batch ZIP and single images. Links carry their own authority (they
are opened in a browser tab, without the add-in's token), so they are signed and most expire."""
from __future__ import annotations

from pathlib import PurePath

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    send_file,
    url_for,
)

from server import links
from server.batches.record import Batch
from server.batches.store import BatchNotFound
from server.files.results import RESULTS_NAME, results_workbook
from server.links import BadLink
from server.storage import LocalStorage, batch_storage
from server.storage.names import slugify
from server.storage.thumbnails import thumbnail
from server.storage.zipper import batch_zip
from server.web.app import services
from server.web.messages import message_page

blueprint = Blueprint("files", __name__)


@blueprint.get(links.DOWNLOAD.rule)
def download_zip(token: str):
    try:
        claim = services().signer.read_zip(token)
        batch = services().batches.owned_by(claim["b"], claim["u"])
    except BadLink as error:
        return message_page("This download link does not work", str(error), 403)
    except BatchNotFound:
        abort(404)
    return zip_response(batch)


def zip_response(batch: Batch) -> Response:
    """The batch's images, manifest.csv and results workbook, streamed."""
    batches, batch_id = services().batches, batch.id
    storage, key = batch_storage(batch, services().settings)
    workbook = results_workbook(batches.requests(batch_id), batches.status(batch_id).rows)
    archive = batch_zip(storage, key, {RESULTS_NAME: workbook})
    name = zip_name(batch.title, batch_id)
    return Response(archive, mimetype="application/zip", headers={
        "Content-Length": str(len(archive)),
        "Content-Disposition": f'attachment; filename="{name}"'})


def zip_name(title: str, batch_id: str) -> str:
    """The ZIP is named after the person's file (`stickers-images.zip`), ASCII for the header."""
    stem = slugify(PurePath(title).stem) if title else ""
    return f"{stem}-images.zip" if stem and stem != "image" else f"sheetbatch-{batch_id}.zip"


def stored_image(token: str):
    """The storage and local path of the image a signed token names (404 for anything else)."""
    try:
        claim = services().signer.read_image(token)
        batch = services().batches.get(claim["b"])
    except (BadLink, BatchNotFound):
        abort(404)
    storage, key = batch_storage(batch, services().settings)
    if not isinstance(storage, LocalStorage):
        return storage, storage.url(key, claim["n"])
    try:
        path = storage.path(key, claim["n"])
    except ValueError:
        abort(404)
    if not path.is_file():
        abort(404)
    return storage, path


@blueprint.get(links.IMAGE.rule)
def image(token: str):
    storage, where = stored_image(token)
    if services().signer.is_lasting(token) and private_row(token):
        abort(404)  # the sheet's lasting preview link shows a private row's thumbnail, no more
    if not isinstance(storage, LocalStorage):
        return redirect(where)
    return send_file(where, max_age=3600)


def private_row(token: str) -> bool:
    claim = services().signer.read_image(token)
    try:
        return services().batches.request(claim["b"], int(claim["n"][:4])).visibility != "public"
    except (ValueError, TypeError):
        return True


@blueprint.get(links.THUMB.rule)
def thumb(token: str):
    storage, where = stored_image(token)
    if not isinstance(storage, LocalStorage):
        return redirect(where)  # buckets serve the full image; a resizing CDN can sit in front
    return send_file(thumbnail(where), max_age=86400)


@blueprint.get(links.GALLERY.rule)
def gallery(token: str):
    try:
        claim = services().signer.read_gallery(token)
        services().batches.owned_by(claim["b"], claim["u"])
    except BadLink as error:
        return message_page("This gallery link does not work", str(error), 403)
    except BatchNotFound:
        abort(404)
    batches, signer = services().batches, services().signer
    status = batches.status(claim["b"])
    total = status.images["total"] or 1
    return render_template(
        "gallery.html", title=status.batch.title or "Batch", status=status,
        provider=status.batch.provider, cards=gallery_cards(claim["b"], status),
        finished=status.finished,
        percent={name: round(100 * status.images[name] / total, 1) for name in ("done", "failed")},
        zip_url=url_for("files.download_zip", token=signer.zip_token(claim["b"], claim["u"])))


def gallery_cards(batch_id: str, status) -> list[dict]:
    batches, signer = services().batches, services().signer
    cards, requests = [], batches.requests(batch_id)
    for row, result in status.rows.items():
        request = requests[row]
        private = request.visibility == "private"
        base = {"row": row, "status": result.status, "prompt": request.prompt,
                "error": result.error}
        if not result.images:
            cards.append(base | {"index": None, "thumb": None, "full": None})
        for image in result.images:
            cards.append(base | {
                "index": image["index"],
                "thumb": url_for("files.thumb", token=signer.image_token(
                    batch_id, image["name"], private)),
                "full": url_for("files.image", token=signer.image_token(
                    batch_id, image["name"], private))})
    return cards
