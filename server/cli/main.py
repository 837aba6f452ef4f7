"""The `sheetbatch` command line."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import unicodedata
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from server import logs
from server.cli.embedded_redis import redis_url
from server.cli.ops import admin, announce, wait_for_redis
from server.cli.prompts import prompts_command
from server.cli.run import EXIT_LOST, RunError, RunOptions, run_batch
from server.config import Settings
from server.files import UnreadableFile
from server.files.check import CheckedFile, check_file
from server.files.template import write_template
from server.files.workbook import WorkbookGrid
from server.generation.providers import make_provider
from server.money.cost import shown_cost
from server.providers import FALLBACK_PROVIDER, PROVIDER_NAMES
from server.services import Services
from server.sheet.validation import listed
from workers.start import run_workers

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2
GUNICORN_CONFIG = "python:server.web.gunicorn_conf"  # package data: works from an installed wheel

console = Console(highlight=False)
errors_console = Console(stderr=True, highlight=False)


@click.group()
def main() -> None:
    """Bulk AI image generation from a spreadsheet."""


SHEET_HELP = "The sheet (tab) to read; by default the one with a prompt header (else the first)."


def read_or_exit(path: Path, sheet: str | None, settings: Settings, provider: str) -> CheckedFile:
    """The file checked for `provider` (its limits add warnings); exits 2 if unreadable."""
    services = Services(settings)
    if sheet is not None and path.suffix.lower() == ".csv":
        fail(f"{path.name} is a CSV file, which has a single sheet: leave out --sheet.",
             EXIT_UNREADABLE)
    try:
        return check_file(path, sheet, settings, services.prices, services.capabilities(provider))
    except (UnreadableFile, ValueError) as error:
        errors_console.print(f"[red]error:[/red] {error}")
        sys.exit(EXIT_UNREADABLE)


@main.command("validate")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--sheet", help=SHEET_HELP)
@click.option("--provider", type=click.Choice(PROVIDER_NAMES),
              help="Check for this image service (its limits add warnings); default as for run.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option("--annotate", type=click.Path(path_type=Path),
              help="Write a copy of the workbook (.xlsx) with each problem cell marked.")
def validate_command(file: Path, sheet: str | None, provider: str | None, as_json: bool,
                     annotate: Path | None) -> None:
    """Check FILE (.csv, .xls or .xlsx) against the batch sheet rules."""
    settings = Settings.from_env()
    if annotate is not None:
        writable_or_exit(annotate, ".xlsx")
    checked = read_or_exit(file, sheet, settings, provider or settings.provider)
    if annotate:
        save_annotated(checked, annotate)
    if as_json:
        click.echo(json.dumps(checked.report.as_dict(checked.cost.as_dict()), ensure_ascii=False,
                              default=str))
    else:
        print_source(checked)
        print_report(checked, provider or settings.provider)
    sys.exit(EXIT_OK if checked.report.valid else EXIT_INVALID)


def writable_or_exit(path: Path, suffix: str) -> None:
    """Stop with one line (exit 2) before any work when `path` cannot be written as asked."""
    if path.suffix.lower() != suffix:
        fail(f"{path} must end in {suffix} (the marked copy is an Excel workbook).",
             EXIT_UNREADABLE)
    if path.is_dir():
        fail(f"{path} is a folder; give a file name ending in {suffix}.", EXIT_UNREADABLE)
    if not path.parent.is_dir():
        fail(f"There is no folder {path.parent}; create it first, or choose another place.",
             EXIT_UNREADABLE)


def folder_or_exit(path: Path) -> None:
    """Stop with one line (exit 2) unless --out is a folder, or one that can be made (it is
    made only when something goes into it: a refused run leaves nothing behind)."""
    if path.exists() and not path.is_dir():
        fail(f"{path} is a file, not a folder; choose a folder for the results.", EXIT_UNREADABLE)
    existing = next(folder for folder in (path.absolute(), *path.absolute().parents)
                    if folder.exists())
    if not existing.is_dir():
        fail(f"Could not create the folder {path}: {existing} is a file.", EXIT_UNREADABLE)
    if not os.access(existing, os.W_OK | os.X_OK):
        if existing == path.absolute():
            fail(f"{path} cannot be written: make it writable (or choose another --out) and run "
                 "the same command again.", EXIT_UNREADABLE)
        fail(f"Could not create the folder {path}: {existing} cannot be written.",
             EXIT_UNREADABLE)


def make_folder_or_exit(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        fail(f"Could not create the folder {path}: {error.strerror}.", EXIT_UNREADABLE)


def save_annotated(checked: CheckedFile, path: Path) -> None:
    grid = WorkbookGrid(checked.path, checked.table)
    grid.mark(checked.report)
    try:
        grid.save(path)
    except OSError as error:
        fail(f"Could not write {path}: {error.strerror}.", EXIT_UNREADABLE)


def print_source(checked: CheckedFile) -> None:
    """Which tab of a workbook was read (the one holding the prompt header, or --sheet)."""
    if len(checked.table.sheets) > 1:
        others = [name for name in checked.table.sheets if name != checked.table.title]
        console.print(Text(f'Read the sheet "{checked.table.title}" of {checked.path.name} '
                           f"(also in it: {', '.join(others)}; choose one with --sheet NAME)."))


def print_report(checked: CheckedFile, provider: str) -> None:
    """The size and cost, the problems by cell, then the verdict (both lines are the Report's
    own words, as on the web and in the sidebar; the cost is money/'s)."""
    report = checked.report
    summary = report.summary
    cost = shown_cost(checked.cost.total, checked.cost.currency, provider)
    console.print(Text(f"{summary.size}, estimated cost {cost}"))
    if report.errors or report.warnings:
        table = RichTable("", "cell", "column", "value", "problem", show_lines=False)
        for kind, style, problems in (("error", "red", report.errors),
                                      ("warning", "yellow", report.warnings)):
            for problem in listed(problems, f"{kind}s"):
                table.add_row(f"[{style}]{kind}[/{style}]", problem.cell or "—",
                              printable(problem.column or "—"), printable(_short(problem.value)),
                              printable(problem.message))
        console.print(table)
    console.print(Text(f"{summary.verdict}.", style="green" if report.valid else "red"))


def printable(text: str) -> Text:
    """Cell text as plain text for the terminal: control characters (escape sequences that could
    clear the screen or retitle the window, bidi overrides) shown as \ufffd, brackets not read
    as rich markup."""
    return Text("".join("\ufffd" if unicodedata.category(ch) in ("Cc", "Cf") else ch
                        for ch in text))


def _short(value) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 30 else text[:29] + "…"


@main.command("template")
@click.option("--full", is_flag=True, help="Every column, not just the ones most people need.")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path),
              help="Where to write it: a .csv or .xlsx file.")
