"""Reading Slack's payloads: who clicked, in which channel, on which message. A field missing or of the wrong
shape reads as empty, never as an exception before the ack."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.domain.ids import REQUEST_ID


def user_id_of(body: Mapping[str, Any]) -> str:
    """The person behind an interaction (``user.id``) or a slash command (``user_id``)."""
    user = body.get("user")
    if isinstance(user, Mapping):
        return str(user.get("id"))
    return str(body.get("user_id"))


def channel_of(body: dict[str, Any]) -> str | None:
    """The channel an interaction happened in."""
    return (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")


def message_ts_of(body: dict[str, Any]) -> str | None:
    """The ``ts`` of the message whose button was clicked."""
    return (body.get("container") or {}).get("message_ts") or (body.get("message") or {}).get("ts")


def message_shows(body: dict[str, Any], request_id: str) -> bool:
    """Does the clicked message show ``request_id`` (as the approval message does, in a code span)?"""
    return f"`{request_id}`" in json.dumps((body.get("message") or {}).get("blocks") or [])


def home_view_of(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The App Home view a click came from (``view.type == "home"``), or ``None`` for any other surface."""
    view = body.get("view")
    return view if isinstance(view, dict) and view.get("type") == "home" else None


def request_id_of(action: dict[str, Any]) -> str:
    """The request id a button carries, or ``""`` when its value cannot be one (edited, or not ours)."""
    value = action.get("value")
    return value if isinstance(value, str) and REQUEST_ID.match(value) else ""
