"""`sheetbatch prompts`: a batch sheet written by a chat model from a design goal."""
from __future__ import annotations

import sys
from pathlib import Path

import click
import httpx
from rich.markup import escape

from server.config import Settings
from server.prompts.chat import ChatError
from server.prompts.writer import (
    OrderError,
    PromptOrder,
    check_order,
    estimate,
    price_text,
    write_prompts,
)
from server.services import Services
from server.sheet.columns import MAX_DATA_ROWS

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def _settings(pairs: tuple[str, ...]) -> dict[str, str]:
    settings = {}
    for pair in pairs:
        name, sign, value = pair.partition("=")
        if not sign or not name.strip():
            raise click.BadParameter(f"{pair!r}: write COLUMN=VALUE, e.g. aspect_ratio=1:1",
                                     param_hint="--set")
        settings[name.strip()] = value.strip()
    return settings


@click.command("prompts")
@click.option("--goal", required=True, help="What the images are for, in your words.")
@click.option("--rows", "count", required=True, type=click.IntRange(1, MAX_DATA_ROWS),
              help="How many rows (prompts) to write.")
@click.option("--example", "examples", multiple=True,
              help="A prompt that worked, whose language style to follow (repeatable).")
@click.option("--set", "pairs", multiple=True, metavar="COLUMN=VALUE",
              help="A setting for every row, e.g. --set aspect_ratio=1:1 (repeatable); "
                   "visibility is private unless set.")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path),
              help="Where to write the sheet: a .csv or .xlsx file.")
def prompts_command(goal: str, count: int, examples: tuple[str, ...], pairs: tuple[str, ...],
                    output: Path) -> None:
    """Write a batch sheet of prompts with a chat model (OpenAI-compatible)."""
    from server.cli.main import console, errors_console, print_report, read_or_exit
    from server.files.template import write_rows

    if output.suffix.lower() not in (".csv", ".xlsx"):
        _fail(errors_console, f"{output.name}: the sheet is written as .csv or .xlsx.")
    settings = Settings.from_env()
    services = Services(settings)
    order = PromptOrder(goal, count, examples, _settings(pairs))
    with httpx.Client() as http:
        try:
            chat = services.chat_client(http)
            check_order(order)
            before = estimate(order, chat.model, services.prices)
            console.print(f"Asking {chat.model} for {count} rows in {before.requests} "
                          f"request(s): about {before.input_tokens + before.output_tokens:,} "
                          f"tokens, about {price_text(before.price, before.currency)}.")
            written = write_prompts(order, chat, services.prices,
                                    services.capabilities(settings.provider),
                                    lambda done, total: console.print(f"  {done}/{total} rows"))
        except (OrderError, ChatError) as error:
            _fail(errors_console, str(error))
    write_rows(output, written.table)
    console.print(f"Wrote {output}: {len(written.table) - 1} rows. Used "
                  f"{written.usage_text(services.prices.currency)}.")
    checked = read_or_exit(output, None, settings, settings.provider)
    print_report(checked, settings.provider)
    sys.exit(EXIT_OK if checked.report.valid else EXIT_INVALID)


def _fail(console, message: str) -> None:
    console.print(f"[red]error:[/red] {escape(message)}")
    sys.exit(EXIT_USAGE)
