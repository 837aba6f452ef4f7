"""The upload page: a .csv/.xls/.xlsx file checked in the browser, then generated, with the
gallery showing progress. The link to the page is signed and names its person (the add-in
asks for one), so the page needs no sign-in of its own."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from server import links, logs
from server.batches import keys
from server.batches.launcher import InvalidSheet, OverBudget, StillStarting
from server.files import UnreadableFile, human_size
from server.generation.providers import available_providers, canonical_name, make_provider
from server.links import BadLink
from server.sheet.validation import listed
from server.web.app import services
from server.web.messages import message_page
from server.web.upload_store import TooManyUploads, UploadNotFound

blueprint = Blueprint("uploads", __name__)


def owner_of(token: str) -> str:
    owner = services().signer.read_upload(token)["u"]
    logs.bind(user=owner)
    return owner


def page(token: str, status: int = 200, **context) -> tuple[str, int]:
    settings = services().settings
    return render_template("upload.html", token=token,
                           providers=available_providers(settings), listed=listed,
                           default_provider=settings.provider,
                           limit=human_size(settings.max_upload_bytes), **context), status


@blueprint.errorhandler(BadLink)
def bad_link(error: BadLink):
    return message_page("This upload link does not work", str(error), 403,
                        action=("Sign in to upload on the batch page", url_for("pages.batch_page")))


@blueprint.errorhandler(413)
def too_large(error):
    limit = human_size(services().settings.max_upload_bytes)
    return page(request.view_args.get("token", ""), 413,
                problem=f"That file is larger than {limit}; a sheet of 499 prompts is far "
                        "smaller: check that you chose the right file.")


@blueprint.get(links.UPLOAD.rule)
def upload_form(token: str):
    owner_of(token)
    return page(token)


@blueprint.post(links.UPLOAD.rule)
def upload_file(token: str):
    owner = owner_of(token)
    provider = canonical_name(request.form.get("provider") or services().settings.provider)
    file = request.files.get("file")
    if file is None or not file.filename:
        return page(token, 400, problem="Choose a file first.")
    try:
        make_provider(provider, services().settings)  # only a provider that can run is checked for
        upload_id, checked = services().uploads.receive(owner, file.filename, file.stream,
                                                        services().capabilities(provider))
    except (ValueError, UnreadableFile) as error:
        return page(token, 400, problem=str(error))
    except TooManyUploads as error:
        body, status = page(token, 429, problem=str(error))
        return body, status, {"Retry-After": str(error.retry_after)}
    report = checked.report
    offer = services().launcher.estimate(report, provider, owner)
    return page(token, report=report, offer=offer, upload_id=upload_id, provider=provider,
                filename=checked.path.name)


def launch_upload(owner: str, upload_id: str, provider: str) -> str:
    """Start the uploaded file's batch, then delete the file (its rows are in the batch)."""
    checked = services().uploads.check(owner, upload_id, services().capabilities(provider))
    batch_id = services().launcher.launch(checked.report, owner, provider, checked.path.name,
                                          extra={"kind": "file"})
    services().uploads.discard(owner, upload_id)
    return batch_id


@blueprint.post(links.UPLOAD_START_RULE)
def start(token: str):
    owner = owner_of(token)
    provider = canonical_name(request.form.get("provider", ""))
    upload_id = request.form.get("upload_id", "")
    try:
        make_provider(provider, services().settings)
        batch_id, _ = services().launcher.launch_once(
            keys.upload_start(owner, upload_id), lambda: launch_upload(owner, upload_id, provider))
    except (ValueError, UnreadableFile, OverBudget, InvalidSheet, StillStarting) as error:
        return page(token, 400, problem=str(error))
    except UploadNotFound:
        return page(token, 404, problem="That upload is gone; upload the file again.")
    gallery = services().signer.gallery_token(batch_id, owner)
    return redirect(url_for("files.gallery", token=gallery), code=303)
