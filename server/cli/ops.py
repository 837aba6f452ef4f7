"""For the operator: what `serve` and `worker` say when they start, `sheetbatch admin …`, and
waiting for Redis (in a Procfile or compose file, Redis may still be starting)."""
from __future__ import annotations

import json
import logging
import re
import time

import click
import redis
from rich.console import Console
from rich.table import Table as RichTable

from server import logs
from server.cli.embedded_redis import redis_url
from server.config import Settings
from server.providers import available_providers
from server.services import Services, connect
from server.storage import make_storage
from server.version import package_version

log = logging.getLogger("sheetbatch.start")
REDIS_WAIT_SECONDS = 60.0
ADMIN_REDIS_WAIT_SECONDS = 3.0


def announce(role: str, settings: Settings, url: str, **details) -> None:
    """One start-up line: what runs, where it listens, what it uses — never a key."""
    storage = make_storage(settings).describe()
    providers = list(available_providers(settings))
    facts = {"role": role, "version": package_version(), "commit": settings.commit,
             "node": settings.node, "redis": logs.safe_url(url), "storage": storage,
             "providers": providers, "default_provider": settings.provider, **details}
    said = {name: ", ".join(value) if isinstance(value, list) else value
            for name, value in facts.items()
            if name not in ("role", "version") and value not in (None, "")}
    log.info("sheetbatch %s %s: %s", role, facts["version"],
             "; ".join(f"{name} {value}" for name, value in said.items()), extra=facts)


def wait_for_redis(url: str, timeout: float = REDIS_WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    connection = connect(url)
    while True:
        try:
            connection.ping()
            return
        except (redis.ConnectionError, redis.TimeoutError, OSError) as error:
            if time.monotonic() > deadline:
                raise click.ClickException(
                    f"Redis at {logs.safe_url(url)} did not answer for {timeout:.0f}s: {error}")
            time.sleep(0.5)


# -- sheetbatch admin ---------------------------------------------------------------------------

@click.group()
def admin() -> None:
    """Look after a running deployment (REDIS_URL): spending, the queue, retention."""


def _month(context, parameter, value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise click.BadParameter(f"{value!r} is not a month written YYYY-MM, such as 2026-03.")
    return value


@admin.command("spend")
@click.option("--month", callback=_month, help="YYYY-MM; every month when omitted.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of a table.")
def spend_command(month: str | None, as_json: bool) -> None:
    """What each person spent and has reserved, per month."""
    settings = Settings.from_env()
    with redis_url(settings) as url:
        wait_for_redis(url, timeout=ADMIN_REDIS_WAIT_SECONDS)
        services = Services(settings, url)
        rows = services.budgets.spending(month)
    if as_json:
        click.echo(json.dumps({"spending": [
            {"person": owner, "month": key_month, **state.as_dict()}
            for owner, key_month, state in rows]}))
        return
    table = RichTable("month", "person", "spent", "reserved", "limit", "available")
    for owner, key_month, state in rows:
        table.add_row(key_month, owner, f"{state.spent:.2f}", f"{state.reserved:.2f}",
                      f"{state.limit:.2f}", f"{state.available:.2f} {state.currency}")
    Console(highlight=False).print(table if rows else "Nobody has spent anything yet.")


@admin.command("queue")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of lines.")
def queue_command(as_json: bool) -> None:
    """How many images wait, are being made or failed, and which workers are alive."""
    from rq import Worker

    from server.batches import keys
    from server.batches.queue import BatchQueue

    settings = Settings.from_env()
    with redis_url(settings) as url:
        wait_for_redis(url, timeout=ADMIN_REDIS_WAIT_SECONDS)
        connection = connect(url)
        queues = BatchQueue(connection, settings.outage_deadline).every_queue()
        workers = Worker.all(connection=connection)
        facts = {"queued": sum(queue.count for queue in queues),
                 "running": sum(queue.started_job_registry.count for queue in queues),
                 "failed_jobs": sum(queue.failed_job_registry.count for queue in queues),
                 "active_batches": connection.scard(keys.ACTIVE_BATCHES),
                 "workers": sorted(worker.name for worker in workers),
                 "busy_workers": sum(worker.get_state() == "busy" for worker in workers)}
    if as_json:
        click.echo(json.dumps(facts))
        return
    for name, value in facts.items():
        click.echo(f"{name.replace('_', ' ')}: "
                   f"{', '.join(value) or '—' if isinstance(value, list) else value}")


@admin.command("purge")
@click.option("--older-than", "days", required=True, type=click.FloatRange(min=0),
              help="Days: finished batches created longer ago than this are removed.")
@click.option("--yes", is_flag=True, help="Remove them; without it, only list what would go.")
def purge_command(days: float, yes: bool) -> None:
    """Retention: remove finished batches (their images and their records) older than N days.

    Images of `sheetbatch run` batches live in that run's --out folder and are left alone.
    Links to removed images stop working, in sheets too. Spending records are kept."""
    from server.batches.lifecycle import delete_batch

    settings = Settings.from_env()
    with redis_url(settings) as url:
        wait_for_redis(url, timeout=ADMIN_REDIS_WAIT_SECONDS)
        services = Services(settings, url)
        batches = services.batches
        old = [batch_id for batch_id in batches.created_before(time.time() - days * 86400)
               if batches.status(batch_id).finished]
        for batch_id in old:
            batch = batches.get(batch_id)
            click.echo(f"{'removing' if yes else 'would remove'} {batch_id} "
                       f"({batch.owner}, {batch.title!r})")
            if yes:
                delete_batch(batches, services.launcher, settings, batch_id)
    click.echo(f"{len(old)} finished batch(es) older than {days:g} days"
               f"{' removed' if yes else '; run again with --yes to remove them'}.")
