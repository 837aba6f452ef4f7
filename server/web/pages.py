"""The brief's own flow as web pages: `/` (templates, upload, problems, details, start, and
the progress list of the person's batches), Creations, the public gallery, and image links
that honour each row's visibility."""
from __future__ import annotations

import functools
import io
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from server import links
from server.batches.launcher import InvalidSheet, OverBudget, StillStarting
from server.batches.lifecycle import BatchBusy, delete_batch
from server.batches.queue import NO_WORKER, waits_for_worker, worker_running
from server.batches.record import Batch
from server.batches.status import Action
from server.batches.store import BatchNotFound
from server.files import SUPPORTED, UnreadableFile
from server.files.template import write_template
from server.files.workbook import WorkbookGrid
from server.money.cost import shown_cost
from server.sheet.columns import COLUMN_NAMES
from server.sheet.results import RowResult
from server.sheet.statuses import BatchStatus, RowStatus
from server.storage import LocalStorage, batch_storage
from server.storage.names import check_name
from server.storage.thumbnails import thumbnail
from server.uploads.file_batches import ProviderUnavailable
from server.uploads.store import TooManyUploads, UploadNotFound
from server.web.app import public_root, services
from server.web.files import zip_response
from server.web.signin import current_person, owner_of_handle, public_handle, signed_in

blueprint = Blueprint("pages", __name__)
PAGE_SIZE = 24
CREATIONS_BATCHES = 500  # how many of a person's newest batches Creations looks through
STATUS_FILTERS = ("done", "failed", "stopped", "pending")
LIVE = (BatchStatus.QUEUED, BatchStatus.RUNNING, BatchStatus.STOPPING)


# -- the batch page -------------------------------------------------------------------------

@blueprint.get("/")
@signed_in
def batch_page():
    files, owner = services().file_batches, current_person()
    upload_id = request.args.get("upload", "")
    provider = chosen_provider(request.args.get("provider"))
    if not upload_id:
        return render_batch_page(provider=provider)
    started = files.started(owner, upload_id)
    if started:  # browser Back to a file already started: its batch, not a second Start
        return to_batch(started, new=False)
    try:
        checked = files.check(owner, upload_id, provider, sheet=request.args.get("sheet") or None)
    except UploadNotFound:
        return render_batch_page(404, provider=provider,
                                 problem="That upload is gone (they are kept a day); upload the "
                                         "file again.")
    except UnreadableFile as error:
        return render_batch_page(400, provider=provider, problem=str(error))
    return render_batch_page(report=checked.report, offer=files.estimate(checked, provider, owner),
                             upload_id=upload_id, provider=provider, filename=checked.path.name,
                             table=checked.table)


def render_batch_page(status: int = 200, **context):
    files = services().file_batches
    return render_template(
        "batches.html", providers=files.offered_providers(), columns=COLUMN_NAMES,
        limit=files.size_limit, accept=",".join(SUPPORTED),
        batches=batch_items(current_person()), **context), status


def chosen_provider(name: str | None) -> str:
    """The provider the page shows: a stale link's one that cannot run here is replaced by the
    default (the page offers only those that can; Start refuses one that cannot)."""
    return services().file_batches.provider_or_default(name)


@blueprint.get("/templates/sheetbatch-<kind>.<ext>")
def template_file(kind: str, ext: str):
    if kind not in ("simple", "full") or ext not in ("csv", "xlsx"):
        abort(404)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"sheetbatch-{kind}.{ext}"
        write_template(path, full=kind == "full")
        data = path.read_bytes()
    return send_file(io.BytesIO(data), as_attachment=True, download_name=path.name)


@blueprint.post("/upload")
@signed_in
def upload():
    provider = chosen_provider(request.form.get("provider"))
    file = request.files.get("file")
    if file is None or not file.filename:
        return render_batch_page(400, provider=provider, problem="Choose a file first.")
    try:
        upload_id, _ = services().file_batches.receive(current_person(), file.filename,
                                                       file.stream, provider)
    except UnreadableFile as error:
        return render_batch_page(400, provider=provider, problem=str(error))
    except TooManyUploads as error:
        body, status = render_batch_page(429, provider=provider, problem=str(error))
        return body, status, {"Retry-After": str(error.retry_after)}
    return redirect(url_for("pages.batch_page", upload=upload_id, provider=provider) + "#details",
                    code=303)


