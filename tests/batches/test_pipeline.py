"""The generation pipeline with real parts: Redis server, RQ worker processes, the image-API fake
over HTTP. Faults are real too: SIGKILL, injected 429/5xx/422, stop/resume/retry."""
from __future__ import annotations

import pytest
from rq import Queue

from server.batches.launcher import Launcher
from server.batches.queue import SHARED_QUEUE
from server.config import Settings
from server.generation.providers import account_id
from server.money.budget import Budgets
from server.money.prices import PriceTable
from server.sheet.request import ImageRequest
from server.sheet.validation import Report
from server.storage import LocalStorage
from testkit.processes import wait_for

SETTLED_BATCH = ("completed", "completed_with_errors", "failed", "stopped")


def rows(count: int, images: int = 1, prompt: str = "a lighthouse", **settings) -> dict:
    return {row: ImageRequest(prompt=f"{prompt} {row}", visibility="private", model="3.0",
                              num_images=images, seed_number=row * 10, **settings)
            for row in range(2, count + 2)}


def start(batches, requests, tmp_path, account, provider="ideogram") -> str:
    return batches.create(requests, owner="alice", provider=provider, account=account(provider),
                          storage_root=str(tmp_path / "store"))


def settled(batches, batch_id, timeout=60):
    return wait_for(lambda: (s := batches.status(batch_id)).status in SETTLED_BATCH and s,
                    timeout=timeout, what="the batch to settle")


def test_batch_completes_and_pays_once_per_image(batches, workers, image_api, tmp_path, account):
    batch_id = start(batches, rows(6, images=2), tmp_path, account)
    workers.start(3)
    status = settled(batches, batch_id)
    assert status.status == "completed"
    assert status.counts == {"total": 6, "done": 6, "failed": 0, "stopped": 0, "pending": 0}
    stats = image_api.stats()
    assert stats["generated"] == 12 and stats["duplicate_generations"] == []
    stored = LocalStorage(tmp_path / "store").list(batch_id)
    assert [(image.row, image.index) for image in stored] == [
        (row, index) for row in range(2, 8) for index in (1, 2)]
    row = status.rows[2]
    assert row.seeds == "20, 21"  # each image of a seeded row gets its own seed
    assert row.used_prompt and row.used_prompt != "a lighthouse 2"  # magic prompt rewrote it


def test_redelivered_job_never_pays_twice(batches, redis_conn, workers, image_api, tmp_path,
                                          account):
    batch_id = start(batches, rows(1), tmp_path, account)
    # RQ delivers at least once: the same image job arriving twice must call the API once.
    duplicate = Queue(SHARED_QUEUE, connection=redis_conn).enqueue(
        "workers.jobs.generate_image", batch_id, 2, 1)
    workers.start(2)
    assert settled(batches, batch_id).status == "completed"
    wait_for(lambda: duplicate.get_status(refresh=True) == "finished", timeout=30,
             what="the duplicate job to run to its end")
    assert image_api.stats()["generated"] == 1


def test_killed_worker_leaves_its_image_and_its_slot_to_another(batches, workers, image_api,
                                                                tmp_path, account):
    image_api.configure(latency=4.0)
    batch_id = start(batches, rows(2), tmp_path, account)
    # One call in flight at a time: the dead worker's slot must free itself too.
    [victim] = workers.start(1, SHEETBATCH_PROVIDER_CONCURRENCY="1")
    wait_for(lambda: "generating" in batches.states(batch_id).values(), what="a job to start")
    wait_for(lambda: image_api.stats()["in_flight"] == 1, what="the call to the image API")
    workers.kill(victim)
    image_api.configure(latency=0.2)
    workers.start(1, SHEETBATCH_PROVIDER_CONCURRENCY="1")
    status = settled(batches, batch_id, timeout=60)
    assert status.status == "completed"
    assert [row.status for row in status.rows.values()] == ["done", "done"]


def test_transient_errors_are_retried(batches, workers, image_api, tmp_path, account):
    image_api.configure(rate_limit_every=3, retry_after="1", server_error_every=4)
    batch_id = start(batches, rows(6), tmp_path, account)
    workers.start(2)
    status = settled(batches, batch_id, timeout=90)
    assert status.status == "completed"
    stats = image_api.stats()
    assert stats["responses_by_status"].get("429") and stats["responses_by_status"].get("503")
    assert stats["generated"] == 6 and stats["duplicate_generations"] == []


