"""How people quote a value when they type parameters (one table for the schedule and the rollout quick forms)."""

from __future__ import annotations

#: An opening quote → the quotes that close it (phones type “…”, „…“ and ‘…’).
CLOSING_QUOTES: dict[str, str] = {
    '"': '"',
    "'": "'",
    "\u201c": "\u201d\u201c",
    "\u201e": "\u201c\u201d",
    "\u2018": "\u2019",
    "\u201a": "\u2018\u2019",
}
#: The double quotes a phone may type instead of ``"``.
DOUBLE_QUOTES = '"\u201c\u201d\u201e\u201f'

__all__ = ["CLOSING_QUOTES", "DOUBLE_QUOTES"]