@blueprint.errorhandler(413)
def too_large(error):
    return render_batch_page(413, problem=services().file_batches.too_large())


@blueprint.get("/uploads/<upload_id>/marked.xlsx")
@signed_in
def marked_copy(upload_id: str):
    """The uploaded sheet with every problem cell coloured and its message as a comment."""
    try:
        checked = services().file_batches.check(current_person(), upload_id,
                                                sheet=request.args.get("sheet") or None)
    except (UploadNotFound, UnreadableFile):
        abort(404)
    grid = WorkbookGrid(checked.path, checked.table)
    grid.mark(checked.report)
    out = io.BytesIO()
    grid.save(out)
    out.seek(0)
    return send_file(out, as_attachment=True, download_name=f"{checked.path.stem}-marked.xlsx")


@blueprint.post("/start")
@signed_in
def start():
    files, upload_id = services().file_batches, request.form.get("upload_id", "")
    try:
        provider = files.provider(request.form.get("provider"))
    except ProviderUnavailable as error:
        flash(f"The provider {error.name!r} cannot run here; choose another.", "problem")
        return redirect(url_for("pages.batch_page", upload=upload_id), code=303)
    try:
        batch_id, new = files.start(current_person(), upload_id, provider,
                                    sheet=request.form.get("sheet") or None)
    except UploadNotFound:
        flash("That upload is gone; upload the file again.", "problem")
        return redirect(url_for("pages.batch_page"), code=303)
    except (UnreadableFile, OverBudget, InvalidSheet) as error:
        flash(str(error), "problem")
        return redirect(url_for("pages.batch_page", upload=upload_id, provider=provider), code=303)
    except StillStarting as error:
        flash(str(error), "info")
        return redirect(url_for("pages.batch_page"), code=303)
    return to_batch(batch_id, new)


def to_batch(batch_id: str, new: bool):
    """The batch list at this batch, saying whether this click started it."""
    title = services().batches.get(batch_id).title
    if new:
        flash(f"Started {title}: you can keep working; this page tells you when it is done.",
              "info")
    else:
        flash(f"{title} was already started: here is that batch (nothing was started twice).",
              "info")
    return redirect(url_for("pages.batch_page") + f"#batch-{batch_id}", code=303)


# -- the progress list ------------------------------------------------------------------------

@dataclass
class BatchItem:
    id: str
    title: str
    provider: str
    created: float
    status: str
    rows: int
    images: dict[str, int]
    cost: str  # what its made images cost ("free" for the preview)
    failed_rows: list[RowResult]  # the first MAX_FAILED_SHOWN, each with its message
    waiting: str | None  # why nothing moves (no worker running)
    label: str
    actions: list[str]  # what the person may do now (status.BatchProgress.actions)
    finished: bool
    paused: str | None = None  # why it paused on its own, shown under its status

    @property
    def made_count(self) -> int:
        """Images the provider has answered for (made or failed); stopped ones are not progress."""
        return self.images["done"] + self.images["failed"]

    @property
    def started(self) -> str:
        return time.strftime("%d %b %Y, %H:%M UTC", time.gmtime(self.created))


MAX_FAILED_SHOWN = 5


def batch_items(owner: str) -> list[BatchItem]:
    batches, launcher = services().batches, services().launcher
    no_worker = functools.cache(lambda: not worker_running(services().redis))  # once a list
    items = []
    for batch_id in batches.list_for(owner):
        try:
            status = batches.status(batch_id)
            spent = launcher.cost(batch_id, (RowStatus.DONE,))
        except (BatchNotFound, KeyError):
            continue  # deleted while we listed
        images, provider = status.images, status.batch.provider
        failed = [row for row in status.rows.values() if row.status == RowStatus.FAILED]
        shown = status.presented()
        items.append(BatchItem(
            id=batch_id, title=status.batch.title or batch_id, provider=provider,
            created=status.batch.created, status=status.status,
            rows=status.counts["total"], images=images,
            cost=shown_cost(spent, services().prices.currency, provider),
            failed_rows=failed[:MAX_FAILED_SHOWN],
            waiting=NO_WORKER if waits_for_worker(status) and no_worker() else None,
            label=shown["label"], actions=shown["actions"],
            finished=status.finished, paused=status.paused))
    return items


