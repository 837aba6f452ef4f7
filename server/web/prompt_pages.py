"""The batch page's "Write prompts" form: a chat model writes the rows, and the sheet it makes
goes through the upload flow (problems, details, Start) like any uploaded file, and can be
downloaded."""
from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import httpx
from flask import Blueprint, abort, flash, redirect, request, send_file, url_for

from server.files import UnreadableFile
from server.files.template import write_rows
from server.prompts.chat import ChatError, no_key_message
from server.prompts.schema import FIXABLE_COLUMNS
from server.prompts.writer import (
    BATCH_ROWS,
    OrderError,
    PromptOrder,
    per_request,
    price_text,
    write_prompts,
)
from server.sheet.columns import COLUMNS_BY_NAME, MAX_DATA_ROWS
from server.uploads.store import UploadNotFound
from server.web.app import services
from server.web.pages import chosen_provider, render_batch_page
from server.web.signin import current_person, signed_in

blueprint = Blueprint("prompt_pages", __name__)
# The settings the form offers for every row (blank: the model chooses, or the default);
# visibility has its own select, private first.
FORM_SETTINGS = tuple(name for name in FIXABLE_COLUMNS if name != "visibility")
MAX_EXAMPLES = 10
MAX_GOAL_CHARS = 4000


@blueprint.app_context_processor
def form_context():
    return {"prompt_form": prompt_form}  # called by the batch page only


def prompt_form() -> dict:
    """What the form shows before anything is asked: the model, the price of a request, or
    exactly what to set when there is no key."""
    settings = services().settings
    sample = per_request(BATCH_ROWS, settings.chat_model, services().prices)
    return {
        "model": settings.chat_model, "ready": bool(settings.openai_api_key),
        "missing": no_key_message(settings.chat_model), "batch_rows": BATCH_ROWS,
        "max_rows": MAX_DATA_ROWS, "sample": sample,
        "sample_price": price_text(sample.price, sample.currency),
        "settings": {name: _choices(name) for name in FORM_SETTINGS}}


def _choices(name: str) -> tuple[str, ...]:
    column = COLUMNS_BY_NAME[name]
    if column.whole_numbers:
        low, high = column.whole_numbers
        return tuple(str(n) for n in range(low, high + 1))
    return column.choices


@blueprint.post("/prompts")
@signed_in
def write():
    provider = chosen_provider(request.form.get("provider"))
    try:
        order = _order()
        with httpx.Client() as http:
            chat = services().chat_client(http)
            written = write_prompts(order, chat, services().prices,
                                    services().capabilities(provider))
    except (OrderError, ChatError) as error:
        return render_batch_page(400, provider=provider, prompt_problem=str(error))
    ext = "xlsx" if request.form.get("format") == "xlsx" else "csv"
    name = f"prompts-{dt.datetime.now():%Y%m%d-%H%M}.{ext}"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        write_rows(path, written.table)
        try:
            with path.open("rb") as stream:
                upload_id, _ = services().file_batches.receive(current_person(), name, stream,
                                                               provider)
        except UnreadableFile as error:
            return render_batch_page(400, provider=provider, prompt_problem=str(error))
    flash(f"{chat.model} wrote {len(written.table) - 1} rows: "
          f"{written.usage_text(services().prices.currency)}. Review them below, download the "
          "sheet, or Start.", "info")
    return redirect(url_for("pages.batch_page", upload=upload_id, provider=provider,
                            written=1) + "#details", code=303)


def _order() -> PromptOrder:
    form = request.form
    goal = form.get("goal", "")[:MAX_GOAL_CHARS]
    try:
        rows = int(form.get("rows", ""))
    except ValueError:
        raise OrderError("Say how many prompts to write (a whole number).") from None
    examples = tuple(line.strip() for line in form.get("examples", "").splitlines()
                     if line.strip())[:MAX_EXAMPLES]
    settings = {name: form[name] for name in (*FORM_SETTINGS, "visibility")
                if form.get(name, "").strip()}
    return PromptOrder(goal, rows, examples, settings)


@blueprint.get("/uploads/<upload_id>/written")
@signed_in
def download(upload_id: str):
    """The sheet the model wrote, as it was uploaded for review."""
    try:
        checked = services().file_batches.check(current_person(), upload_id)
    except (UploadNotFound, UnreadableFile):
        abort(404)
    return send_file(checked.path, as_attachment=True, download_name=checked.path.name)