def test_permanent_errors_fail_the_row_with_the_reason(batches, workers, image_api, tmp_path,
                                                       account):
    requests = rows(3)
    requests[3] = ImageRequest(prompt="an UNSAFE thing", visibility="private", model="3.0",
                               num_images=1)
    batch_id = start(batches, requests, tmp_path, account)
    workers.start(2)
    status = settled(batches, batch_id)
    assert status.status == "completed_with_errors"
    assert status.rows[3].status == "failed"
    assert "safety" in status.rows[3].error.lower()
    assert [status.rows[row].status for row in (2, 4)] == ["done", "done"]
    assert image_api.stats()["calls_by_endpoint"].get("ideogram-v3") == 3


def test_wrong_key_fails_rows_then_retry_failed_completes(batches, workers, image_api, tmp_path,
                                                          account):
    wrong = Settings(ideogram_api_key="not-the-key")
    batch_id = start(batches, rows(2), tmp_path, lambda name: account_id(name, wrong))
    [worker] = workers.start(1, IDEOGRAM_API_KEY="not-the-key")
    status = settled(batches, batch_id)
    assert status.status == "failed"
    assert all("not-the-key" not in row.error for row in status.rows.values())
    workers.kill(worker)
    workers.start(1)
    assert batches.retry_failed(batch_id, account("ideogram")) == 2
    assert settled(batches, batch_id).status == "completed"


def test_a_batch_pays_only_with_its_own_account(batches, workers, image_api, tmp_path, account):
    # A worker holding another key (an orphan of an old run, a rotated key) never takes the
    # batch's images: every call reaches the API with the batch's key, none is refused.
    workers.start(2, IDEOGRAM_API_KEY="an-old-key")
    batch_id = start(batches, rows(4), tmp_path, account)
    workers.start(1)
    assert settled(batches, batch_id).status == "completed"
    stats = image_api.stats()
    assert stats["generated"] == 4 and "401" not in stats["responses_by_status"]


def test_stop_keeps_finished_images_and_resume_makes_only_the_rest(batches, workers, image_api,
                                                                   tmp_path, account):
    image_api.configure(latency=0.6)
    batch_id = start(batches, rows(12), tmp_path, account)
    workers.start(2)
    wait_for(lambda: batches.status(batch_id).counts["done"] >= 2, what="two rows done")
    batches.stop(batch_id)
    assert batches.status(batch_id).status in ("stopping", "stopped")
    status = settled(batches, batch_id)
    assert status.status == "stopped"
    counts = status.counts
    assert counts["stopped"] > 0 and counts["done"] >= 2
    assert sum(counts[name] for name in ("done", "failed", "stopped", "pending")) == counts["total"]
    assert len(LocalStorage(tmp_path / "store").list(batch_id)) == counts["done"]

    assert batches.resume(batch_id) == counts["stopped"]
    assert settled(batches, batch_id).status == "completed"
    stats = image_api.stats()
    assert stats["generated"] == 12 and stats["duplicate_generations"] == []


def test_concurrency_limit_holds_across_workers(batches, workers, image_api, tmp_path, account):
    image_api.configure(latency=0.4)
    batch_id = start(batches, rows(10), tmp_path, account)
    workers.start(2, per_process=2, SHEETBATCH_PROVIDER_CONCURRENCY="2")
    assert settled(batches, batch_id).status == "completed"
    assert image_api.stats()["max_in_flight"] == 2


def test_stop_during_a_retry_wait_makes_no_further_call(batches, workers, image_api, tmp_path,
                                                        account):
    image_api.configure(rate_limit_every=1, retry_after="3")  # every call: 429, wait 3 s
    batch_id = start(batches, rows(1), tmp_path, account)
    workers.start(1)
    wait_for(lambda: image_api.stats()["calls"] >= 1, what="the first call")
    batches.stop(batch_id)
    status = settled(batches, batch_id, timeout=30)
    assert status.status == "stopped" and status.rows[2].status == "stopped"
    assert image_api.stats()["calls"] == 1
    image_api.configure(rate_limit_every=0)
    batches.resume(batch_id)
    assert settled(batches, batch_id).status == "completed"


def test_billing_refusal_pauses_the_batch_once(batches, workers, image_api, tmp_path):
    """OpenAI's 429 insufficient_quota is billing, not a rate limit: no retry, no hammering, no
    row at fault: the batch pauses, and resuming once there is credit makes every image."""
    image_api.configure(insufficient_quota=True)
    openai = Settings(openai_api_key=image_api.api_key)
    batch_id = start(batches, rows(6, images=2), tmp_path,
                     lambda name: account_id(name, openai), provider="openai")
    openai_env = dict(OPENAI_API_KEY=image_api.api_key, OPENAI_BASE_URL=image_api.openai_url,
                      OPENAI_IMAGE_MODEL="dall-e-3")
    workers.start(1, **openai_env)
    status = settled(batches, batch_id)
    assert status.status == "stopped" and status.counts["failed"] == 0
    assert status.counts["stopped"] == 6
    assert "no credit left (insufficient_quota)" in status.paused
    assert status.paused.count(".") == 2  # one line: the cause, then what happens now
    assert image_api.stats()["calls"] == 1  # one refusal paused the batch
    assert image_api.stats()["generated"] == 0
    image_api.configure(insufficient_quota=False)
    assert batches.resume(batch_id) == 12
    status = settled(batches, batch_id)
    assert status.status == "completed" and status.paused is None
    assert image_api.stats()["billed"] == 12