@blueprint.get("/batches/list")
@signed_in
def batch_list():
    """The progress list alone, for the page's live updates."""
    return render_template("_batch_list.html", batches=batch_items(current_person()))


@blueprint.get("/batches/states")
@signed_in
def batch_states():
    """Each batch's status, for the completion notice every page shows (static/notices.js)."""
    batches = services().batches
    states = []
    for batch_id in batches.list_for(current_person()):
        try:
            status = batches.status(batch_id)
        except BatchNotFound:
            continue
        states.append({"id": batch_id, "title": status.batch.title or batch_id,
                       "status": status.status, "finished": status.finished,
                       "outcome": status.outcome()})
    return {"batches": states}


def owned_batch(batch_id: str) -> Batch:
    try:
        return services().batches.owned_by(batch_id, current_person())
    except BatchNotFound:
        abort(404)


@blueprint.post("/batches/<batch_id>/<action>")
@signed_in
def batch_action(batch_id: str, action: str):
    owned_batch(batch_id)
    launcher, owner = services().launcher, current_person()
    if action not in (Action.STOP, Action.RESUME, Action.RETRY, Action.DELETE):
        abort(404)
    refusal = services().batches.status(batch_id).refusal(Action(action))
    try:
        if refusal:
            flash(refusal, "problem")
        elif action == Action.STOP:
            services().batches.stop(batch_id)
        elif action in (Action.RESUME, Action.RETRY):
            services().sheets.resume(batch_id, owner, retry_failed=action == Action.RETRY)
        else:
            delete_batch(services().batches, launcher, services().settings, batch_id)
            flash("Batch deleted with its images.", "info")
    except (OverBudget, BatchBusy) as error:
        flash(str(error), "problem")
    anchor = "" if action == "delete" else f"#batch-{batch_id}"
    return redirect(url_for("pages.batch_page") + anchor, code=303)


@blueprint.get("/batches/<batch_id>/zip")
@signed_in
def batch_zip(batch_id: str):
    return zip_response(owned_batch(batch_id))


# -- creations --------------------------------------------------------------------------------

@dataclass
class Creation:
    batch_id: str
    batch_title: str
    row: int
    index: int
    state: str
    visibility: str
    prompt: str
    name: str | None
    seed: int | None
    used_prompt: str | None
    error: str | None

    @property
    def filter_status(self) -> str:
        return self.state if self.state in STATUS_FILTERS else "pending"


def creations_of(owner: str, batch_ids: list[str]) -> list[Creation]:
    """Every image (made or not) of these batches, newest batch first, in sheet order."""
    batches, found = services().batches, []
    for batch_id in batch_ids:
        try:
            status = batches.status(batch_id)
            requests = batches.requests(batch_id)
        except BatchNotFound:
            continue
        if status.batch.owner != owner:
            continue
        results = {(row, image["index"]): image
                   for row, result in status.rows.items() for image in result.images}
        errors = {row: result.error for row, result in status.rows.items()}
        for (row, index), state in sorted(batches.states(batch_id).items()):
            image, request_ = results.get((row, index), {}), requests[row]
            found.append(Creation(
                batch_id=batch_id, batch_title=status.batch.title or batch_id, row=row,
                index=index, state=state, visibility=request_.visibility, prompt=request_.prompt,
                name=image.get("name"), seed=image.get("seed"), used_prompt=image.get("prompt"),
                error=errors.get(row) if state == RowStatus.FAILED else None))
    return found


