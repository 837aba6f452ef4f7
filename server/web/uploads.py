"""The upload page: a .csv/.xls/.xlsx file checked in the browser, then generated, with the
gallery showing progress. The link to the page is signed and names its person (the add-in
asks for one), so the page needs no sign-in of its own."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from server import links, logs
from server.batches.launcher import InvalidSheet, OverBudget, StillStarting
from server.files import UnreadableFile
from server.links import BadLink
from server.sheet.validation import listed
from server.uploads.store import TooManyUploads, UploadNotFound
from server.web.app import services
from server.web.messages import message_page

blueprint = Blueprint("uploads", __name__)


def owner_of(token: str) -> str:
    owner = services().signer.read_upload(token)["u"]
    logs.bind(user=owner)
    return owner


def page(token: str, status: int = 200, **context) -> tuple[str, int]:
    files = services().file_batches
    return render_template("upload.html", token=token, providers=files.offered_providers(),
                           listed=listed, default_provider=files.provider(),
                           limit=files.size_limit, **context), status


@blueprint.errorhandler(BadLink)
def bad_link(error: BadLink):
    return message_page("This upload link does not work", str(error), 403,
                        action=("Sign in to upload on the batch page", url_for("pages.batch_page")))


@blueprint.errorhandler(413)
def too_large(error):
    return page(request.view_args.get("token", ""), 413,
                problem=services().file_batches.too_large())


@blueprint.get(links.UPLOAD.rule)
def upload_form(token: str):
    owner_of(token)
    return page(token)


@blueprint.post(links.UPLOAD.rule)
def upload_file(token: str):
    owner, files = owner_of(token), services().file_batches
    file = request.files.get("file")
    if file is None or not file.filename:
        return page(token, 400, problem="Choose a file first.")
    try:
        provider = files.provider(request.form.get("provider"))  # refused when it cannot run
        upload_id, checked = files.receive(owner, file.filename, file.stream, provider)
    except (ValueError, UnreadableFile) as error:
        return page(token, 400, problem=str(error))
    except TooManyUploads as error:
        body, status = page(token, 429, problem=str(error))
        return body, status, {"Retry-After": str(error.retry_after)}
    return page(token, report=checked.report, offer=files.estimate(checked, provider, owner),
                upload_id=upload_id, provider=provider, filename=checked.path.name)


@blueprint.post(links.UPLOAD_START_RULE)
def start(token: str):
    owner, files = owner_of(token), services().file_batches
    try:
        provider = files.provider(request.form.get("provider"))
        batch_id, _ = files.start(owner, request.form.get("upload_id", ""), provider)
    except (ValueError, UnreadableFile, OverBudget, InvalidSheet, StillStarting) as error:
        return page(token, 400, problem=str(error))
    except UploadNotFound:
        return page(token, 404, problem="That upload is gone; upload the file again.")
    gallery = services().signer.gallery_token(batch_id, owner)
    return redirect(url_for("files.gallery", token=gallery), code=303)
