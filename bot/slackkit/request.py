"""``SlackRequest``: a body as Slack sends it to the bot's ``/slack/events``, and the ``state.values`` entries
of modal inputs (``text_value``, ``select_value``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
STALE_SECONDS = 6 * 60  # Slack's (and bolt's) window is 5 minutes
SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
INTERACTIVE_KINDS = frozenset(
    {"block_actions", "view_submission", "view_closed", "shortcut", "message_action", "block_suggestion"}
)


@dataclass(frozen=True)
class SlackRequest:
    """A body ready to POST: ``kind`` (``slash_command``, ``block_actions``, ``event_callback`` ...), the
    exact bytes, their content type, and ``payload`` (the form fields / the interactivity payload / the event
    JSON).
    """

    kind: str
    body: bytes
    content_type: str
    payload: dict[str, Any]

    @property
    def response_url(self) -> str | None:
        return self.payload.get("response_url")

    @property
    def trigger_id(self) -> str | None:
        return self.payload.get("trigger_id")

    @property
    def response_key(self) -> str | None:
        """The bench sink key of ``response_url`` (for ``bench.responses_for``), if it is a bench URL."""
        url = self.response_url
        return url.rstrip("/").rsplit("/response/", 1)[-1] if url and "/response/" in url else None


def text_value(value: str | None, *, element_type: str = "plain_text_input") -> dict[str, Any]:
    """A ``state.values[block_id][action_id]`` entry of a text input."""
    return {"type": element_type, "value": value}


def select_value(value: str | None, text: str | None = None, *, element_type: str = "static_select") -> dict:
    """A ``state.values`` entry of a single select (``None``: nothing selected)."""
    option = None if value is None else {"text": {"type": "plain_text", "text": text or value}, "value": value}
    return {"type": element_type, "selected_option": option}