@click.option("--force", is_flag=True, help="Replace OUTPUT if it already exists.")
def template_command(full: bool, output: Path, force: bool) -> None:
    """Write a template sheet with example rows."""
    if output.exists() and not force:
        fail(f"{output} already exists (it may be a filled sheet); choose another name, or add "
             "--force to replace it.", EXIT_UNREADABLE)
    if not output.parent.is_dir():
        fail(f"There is no folder {output.parent}; create it first, or choose another place.",
             EXIT_UNREADABLE)
    try:
        write_template(output, full)
    except ValueError as error:
        fail(str(error), EXIT_UNREADABLE)
    except OSError as error:
        fail(f"Could not write {output}: {error.strerror}.", EXIT_UNREADABLE)
    console.print(f"Wrote {output}")


@main.command("run")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Folder for the results workbook, the images and images.zip.")
@click.option("--sheet", help=SHEET_HELP)
@click.option("--provider", type=click.Choice(PROVIDER_NAMES),
              help=f"Image service; '{FALLBACK_PROVIDER}' (free placeholders) when no API key is "
                   "set.")
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes to start.")
@click.option("--yes", is_flag=True, help="Spend without asking (for scripts).")
@click.option("--max-cost", type=click.FloatRange(min=0), metavar="USD",
              help="Refuse to start when the run would cost more.")
@click.option("--retry-failed/--no-retry-failed", default=True, show_default=True,
              help="Make again images that failed last time for a passing reason (outages, "
                   "crashes); refusals are kept either way.")
