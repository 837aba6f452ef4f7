"""The price table behind cost estimates and budgets: configuration, not code.

The bundled `prices.json` holds the published per-image prices; `SHEETBATCH_PRICES` (see
`server.config`) names a JSON file of the same shape to use instead.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from typing import Any, Callable, Iterable, Mapping


@dataclass(frozen=True)
class PriceTable:
    per_image: Mapping[str, Mapping[str, float]]
    currency: str = "USD"
    # Chat models that write prompts: "openai/<model>" → {"input": …, "output": …} per million
    # tokens, as OpenAI publishes them.
    per_million_tokens: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | None = None) -> "PriceTable":
        """The table in `path`, or the bundled one."""
        text = (open(path, encoding="utf-8").read() if path
                else resources.files(__package__).joinpath("prices.json").read_text("utf-8"))
        data = json.loads(text)
        return cls(per_image=data["per_image"], currency=data.get("currency", "USD"),
                   per_million_tokens=data.get("per_million_tokens", {}))

    def image_price(self, model: str, rendering: str) -> Decimal:
        """One image of a price-table entry (an Ideogram model, or "openai/<model>") and tier
        (a rendering, or an OpenAI "quality size")."""
        by_rendering = self.per_image.get(model, {})
        price = by_rendering.get(rendering, by_rendering.get("default", 0))
        return Decimal(str(price))

    def total(self, rows: Iterable[Mapping[str, Any]],
              price_key: Callable[[Mapping[str, Any]], tuple[str, str]] | None = None) -> float:
        """Cost of generating every image of these rows (settings as validation makes them);
        `price_key` names a row's entry and tier (a provider's Capabilities.price_key)."""
        price_key = price_key or (lambda row: (row["model"], row["rendering"]))
        total = sum((self.image_price(*price_key(row)) * row["num_images"] for row in rows),
                    Decimal(0))
        return float(total)

    def tokens_price(self, model: str, input_tokens: int, output_tokens: int) -> float | None:
        """What a chat model charges for these tokens; None when the table does not know the
        model (a local server, or a model added after the table)."""
        entry = self.per_million_tokens.get(f"openai/{model}")
        if entry is None:
            return None
        total = (Decimal(str(entry["input"])) * input_tokens
                 + Decimal(str(entry["output"])) * output_tokens) / Decimal(1_000_000)
        return float(total)
