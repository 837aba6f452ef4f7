"""The "batch ended" email: sent once by the housekeeper when a batch finishes, through a local
SMTP server; nothing is sent without a relay configured."""
from __future__ import annotations

import pytest

from server.batches import keys
from server.config import Settings
from server.services import Services
from server.sheet.request import ImageRequest
from testkit.fakes.smtp import FakeSMTP
from workers.housekeeping import Housekeeper

OWNER = "alice@example.com"


@pytest.fixture
def smtp():
    with FakeSMTP() as server:
        yield server


def finished_batch(services: Services) -> str:
    requests = {row: ImageRequest(prompt=f"p{row}", visibility="private", num_images=1)
                for row in (2, 3)}
    batch_id = services.batches.create(requests, owner=OWNER, provider="preview",
                                       account="preview-account",
                                       title="Stickers", public_url="https://sb.example/")
    services.batches.redis.sadd(keys.BUDGETED_BATCHES, batch_id)  # as the launcher leaves it
    for row, state in ((2, "done"), (3, "failed")):
        assert services.batches.claim(batch_id, row, 1, "w") == "ok"
        services.batches.settle(batch_id, row, 1, "w", state,
                                {"name": "x.png"} if state == "done" else {"error": "refused"})
    return batch_id


def test_the_owner_gets_one_email_when_a_batch_ends(redis_server, redis_conn, smtp, tmp_path):
    services = Services(Settings(redis_url=redis_server.url, data_dir=tmp_path, secret_key="s",
                                 smtp_url=smtp.url, mail_from="sheetbatch@sb.example"))
    batch_id = finished_batch(services)
    keeper = Housekeeper(services)
    keeper.settle_finished()
    keeper.settle_finished()  # already settled: no second email
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail["To"] == OWNER and mail["From"] == "sheetbatch@sb.example"
    assert mail["Subject"] == "Batch completed with errors: Stickers"
    body = mail.get_content()
    assert "1 done, 1 failed, 0 stopped, of 2" in body
    assert "https://sb.example/gallery/" in body
    assert services.signer.gallery_token(batch_id, OWNER)[:8] in body


def test_no_relay_no_email(redis_server, redis_conn, tmp_path):
    services = Services(Settings(redis_url=redis_server.url, data_dir=tmp_path, secret_key="s"))
    finished_batch(services)
    Housekeeper(services).settle_finished()
    assert services.notices.enabled is False


def test_an_unreachable_relay_is_logged_not_raised(redis_server, redis_conn, tmp_path, caplog):
    services = Services(Settings(redis_url=redis_server.url, data_dir=tmp_path, secret_key="s",
                                 smtp_url="smtp://127.0.0.1:9"))
    batch_id = finished_batch(services)
    assert services.notices.batch_finished(services.batches.status(batch_id)) is False
    assert "could not email" in caplog.text


@pytest.mark.parametrize("password", ["pa/ss#w?rd", "p@ss:w/rd#"])
def test_a_password_with_url_characters_logs_in_and_is_never_logged(redis_server, redis_conn,
                                                                    tmp_path, caplog, password):
    """Issue 23: a `/` or `#` in the password used to end the host name there, and the password
    went into the log line of the failed connection."""
    with FakeSMTP("mailer", password) as relay:
        url = relay.url.replace("smtp://", f"smtp://mailer:{password}@")
        services = Services(Settings(redis_url=redis_server.url, data_dir=tmp_path,
                                     secret_key="s", smtp_url=url))
        batch_id = finished_batch(services)
        assert services.notices.batch_finished(services.batches.status(batch_id)) is True
        assert len(relay.messages) == 1
    unreachable = Services(Settings(redis_url=redis_server.url, data_dir=tmp_path, secret_key="s",
                                    smtp_url=f"smtp://mailer:{password}@127.0.0.1:9"))
    assert unreachable.notices.batch_finished(services.batches.status(batch_id)) is False
    assert "could not email" in caplog.text and password not in caplog.text