def test_a_daily_limit_pauses_the_batch_and_resume_makes_exactly_the_rest(
        batches, workers, image_api, tmp_path, account):
    """Ideogram's 402 (insufficient_funds / daily_limit) is not billed and no row's fault: the
    batch pauses with one line, pays nothing more, and Resume makes exactly what is left."""
    image_api.configure(daily_limit_images=5, latency=0.1)
    batch_id = start(batches, rows(12), tmp_path, account)
    workers.start(2)
    status = settled(batches, batch_id)
    assert status.status == "stopped" and status.counts["failed"] == 0
    assert status.images["done"] == 5 and status.images["stopped"] == 7
    assert status.paused.startswith("The Ideogram account reached its daily limit (daily_limit)")
    assert "nothing more is paid" in status.paused and "\n" not in status.paused
    assert status.compact()["paused"] == status.paused == status.as_dict()["paused"]
    refusals = image_api.stats()["responses_by_status"]["402"]
    assert refusals <= 2  # each worker met it at most once: nothing hammers a closed account
    image_api.configure(daily_limit_images=None)  # the next day
    assert batches.resume(batch_id) == 7
    status = settled(batches, batch_id)
    assert status.status == "completed" and status.paused is None
    stats = image_api.stats()
    assert stats["billed"] == 12 and stats["duplicate_generations"] == []


def test_a_withheld_image_fails_its_row_billed_and_counts_in_spend(
        batches, redis_conn, workers, image_api, tmp_path, account):
    requests = rows(3)
    requests[3] = ImageRequest(prompt="a WITHHELD harbour", visibility="private", model="3.0",
                               num_images=1)
    budgets = Budgets(redis_conn, monthly_limit=50)
    launcher = Launcher(redis_conn, batches, budgets, PriceTable.load(), account)
    batch_id = launcher.launch(Report(rows=requests, row_count=3, images=3), "alice", "ideogram",
                               "withheld")
    workers.start(1)
    status = settled(batches, batch_id)
    assert status.rows[3].status == "failed"
    assert status.rows[3].error == ("Image withheld by the provider's safety check (billed) — "
                                    "reword the prompt.")
    assert not status.rows[3].retryable  # the same prompt would be withheld (and billed) again
    launcher.settle(batch_id)
    assert image_api.stats()["billed"] == 3
    assert budgets.state("alice").spent == pytest.approx(3 * 0.06)  # the withheld one too


def test_concurrency_finds_the_accounts_real_limit_in_a_few_refusals(
        batches, workers, image_api, tmp_path, account):
    """The organization allows fewer images in flight than we are set for (another app holds
    the rest): a few inflight_limit refusals, then calls wait their turn instead of a storm."""
    image_api.configure(others_in_flight=8, latency=0.3)  # 2 of the 10 places are ours
    batch_id = start(batches, rows(30), tmp_path, account)
    workers.start(2, per_process=3, SHEETBATCH_PROVIDER_CONCURRENCY="8")
    status = settled(batches, batch_id, timeout=120)
    assert status.status == "completed"
    stats = image_api.stats()
    assert stats["billed"] == 30 and stats["duplicate_generations"] == []
    # 6 workers against 2 places: each refusal lowers our limit by one, so at most 4 refusals
    # before calls wait for a place (the cap lasts a minute: this batch takes less).
    assert stats["responses_by_status"].get("429", 0) <= 4


def test_an_answer_lost_after_billing_is_retried_and_paid_again(batches, workers, image_api,
                                                                 tmp_path, account):
    """Neither API has an idempotency key: a generation whose answer is lost is billed, and the
    retry that makes the image is billed again. The fake counts it; the batch still completes."""
    image_api.configure(lost_every=2)
    batch_id = start(batches, rows(2), tmp_path, account)
    workers.start(1)
    assert settled(batches, batch_id).status == "completed"
    stats = image_api.stats()
    assert stats["paid_but_lost"] >= 1
    assert stats["generated"] == 2 + stats["paid_but_lost"]  # what the account was charged for
