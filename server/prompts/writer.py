"""From a design goal, example prompts and fixed settings to N rows in the template's columns:
asked of the chat model in a few requests (BATCH_ROWS rows each), checked by the same validation
as any sheet, the rows that fail asked for again once, then reported."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from server.money.prices import PriceTable
from server.prompts.chat import ChatClient
from server.prompts.schema import TEXT_COLUMNS, response_format, written_columns
from server.sheet.capabilities import PREVIEW, Capabilities
from server.sheet.columns import (
    COLUMNS_BY_NAME,
    MAX_DATA_ROWS,
    MODELS_WITH_PALETTE,
    RATIOS_ONLY_3_0,
    STYLES_BY_MODEL,
)
from server.sheet.template import FULL_COLUMNS
from server.sheet.validation import Problem, Report, validate

BATCH_ROWS = 25  # rows per request: large N in a few requests, each answer well within limits
DEFAULT_VISIBILITY = "private"
# Estimates, from the answers this writer gets: about four characters a token, and a row of
# prompt and settings about 90 tokens. Reasoning models spend more; the after-figure is exact.
CHARS_PER_TOKEN = 4
OUTPUT_TOKENS_PER_ROW = 90
REMEMBERED_PROMPTS = 60  # earlier prompts shown to later requests, so they do not repeat
MAX_PROBLEMS_SHOWN = 25  # problems quoted when rows are asked for again


class OrderError(ValueError):
    """The request cannot be written as asked; one line saying what to change."""


@dataclass(frozen=True)
class PromptOrder:
    goal: str
    rows: int
    examples: tuple[str, ...] = ()
    settings: Mapping[str, str] = field(default_factory=dict)  # column → value for every row
    allowed: tuple[str, ...] | None = None  # the columns the model may fill (None: any)

    @property
    def fixed(self) -> dict[str, str]:
        """Every row's fixed settings: the person's, and visibility private unless they chose."""
        return {"visibility": DEFAULT_VISIBILITY} | dict(self.settings)

    @property
    def columns(self) -> tuple[str, ...]:
        """What the model writes for each row."""
        return written_columns(self.fixed, self.allowed)


@dataclass(frozen=True)
class Estimate:
    requests: int
    input_tokens: int
    output_tokens: int
    price: float | None  # None: the price table does not know the model
    currency: str


@dataclass
class Written:
    table: list[list[Any]]  # header + rows, ready to write
    report: Report
    records: list[dict[str, Any]] = field(default_factory=list)  # each row: column → value
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    asked_again: int = 0  # rows that failed validation and were asked for once more
    price: float | None = None

    def usage_text(self, currency: str) -> str:
        """What was asked and what it cost, in one line."""
        again = f", {self.asked_again} row(s) asked for again" if self.asked_again else ""
        return (f"{self.requests} request(s){again}: {self.input_tokens:,} input + "
                f"{self.output_tokens:,} output tokens, {price_text(self.price, currency)}")


def price_text(price: float | None, currency: str) -> str:
    """A few tokens cost fractions of a cent: four decimals."""
    if price is None:
        return "price unknown (the model is not in the price table)"
    return f"${price:.4f}" if currency == "USD" else f"{price:.4f} {currency}"


def check_order(order: PromptOrder) -> None:
    """Refuse, before any request, what cannot work: raises OrderError."""
    if not order.goal.strip():
        raise OrderError("Say what the prompts are for: --goal is empty.")
    if not 1 <= order.rows <= MAX_DATA_ROWS:
        raise OrderError(f"--rows must be between 1 and {MAX_DATA_ROWS} (one sheet's limit).")
    for name in order.settings:
        if name not in COLUMNS_BY_NAME:
            raise OrderError(f'--set {name}=…: "{name}" is not a column; use one of '
                             f"{', '.join(FULL_COLUMNS)}.")
        if name in TEXT_COLUMNS:
            raise OrderError(f"--set {name}=…: the model writes the {name}; describe it in --goal.")
    sample = validate([list(FULL_COLUMNS), _cells({"prompt": "a test"}, order.fixed)])
    for problem in sample.errors:
        raise OrderError(f"--set {problem.column}={problem.value}: {problem.message}")


def _cells(written: Mapping[str, Any], fixed: Mapping[str, str]) -> list[Any]:
    values = dict(written) | dict(fixed)
    return [values.get(name) for name in FULL_COLUMNS]


def batch_sizes(rows: int) -> list[int]:
    return [min(BATCH_ROWS, rows - start) for start in range(0, rows, BATCH_ROWS)]


def estimate(order: PromptOrder, model: str, prices: PriceTable) -> Estimate:
    """Tokens and price before anything is asked (the retry round is not counted)."""
    input_tokens = output_tokens = 0
    for size in batch_sizes(order.rows):
        messages = _messages(order, size, [], [])
        text = json.dumps(messages) + json.dumps(response_format(size, order.columns))
        input_tokens += len(text) // CHARS_PER_TOKEN
        output_tokens += size * OUTPUT_TOKENS_PER_ROW
    return Estimate(len(batch_sizes(order.rows)), input_tokens, output_tokens,
                    prices.tokens_price(model, input_tokens, output_tokens), prices.currency)


def per_request(rows: int, model: str, prices: PriceTable) -> Estimate:
    """What one request of `rows` rows costs, for the forms to say before anyone asks: the
    estimate of a goal of a few sentences and no examples."""
    return estimate(PromptOrder("A design goal of a few sentences. " * 4, rows), model, prices)


def write_prompts(order: PromptOrder, chat: ChatClient, prices: PriceTable,
                  capabilities: Capabilities = PREVIEW,
                  progress: Callable[[int, int], None] = lambda done, total: None) -> Written:
    """Ask for the rows, validate them, ask once more for those that fail."""
    check_order(order)
    written = Written(table=[], report=Report())
    rows: list[dict[str, Any]] = []
    for size in batch_sizes(order.rows):
        rows += _ask(order, size, chat, written, _messages(order, size, rows, []))[:size]
        progress(len(rows), order.rows)
    report = _validate(rows, order, capabilities)
    failing = _failing_rows(report, len(rows))
    missing = order.rows - len(rows)
    if failing or missing:
        problems = [p for p in report.errors if p.row is not None and p.row - 2 in failing]
        wanted = len(failing) + missing
        fresh: list[dict[str, Any]] = []
        for size in batch_sizes(wanted):  # asked again in requests of BATCH_ROWS too
            fresh += _ask(order, size, chat, written,
                          _messages(order, size, rows, problems))[:size]
        written.asked_again = wanted
        for index, row in zip(sorted(failing) + [None] * missing, fresh):
            if index is None:
                rows.append(row)
            else:
                rows[index] = row
        report = _validate(rows, order, capabilities)
    if len(rows) < order.rows:
        report.errors.insert(0, Problem(f"The model wrote {len(rows)} of the {order.rows} rows "
                                        "asked for, even when asked again."))
    written.records = [row | order.fixed for row in rows]
    written.table = [list(FULL_COLUMNS)] + [_cells(row, order.fixed) for row in rows]
    written.report = report
    written.price = prices.tokens_price(chat.model, written.input_tokens, written.output_tokens)
    return written


def _ask(order: PromptOrder, size: int, chat: ChatClient, written: Written,
         messages: list[dict[str, str]]) -> list[dict[str, Any]]:
    answer = chat.complete(messages, response_format(size, order.columns))
    written.requests += 1
    written.input_tokens += answer.input_tokens
    written.output_tokens += answer.output_tokens
    rows = answer.content.get("rows") if isinstance(answer.content, dict) else None
    # Only the columns asked for are taken, so a loose server's extra keys never reach the file.
    return [{name: row.get(name) for name in order.columns}
            for row in rows or [] if isinstance(row, dict)]


def _validate(rows: list[dict[str, Any]], order: PromptOrder,
              capabilities: Capabilities) -> Report:
    table = [list(FULL_COLUMNS)] + [_cells(row, order.fixed) for row in rows]
    return validate(table, capabilities)


def _failing_rows(report: Report, count: int) -> set[int]:
    """0-based indexes of the rows with an error (sheet row 2 is index 0)."""
    return {p.row - 2 for p in report.errors if p.row is not None and 0 <= p.row - 2 < count}


def _messages(order: PromptOrder, size: int, earlier: list[dict[str, Any]],
              problems: list[Problem]) -> list[dict[str, str]]:
    user = [order.goal.strip(), "", f"Write exactly {size} rows."]
    if order.examples:
        user += ["", "Follow the language style of these example prompts:"]
        user += [f"{number}- {example.strip()}" for number, example in
                 enumerate(order.examples, start=1)]
    if problems:
        user += ["", "These rows could not be used; write new rows that avoid these problems:"]
        user += [f"- {p.column}: {p.message} (was: {_start(p.value, 20)})"
                 for p in problems[:MAX_PROBLEMS_SHOWN]]
    if earlier:
        user += ["", "Already written (do not repeat these subjects):"]
        user += [f"- {_start(row.get('prompt'))}" for row in earlier[-REMEMBERED_PROMPTS:]]
    return [{"role": "system", "content": _instructions(order)},
            {"role": "user", "content": "\n".join(user)}]


def _start(prompt: Any, words: int = 10) -> str:
    return " ".join(str(prompt or "").split()[:words])


def _instructions(order: PromptOrder) -> str:
    """What the model must know of our column rules, from the rules themselves."""
    fixed = order.fixed
    lines = [
        "You write prompts for an AI image generator. Each row you write becomes one image "
        "request in a batch; answer with JSON in the given schema.",
        "Every prompt is one self-contained description of a single picture: subject, setting, "
        "composition, style and any text to render in quotes. Make the rows varied: no two "
        "prompts share a subject. Do not use curly braces.",
    ]
    if "negative_prompt" in order.columns:
        lines.append("negative_prompt: keywords separated by commas, or null unless the goal "
                     "asks for it.")
    chosen = [name for name in order.columns if name not in TEXT_COLUMNS]
    if chosen:
        lines.append("For " + ", ".join(chosen) + ": null keeps the default; choose a value "
                     "only where the goal asks for it. Rules: aspect ratios "
                     f"{', '.join(RATIOS_ONLY_3_0)} and rendering quality need model 3.0; "
                     f"with model 3.0 the styles are {', '.join(STYLES_BY_MODEL['3.0'])}; "
                     f"colour palettes need model {', '.join(MODELS_WITH_PALETTE)}.")
    lines.append("Every row uses these settings, so write prompts that suit them: "
                 + ", ".join(f"{name}={value}" for name, value in fixed.items()) + ".")
    return "\n".join(lines)
