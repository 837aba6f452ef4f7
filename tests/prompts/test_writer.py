"""The prompt writer against the strict chat fake over real HTTP: a few requests for many rows,
rows that fail validation asked for once more, then reported; tokens and their price."""
from __future__ import annotations

import dataclasses
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

from server.config import Settings
from server.money.prices import PriceTable
from server.prompts.chat import ChatError
from server.prompts.writer import (
    BATCH_ROWS,
    OrderError,
    PromptOrder,
    check_order,
    estimate,
    write_prompts,
)
from server.services import Services
from server.sheet.template import FULL_COLUMNS

PRICES = PriceTable.load()
FIXED = {"aspect_ratio": "1:1", "style": "design", "model": "3.0"}


@pytest.fixture
def chat(chat_api):
    settings = Settings(openai_api_key=chat_api.api_key, openai_base_url=chat_api.url)
    with httpx.Client() as http:
        # Retries after a 5xx (no Retry-After) wait 10 ms, not seconds.
        yield dataclasses.replace(Services(settings).chat_client(http), backoff=0.01)


def order(rows=12, **changes):
    return PromptOrder(**({"goal": "Christmas stickers for kids.", "rows": rows,
                           "examples": ("A sticker design of a sleepy owl on a book.",),
                           "settings": FIXED} | changes))


def column(written, name):
    index = written.table[0].index(name)
    return [row[index] for row in written.table[1:]]


def test_many_rows_in_a_few_requests_every_setting_in_its_column(chat, chat_api):
    written = write_prompts(order(rows=60), chat, PRICES)
    assert written.report.valid, [p.as_dict() for p in written.report.errors]
    assert written.table[0] == list(FULL_COLUMNS) and len(written.table) == 61
    assert written.requests == len(chat_api.requests()) == 3  # 25 + 25 + 10
    assert set(column(written, "model")) == {"3.0"} and set(column(written, "style")) == {"design"}
    assert set(column(written, "visibility")) == {"private"}
    assert len(set(column(written, "prompt"))) == 60
    sent = chat_api.requests()[0]
    assert sent["response_format"]["json_schema"]["strict"] is True
    row = sent["response_format"]["json_schema"]["schema"]["properties"]["rows"]
    assert row["minItems"] == row["maxItems"] == BATCH_ROWS
    assert "model" not in row["items"]["properties"]  # fixed by the person, not asked
    assert "sleepy owl" in sent["messages"][1]["content"]


def test_tokens_and_price_before_and_after(chat, chat_api):
    before = estimate(order(rows=60), chat.model, PRICES)
    assert before.requests == 3 and before.input_tokens > 0 and before.output_tokens > 0
    assert before.price == pytest.approx((before.input_tokens * 0.25
                                          + before.output_tokens * 2.0) / 1e6)
    written = write_prompts(order(rows=60), chat, PRICES)
    assert written.input_tokens > 0 and written.output_tokens > 0
    assert written.price == pytest.approx(PRICES.tokens_price(
        "gpt-5-mini", written.input_tokens, written.output_tokens))
    assert estimate(order(), "my-local-llama", PRICES).price is None  # not in the table


def test_rows_that_fail_validation_are_asked_for_once_more(chat, chat_api):
    chat_api.configure(blank_prompts=2)  # the first answer has two empty prompts
    written = write_prompts(order(rows=12), chat, PRICES)
    assert written.asked_again == 2 and written.requests == 2
    again = chat_api.requests()[1]
    assert again["response_format"]["json_schema"]["schema"]["properties"]["rows"][
        "minItems"] == 2
    assert "The prompt is empty" in again["messages"][1]["content"]
    # The second answer again starts with two blank prompts: they stay, and are reported.
    assert not written.report.valid
    assert [p.cell for p in written.report.errors] == ["A2", "A3"]


def test_rows_that_keep_failing_are_reported_not_asked_forever(chat, chat_api):
    chat_api.configure(blank_prompts=100)
    written = write_prompts(order(rows=5), chat, PRICES)
    assert written.requests == 2 and len(written.report.errors) == 5


def test_a_rate_limit_and_a_server_error_are_waited_out(chat, chat_api):
    chat_api.configure(fail_statuses=[429, 503])
    written = write_prompts(order(rows=3), chat, PRICES)
    assert written.report.valid and chat_api.stats()["responses_by_status"] == {
        "429": 1, "503": 1, "200": 1}


@pytest.mark.parametrize("config, says", [
    ({"refuse": True}, "refused"),
    ({"insufficient_quota": True}, "no credit left"),
    ({"fail_statuses": [500] * 4}, "answered 500"),
])
def test_failures_are_one_line(chat, chat_api, config, says):
    chat_api.configure(**config)
    with pytest.raises(ChatError, match=says) as raised:
        write_prompts(order(rows=3), chat, PRICES)
    assert "\n" not in str(raised.value)


def test_without_a_key_it_says_what_to_set_and_is_never_faked():
    with httpx.Client() as http, pytest.raises(ChatError) as raised:
        Services(Settings()).chat_client(http)
    assert "OPENAI_API_KEY" in str(raised.value) and "OPENAI_BASE_URL" in str(raised.value)
    assert "OPENAI_CHAT_MODEL" in str(raised.value)


@pytest.mark.parametrize("changes, says", [
    ({"goal": "  "}, "--goal is empty"),
    ({"rows": 0}, "--rows"),
    ({"rows": 500}, "--rows"),
    ({"settings": {"colour": "red"}}, '"colour" is not a column'),
    ({"settings": {"prompt": "a cat"}}, "the model writes the prompt"),
    ({"settings": {"aspect_ratio": "7:5"}}, "--set aspect_ratio=7:5"),
    ({"settings": {"model": "2a", "rendering": "quality"}}, "--set rendering=quality"),
    ({"settings": {"visibility": "secret"}}, "--set visibility=secret"),
])
def test_orders_that_cannot_work_are_refused_before_any_request(changes, says):
    with pytest.raises(OrderError, match=says):
        check_order(order(**changes))


def test_an_endpoint_that_is_not_openai_compatible_is_one_line():
    """A server on the URL that answers 200 in another shape (a wrong OPENAI_BASE_URL)."""
    class NotOpenAI(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>hello</html>")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), NotOpenAI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = Settings(openai_api_key="k",
                            openai_base_url=f"http://127.0.0.1:{server.server_port}/v1")
        with httpx.Client() as http, pytest.raises(ChatError, match="did not answer as an"):
            write_prompts(order(rows=2), Services(settings).chat_client(http), PRICES)
    finally:
        server.shutdown()
        server.server_close()


def test_many_failing_rows_are_asked_again_in_requests_of_the_batch_size(chat, chat_api):
    chat_api.configure(blank_prompts=20)  # each answer: its first 20 prompts empty
    written = write_prompts(order(rows=40), chat, PRICES)
    assert written.asked_again == 20 + 15 and written.requests == 2 + 2
    sizes = [r["response_format"]["json_schema"]["schema"]["properties"]["rows"]["minItems"]
             for r in chat_api.requests()]
    assert sizes == [25, 15, 25, 10]
    assert len(written.report.errors) == 20 + 10  # the answers asked again were blank too
