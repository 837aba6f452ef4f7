"""The completion email: sent once, when a batch finishes, if the operator configured SMTP."""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from server.batches.status import BatchProgress
from server.config import Settings
from server.sheet.statuses import BatchStatus

log = logging.getLogger(__name__)


def completion_message(settings: Settings, status: BatchProgress) -> EmailMessage:
    title = status.fields.get("title") or status.id
    images = status.images
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = status.fields["owner"]
    message["Subject"] = f"Your batch {title} is {status.status.replace('_', ' ')}"
    message.set_content(
        f"Your batch {title} is {status.status.replace('_', ' ')}: {images['done']} of "
        f"{images['total']} images made, {images['failed']} failed, {images['stopped']} stopped.\n"
        "Open sheetbatch to download the ZIP or browse your creations.\n")
    return message


def mail_finished(settings: Settings, status: BatchProgress) -> None:
    """Mail the owner (an email address) that the batch finished; a mail failure is logged,
    never raised: the batch itself is fine."""
    if not settings.smtp_url or "@" not in status.fields.get("owner", ""):
        return
    if status.status == BatchStatus.STOPPED:
        return  # the person stopped it themselves
    url = urlsplit(settings.smtp_url)
    connect = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    try:
        with connect(url.hostname, url.port or (465 if url.scheme == "smtps" else 25),
                     timeout=20) as smtp:
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(completion_message(settings, status))
    except (OSError, smtplib.SMTPException) as error:
        log.warning("could not mail %s about batch %s: %s", status.fields["owner"], status.id,
                    error)
