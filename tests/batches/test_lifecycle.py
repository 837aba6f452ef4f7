"""Deleting batches (by the owner, by the retention setting) and the completion email, against
a real Redis, real image files and a local SMTP server."""
from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from server.batches import keys
from server.batches.lifecycle import BatchBusy, delete_batch, delete_expired
from server.batches.notices import Notices
from server.batches.store import BatchNotFound
from server.config import Settings
from server.sheet.request import ImageRequest
from server.storage import make_storage
from server.storage.thumbnails import thumbnail
from testkit.fakes.smtp import FakeSMTP

OWNER = "ada@example.com"
DAY = 86400


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), "teal").save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def app_settings() -> dict:
    return {"retention_days": 1}  # a batch a day old is due for deletion


def made_batch(services, images: int = 2) -> str:
    """A batch whose images are all made, stored and thumbnailed."""
    batches = services.batches
    batch_id = batches.create({2: ImageRequest("a fox", "private", num_images=images)},
                              owner=OWNER, provider="preview", account="preview-account",
                              title="a fox")
    storage = make_storage(services.settings)
    for index in range(1, images + 1):
        assert batches.claim(batch_id, 2, index, "me") == "ok"
        stored = storage.save(batch_id, 2, index, "a fox", png(), seed=index, used_prompt="a fox")
        thumbnail(storage.path(batch_id, stored.name))
        batches.settle(batch_id, 2, index, "me", "done",
                       {"name": stored.name, "seed": index, "prompt": "a fox"})
    return batch_id


def leftover_keys(services, batch_id: str) -> list[bytes]:
    return list(services.redis.scan_iter(match=f"*{batch_id}*"))


def test_owner_deletes_a_batch_with_its_images_thumbnails_and_records(services):
    batch_id = made_batch(services)
    folder = make_storage(services.settings).batch_dir(batch_id)
    assert len(list((folder / ".thumbs").iterdir())) == 2
    services.redis.sadd(keys.BUDGETED_BATCHES, batch_id)

    delete_batch(services.batches, services.launcher, services.settings, batch_id)

    assert not folder.exists()
    assert leftover_keys(services, batch_id) == []
    assert services.batches.list_for(OWNER) == []
    assert not services.redis.sismember(keys.BUDGETED_BATCHES, batch_id)
    with pytest.raises(BatchNotFound):
        services.batches.get(batch_id)


def test_a_batch_with_an_image_in_the_making_is_stopped_not_deleted(services):
    batch_id = services.batches.create({2: ImageRequest("a fox", "private", num_images=2)},
                                       owner=OWNER, provider="preview",
                                       account="preview-account")
    assert services.batches.claim(batch_id, 2, 1, "worker") == "ok"
    with pytest.raises(BatchBusy):
        delete_batch(services.batches, services.launcher, services.settings, batch_id)
    status = services.batches.status(batch_id)
    assert status.status == "stopping" and status.images["stopped"] == 1


def test_retention_deletes_batches_older_than_the_setting(services):
    batch_id = made_batch(services)
    folder = make_storage(services.settings).batch_dir(batch_id)
    args = (services.batches, services.launcher, services.settings)
    assert delete_expired(*args, now=time.time() + DAY / 2) == []
    assert folder.exists()
    assert delete_expired(*args, now=time.time() + 1.5 * DAY) == [batch_id]
    assert not folder.exists() and leftover_keys(services, batch_id) == []


def test_retention_zero_keeps_everything(services):
    batch_id = made_batch(services)
    keep = Settings(data_dir=services.settings.data_dir, retention_days=0)
    assert delete_expired(services.batches, services.launcher, keep,
                          now=time.time() + 3650 * DAY) == []
    assert services.batches.get(batch_id)


def test_the_owner_is_mailed_when_a_batch_finishes(services):
    batch_id = made_batch(services)
    with FakeSMTP("mailer", "s3cret") as smtp:
        settings = Settings(smtp_url=f"smtp://mailer:s3cret@127.0.0.1:{smtp.port}",
                            mail_from="batches@example.org")
        Notices(settings).batch_finished(services.batches.status(batch_id))
        (message,) = smtp.messages
    assert message["To"] == OWNER and message["From"] == "batches@example.org"
    assert message["Subject"] == "Batch completed: a fox"
    assert "Rows: 1 done, 0 failed, 0 stopped, of 1." in message.get_content()


def test_a_mail_failure_is_logged_not_raised(services, caplog):
    batch_id = made_batch(services)
    with FakeSMTP("mailer", "s3cret") as smtp:
        settings = Settings(smtp_url=f"smtp://mailer:wrong@127.0.0.1:{smtp.port}")
        Notices(settings).batch_finished(services.batches.status(batch_id))
        assert smtp.messages == []
    assert "could not email the end of batch" in caplog.text
