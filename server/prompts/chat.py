"""One structured chat completion from any OpenAI-compatible endpoint (OpenAI, or a local
server such as Ollama, vLLM or llama.cpp by its URL): `POST {base}/chat/completions`."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from server.retry import parse_retry_after, retry_delay

ATTEMPTS = 4  # a 429 or 5xx is tried again, this many calls in all
MAX_WAIT = 30.0


class ChatError(Exception):
    """The model could not answer; the message is one line for the person."""


def no_key_message(model: str) -> str:
    return ("Writing prompts needs a chat model: set OPENAI_API_KEY (any text for a local server "
            "such as Ollama, vLLM or llama.cpp), OPENAI_BASE_URL for a server other than OpenAI "
            f"(e.g. http://localhost:11434/v1), and OPENAI_CHAT_MODEL to choose the model "
            f"(now {model}).")


@dataclass(frozen=True)
class ChatAnswer:
    content: dict[str, Any]
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class ChatClient:
    base_url: str
    api_key: str
    model: str
    http: httpx.Client
    timeout: float = 120.0
    backoff: float = 1.0  # seconds before the first retry when the server names no wait

    def complete(self, messages: list[dict[str, str]],
                 response_format: dict[str, Any]) -> ChatAnswer:
        """The model's JSON answer to `messages`, shaped by `response_format`."""
        body = {"model": self.model, "messages": messages, "response_format": response_format}
        response = self._post(body)
        try:
            data = response.json()
            usage = data.get("usage") or {}
            message = data["choices"][0]["message"]
            finish = data["choices"][0].get("finish_reason")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise ChatError(f"The chat endpoint {self.base_url} did not answer as an "
                            "OpenAI-compatible chat completions API does.") from None
        if message.get("refusal"):
            raise ChatError(f"The model refused to write these prompts: {message['refusal']}")
        if finish == "length":
            raise ChatError(f"The model {self.model} stopped before its answer was complete "
                            "(its output limit); ask for fewer rows at a time.")
        try:
            content = json.loads(message.get("content") or "")
        except ValueError:
            raise ChatError(f"The model {self.model} did not answer in JSON; choose a model "
                            "that supports structured output (OPENAI_CHAT_MODEL).") from None
        return ChatAnswer(content, int(usage.get("prompt_tokens", 0)),
                          int(usage.get("completion_tokens", 0)))

    def _post(self, body: dict[str, Any]) -> httpx.Response:
        url = self.base_url.rstrip("/") + "/chat/completions"
        headers = {"Authorization": f"Bearer {self.api_key}"}
        for attempt in range(ATTEMPTS):
            try:
                response = self.http.post(url, json=body, headers=headers, timeout=self.timeout)
            except httpx.HTTPError as error:
                if attempt + 1 == ATTEMPTS:
                    raise ChatError(f"Could not reach the chat model at {self.base_url} "
                                    f"({type(error).__name__}).") from None
                time.sleep(retry_delay(attempt, None, base=self.backoff, max_wait=MAX_WAIT,
                                       max_asked=MAX_WAIT))
                continue
            if response.status_code == 200:
                return response
            if not _passing(response) or attempt + 1 == ATTEMPTS:
                raise ChatError(_failure(response, self.base_url))
            asked = parse_retry_after(response.headers.get("Retry-After"))
            time.sleep(retry_delay(attempt, asked, base=self.backoff, max_wait=MAX_WAIT,
                                   max_asked=MAX_WAIT))
        raise AssertionError("unreachable")


def _passing(response: httpx.Response) -> bool:
    """A rate limit or a server error passes; an exhausted quota does not."""
    if response.status_code == 429:
        return _error(response).get("code") != "insufficient_quota"
    return response.status_code >= 500


def _error(response: httpx.Response) -> dict[str, Any]:
    try:
        error = response.json().get("error")
    except ValueError:
        return {}
    return error if isinstance(error, dict) else {}


def _failure(response: httpx.Response, base_url: str) -> str:
    error = _error(response)
    said = str(error.get("message") or response.reason_phrase).splitlines()[0][:300]
    if response.status_code == 401:
        return f"The chat endpoint {base_url} refused OPENAI_API_KEY: {said}"
    if error.get("code") == "insufficient_quota":
        return f"The chat model's account has no credit left: {said}"
    return f"The chat model answered {response.status_code}: {said}"
