"""A notice to the person when a batch ends: an email, when the server has an SMTP relay
(`SHEETBATCH_SMTP_URL`). The sidebar shows its own notice (and a toast) when it is open; the email
reaches someone who closed it."""
from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote

from server.batches.status import BatchProgress
from server.config import Settings
from server.links import Signer

log = logging.getLogger(__name__)

SMTP_TIMEOUT = 20


class Notices:
    def __init__(self, settings: Settings, signer: Signer | None = None):
        self.settings = settings
        self.signer = signer  # signs the email's gallery link

    @property
    def enabled(self) -> bool:
        return bool(self.settings.smtp_url)

    def batch_finished(self, status: BatchProgress) -> bool:
        """Email the owner that the batch ended; False (logged) when it could not be sent."""
        if not self.enabled or "@" not in status.batch.owner:
            return False  # no relay, or a command-line batch (no one to write to)
        try:
            self._send(self.message(status))
        except (OSError, smtplib.SMTPException) as error:
            log.warning("could not email the end of batch %s: %s", status.id, error)
            return False
        return True

    def message(self, status: BatchProgress) -> EmailMessage:
        owner, counts = status.batch.owner, status.counts
        title = status.batch.title or status.id
        words = status.status.replace("_", " ")
        mail = EmailMessage()
        mail["From"] = self.settings.mail_from
        mail["To"] = owner
        mail["Subject"] = f"Batch {words}: {title}"
        lines = [f"Your batch \"{title}\" is {words}.", "",
                 f"Rows: {counts['done']} done, {counts['failed']} failed, "
                 f"{counts['stopped']} stopped, of {counts['total']}."]
        base = status.batch.public_url.rstrip("/")
        if base and self.signer:
            lines += ["", f"Images: {self.signer.gallery_url(base, status.id, owner)}"]
        mail.set_content("\n".join(lines) + "\n")
        return mail

    def _send(self, mail: EmailMessage) -> None:
        relay = SmtpRelay.parse(self.settings.smtp_url)
        connect = smtplib.SMTP_SSL if relay.scheme == "smtps" else smtplib.SMTP
        with connect(relay.host, relay.port, timeout=SMTP_TIMEOUT) as smtp:
            if relay.scheme == "smtp+starttls":
                smtp.starttls()
            if relay.username:
                smtp.login(relay.username, relay.password)
            smtp.send_message(mail)


@dataclass(frozen=True)
class SmtpRelay:
    scheme: str
    host: str
    port: int
    username: str
    password: str

    @classmethod
    def parse(cls, url: str) -> "SmtpRelay":
        """`scheme://[user[:password]@]host[:port]`, read by hand: a password may hold `/`, `#`,
        `?` or `@` (an URL parser would take them for a path or a fragment, and the password
        for part of the host name, which then shows in errors and logs). The user and password
        may be percent-encoded too. Raises `OSError` (never naming the password) if unusable."""
        scheme, _, rest = url.partition("://")
        scheme = scheme.lower()
        if scheme not in ("smtp", "smtps", "smtp+starttls"):
            raise OSError("SHEETBATCH_SMTP_URL must start with smtp://, smtps:// or "
                          "smtp+starttls://")
        userinfo, _, place = rest.rpartition("@")
        place = place.split("/", 1)[0]
        host, _, port = place.rpartition(":") if not place.endswith("]") else (place, "", "")
        if not host or (port and not port.isdigit()):
            host, port = place, ""
        username, _, password = userinfo.partition(":")
        default = 465 if scheme == "smtps" else 25
        return cls(scheme, host.strip("[]"), int(port) if port else default, unquote(username),
                   unquote(password))
