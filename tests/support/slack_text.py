"""What a person reads in a message the bot sent: its ``text`` and every block's and element's text, joined."""

from __future__ import annotations

from typing import Any


def texts(message: Any) -> str:
    """Accepts a message dict, or a recorded call / response (anything with a ``body`` dict)."""
    body = message.body if hasattr(message, "body") else message
    parts = [str(body.get("text") or "")]
    for block in body.get("blocks") or []:
        if isinstance(block.get("text"), dict):
            parts.append(str(block["text"].get("text", "")))
        for element in block.get("elements") or []:
            if isinstance(element.get("text"), dict):
                parts.append(str(element["text"].get("text", "")))
            elif isinstance(element.get("text"), str):
                parts.append(element["text"])
    return "\n".join(parts)
