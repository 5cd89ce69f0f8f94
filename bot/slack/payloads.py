"""Reading Slack's payloads: who clicked or typed. A field missing or of the wrong shape reads as empty, never as an
exception before the ack."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def user_id_of(body: Mapping[str, Any]) -> str:
    """The person behind an interaction (``user.id``) or a slash command (``user_id``)."""
    user = body.get("user")
    if isinstance(user, Mapping):
        return str(user.get("id"))
    return str(body.get("user_id"))