def run_command(file: Path, out: Path, sheet: str | None, provider: str | None, workers: int,
                yes: bool, max_cost: float | None, retry_failed: bool) -> None:
    """Validate FILE, generate every image, and write the results into --out."""
    settings = Settings.from_env()
    options = RunOptions(out=out, provider=provider or settings.provider, workers=workers,
                         yes=yes, max_cost=max_cost, retry_failed=retry_failed,
                         confirm=_ask if sys.stdin.isatty() else None)
    checked = read_or_exit(file, sheet, settings, options.provider)
    print_source(checked)
    try:
        make_provider(options.provider, settings)  # a missing API key stops us before any work
    except ValueError as error:
        fail(str(error), EXIT_UNREADABLE)
    folder_or_exit(out)
    if not checked.report.valid:
        make_folder_or_exit(out)
        annotated = out / f"{file.stem}-checked.xlsx"
        save_annotated(checked, annotated)
        print_report(checked, options.provider)
        console.print(f"Nothing was generated. The marked copy is {annotated}.")
        sys.exit(EXIT_INVALID)
    for warning in checked.report.warnings:
        console.print(Text.assemble(("warning", "yellow"), f" {warning.cell or ''} ",
                                    printable(warning.message)))
    try:
        result = run_batch(checked, options, settings)
    except RunError as error:
        fail(str(error), error.exit_code)
    except KeyboardInterrupt:
        # Only before the batch starts (from then on a signal asks for the clean stop).
        fail("Stopped; nothing more was generated. Run the same command again to finish.", 130)
    counts = result.status.counts
    console.print(f"Batch {result.status.status}: {counts['done']} of {counts['total']} rows "
                  f"done, {counts['failed']} failed, {counts['stopped']} stopped. Results in "
                  f"{out}/")
    if result.paused:
        fail(result.paused, EXIT_LOST)
    sys.exit(EXIT_OK if counts["done"] == counts["total"] else EXIT_INVALID)


def _ask(question: str) -> bool:
    return click.confirm(question, default=False)


def fail(message: str, code: int) -> None:
    """End with one readable line, never a traceback (the terminal wraps it, not us: a script
    reading our error gets it whole)."""
    errors_console.print(f"[red]error:[/red] {message}", soft_wrap=True)
    sys.exit(code)


@main.command("worker")
@click.option("-n", "--count", type=click.IntRange(1, 256),
              help="Worker processes to run (default: SHEETBATCH_WORKERS, 1).")
def worker_command(count: int | None) -> None:
    """Run RQ workers for the batch queue (REDIS_URL, or the embedded Redis)."""
    settings = Settings.from_env()
    count = count or settings.workers
    logs.setup(settings)
    with redis_url(settings) as url:
        wait_for_redis(url)
        announce("worker", settings, url, processes=count)
        run_workers(url, count)


@main.command("serve")
@click.option("--host", help="Address to listen on (default: from SHEETBATCH_BIND, 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default: from SHEETBATCH_BIND, 8000).")
def serve_command(host: str | None, port: int | None) -> None:
    """Run the web API under gunicorn (config: server/web/gunicorn_conf.py)."""
    settings = Settings.from_env()
    logs.setup(settings)
    if not settings.single_user_mode and not settings.public_url:
        # Links we hand out (into sheets, emails, the sidebar) would follow any Host a request
        # names; and Google's sign-in needs one fixed address to post back to.
        raise click.UsageError("A server that people sign in to needs SHEETBATCH_PUBLIC_URL, the "
                               "address they reach it at (https://…).")
    bind_host, _, bind_port = settings.bind.rpartition(":")
    bind = f"{host or bind_host}:{port or bind_port}"
    with redis_url(settings) as url:
        wait_for_redis(url)
        # One plain line a person at a terminal reads first; the JSON lines after it are for
        # log collectors, and where only they read (a pipe, honcho, systemd) every line is JSON.
        if sys.stdout.isatty():
            click.echo(f"sheetbatch is serving: open {browser_url(settings, bind)} "
                       "(Ctrl-C stops it)")
        announce("web", settings, url, listening=f"http://{bind}",
                 public_url=settings.public_url, trusted_proxies=settings.trusted_proxies,
                 processes=settings.web_processes, threads=settings.web_threads)
        # The app learns where it listens (single-user mode depends on it).
        env = dict(os.environ, REDIS_URL=url, SHEETBATCH_BIND=bind)
        command = [sys.executable, "-m", "gunicorn", "-c", GUNICORN_CONFIG, "-b", bind,
                   "server.web.app:create_app()"]
        sys.exit(run_until_signalled(command, env))


main.add_command(admin)
main.add_command(prompts_command)


def browser_url(settings: Settings, bind: str) -> str:
    """Where a person opens the web app: the public address, else the bound one (an address
    that listens everywhere is opened as this machine's own)."""
    if settings.public_url:
        return settings.public_url.rstrip("/") + "/"
    host, _, port = bind.rpartition(":")
    if host in ("0.0.0.0", "", "::", "[::]"):
        host = "127.0.0.1"
    return f"http://{host}:{port}/"


def run_until_signalled(command: list[str], env: dict[str, str]) -> int:
    """Run a child process, passing SIGTERM/SIGINT on to it, so stopping us stops it too."""
    child = subprocess.Popen(command, env=env)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda signum, _frame: child.send_signal(signum))
    return child.wait()
