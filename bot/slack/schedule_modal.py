"""The scheduling modal's side of the listeners: what it carries between events, and the form it sends back.

Everything here reads values Slack sends back: a field missing or of the wrong shape reads as empty, a metadata
value the bot could not have written is dropped (never an exception before the ack).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, field_validator

from bot.domain.ids import CHANNEL_ID, CONTROL_CHARACTERS, LOCALE
from bot.domain.people import Person
from bot.services.scheduling import ScheduleForm
from bot.slack import schedule_blocks as sb
from bot.when import MAX_TEXT_LENGTH, resolve_zone


class ModalContext(BaseModel):
    """What the schedule modal carries in ``private_metadata``; a value the bot could not have written is dropped.

    ``shown_when`` / ``shown_at``: the "When" text the live preview last read, and the instant it showed for it.
    Submit creates that instant (not a new reading of "in 5 minutes"), or asks again if the text now means
    another minute.
    """

    channel_id: str | None = None
    tz: str | None = None
    locale: str | None = None
    shown_when: str | None = None
    shown_at: AwareDatetime | None = None

    def shown_for(self, text: str) -> datetime | None:
        """The instant the preview showed for exactly ``text`` (``None`` if it showed none for it)."""
        return self.shown_at if self.shown_when is not None and self.shown_when == text else None

    @field_validator("shown_when", mode="before")
    @classmethod
    def _a_when(cls, value: Any) -> str | None:
        return value if isinstance(value, str) and len(value) <= MAX_TEXT_LENGTH else None

    @field_validator("shown_at", mode="before")
    @classmethod
    def _an_instant(cls, value: Any) -> datetime | None:
        try:
            instant = datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 40 else None
        except ValueError:
            return None
        return instant if instant is not None and instant.utcoffset() is not None else None

    @field_validator("channel_id", mode="before")
    @classmethod
    def _a_channel(cls, value: Any) -> str | None:
        return value if isinstance(value, str) and CHANNEL_ID.match(value) else None

    @field_validator("tz", mode="before")
    @classmethod
    def _a_zone(cls, value: Any) -> str | None:
        if not isinstance(value, str):
            return None
        try:
            resolve_zone(value)
        except ValueError:
            return None
        return value

    @field_validator("locale", mode="before")
    @classmethod
    def _a_locale(cls, value: Any) -> str | None:
        return value if isinstance(value, str) and LOCALE.match(value) else None


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def typed_text(value: Any) -> str:
    """A text input's value as typed, without control characters (which no form field needs)."""
    return CONTROL_CHARACTERS.sub(" ", value) if isinstance(value, str) else ""


def zone_note(person: Person) -> str:
    if person.tz_from_profile:
        return f"Read in your time zone ({person.tz})."
    return f"Read in {person.tz} (your Slack time zone is unknown)."


def form_from_view(view: dict[str, Any]) -> ScheduleForm:
    """The form's values as typed; a field missing or of the wrong shape reads as empty (and is reported so)."""
    values = as_dict(as_dict(view.get("state")).get("values"))

    def field(block: str, action: str = "value") -> dict[str, Any]:
        return as_dict(as_dict(values.get(block)).get(action))

    option = as_dict(field("operation_type").get("selected_option"))
    channel = field("notify_channel").get("selected_conversation")
    return ScheduleForm(
        serials=typed_text(field("serials").get("value")),
        operation_type=typed_text(option.get("value")),
        when=typed_text(field("when", sb.ACTION_WHEN).get("value")),
        parameters=typed_text(field("parameters").get("value")),
        notify_channel_id=channel if isinstance(channel, str) and channel else None,
    )