def page_of(items: list, number: int) -> tuple[list, int]:
    pages = max(1, -(-len(items) // PAGE_SIZE))
    number = min(max(1, number), pages)
    return items[(number - 1) * PAGE_SIZE:number * PAGE_SIZE], pages


def page_number() -> int:
    return request.args.get("page", 1, type=int) or 1


@blueprint.get("/creations")
@signed_in
def creations():
    owner = current_person()
    mine = services().batches.list_for(owner, limit=CREATIONS_BATCHES)
    batch = request.args.get("batch", "")
    status = request.args.get("status", "")
    chosen = [batch] if batch in mine else mine
    items = [c for c in creations_of(owner, chosen) if not status or c.filter_status == status]
    shown, pages = page_of(items, page_number())
    titles = {item.id: f"{item.title} · {item.started}" for item in batch_items(owner)}
    return render_template("creations.html", creations=shown, pages=pages, page=page_number(),
                           total=len(items), batch=batch if batch in mine else "",
                           status=status if status in STATUS_FILTERS else "",
                           statuses=STATUS_FILTERS, batch_titles=titles,
                           handle=public_handle(owner))


@blueprint.get("/creations/<batch_id>/<int:row>/<int:index>")
@signed_in
def creation(batch_id: str, row: int, index: int):
    owned_batch(batch_id)
    siblings = creations_of(current_person(), [batch_id])
    where = next((at for at, c in enumerate(siblings) if (c.row, c.index) == (row, index)), None)
    if where is None:
        abort(404)
    item = siblings[where]
    previous = siblings[where - 1] if where > 0 else None
    following = siblings[where + 1] if where + 1 < len(siblings) else None
    settings = services().batches.request(batch_id, row).as_dict()
    share = None
    if item.name and item.visibility == "private":
        share = services().signer.image_url(public_root(), batch_id, item.name, private=True)
    elif item.name:
        share = links.public_image_url(public_root(), batch_id, item.name)
    return render_template("creation.html", item=item, settings=settings, share=share,
                           provider=services().batches.get(batch_id).provider,
                           previous=previous, following=following,
                           position=(where + 1, len(siblings)))


# -- images by visibility ---------------------------------------------------------------------

def visible_image(batch_id: str, name: str):
    """Storage and where the image is, if the caller may see it: anyone for a public row,
    only its signed-in owner for a private one (404 otherwise, so a private image's existence
    is not revealed)."""
    batches = services().batches
    try:
        check_name(name)
        batch = batches.get(batch_id)
        request_ = batches.request(batch_id, int(name[:4]))
    except (ValueError, TypeError, BatchNotFound):
        abort(404)
    public = request_.visibility == "public"
    if not public and current_person() != batch.owner:
        abort(404)
    storage, key = batch_storage(batch, services().settings)
    if not isinstance(storage, LocalStorage):
        return storage, storage.url(key, name), public
    path = storage.path(key, name)
    if not path.is_file():
        abort(404)
    return storage, path, public


def send_image(storage, where, public: bool, small: bool = False):
    if not isinstance(storage, LocalStorage):
        return redirect(where)  # buckets serve the full image; a resizing CDN can sit in front
    response = send_file(thumbnail(where) if small else where, max_age=3600)
    # A private image may sit in the owner's browser cache, never in a shared one.
    response.cache_control.public = public
    response.cache_control.private = not public
    return response


@blueprint.get(links.PUBLIC_IMAGE_RULE)
def image(batch_id: str, name: str):
    return send_image(*visible_image(batch_id, name))


@blueprint.get(links.PUBLIC_THUMB_RULE)
def image_thumb(batch_id: str, name: str):
    return send_image(*visible_image(batch_id, name), small=True)


@blueprint.get(links.PUBLIC_GALLERY_RULE)
def public_gallery(handle: str):
    """The person's public images, newest batch first; anyone may look."""
    owner = owner_of_handle(handle)
    if owner is None:
        abort(404)
    batches = services().batches
    total = batches.public_count(owner)
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(max(1, page_number()), pages)
    found = batches.public_images(owner, (number - 1) * PAGE_SIZE, PAGE_SIZE)
    shown = [PublicImage(batch_id, name, int(name[:4]), request_.prompt)
             for batch_id, name, request_ in found]
    return render_template("public_gallery.html", creations=shown, pages=pages,
                           page=number, handle=handle, total=total)


@dataclass
class PublicImage:
    batch_id: str
    name: str
    row: int
    prompt: str


@blueprint.app_template_global()
def page_url(number: int) -> str:
    """This page's address with the same filters, at another page number (the filters as a
    query of their own: a `?handle=`, `?_method=` or `?endpoint=` is never taken for one of
    url_for's arguments)."""
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "page"]
    return url_for(request.endpoint, **request.view_args) + "?" + urlencode(
        [*args, ("page", number)])
