"""The scheduling modal: opening it, its live preview, what it carries between events, and the form it sends back.

Everything here reads values Slack sends back: a field missing or of the wrong shape reads as empty, a metadata
value the bot could not have written is dropped (never an exception before the ack).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import AwareDatetime, BaseModel, ValidationError, field_validator

from bot.domain.access import place_of
from bot.domain.ids import CHANNEL_ID, CONTROL_CHARACTERS, LOCALE
from bot.domain.people import Person
from bot.i18n import N_, _
from bot.services.scheduling import ScheduleForm
from bot.slack.blocks import schedule_modal as smb
from bot.slack.blocks import scheduling as sb
from bot.slack.blocks.common import text_message
from bot.slack.operation_fields import modal_blocks, read_parameter_fields
from bot.slack.respond import Respond, safe_respond
from bot.slack.wording import MODAL_NOT_OPENED
from bot.when import MAX_TEXT_LENGTH, resolve_zone

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack.deps import SlackDeps

log = logging.getLogger("bot.slack.schedule")

TYPE_WHEN = N_("Type when, e.g. “tomorrow 2am”, “in 3 hours”, “next window”.")


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
        return _("Read in your time zone ({zone}).").format(zone=person.tz)
    return _("Read in {zone} (your Slack time zone is unknown).").format(zone=person.tz)


def form_from_view(view: dict[str, Any]) -> ScheduleForm:
    """The form's values as typed; a field missing or of the wrong shape reads as empty (and is reported so)."""
    values = as_dict(as_dict(view.get("state")).get("values"))

    def field(block: str, action: str = "value") -> dict[str, Any]:
        return as_dict(as_dict(values.get(block)).get(action))

    option = as_dict(field("operation_type").get("selected_option"))
    channel = field("notify_channel").get("selected_conversation")
    operation_type = typed_text(option.get("value"))
    return ScheduleForm(
        serials=typed_text(field("serials").get("value")),
        operation_type=operation_type,
        parameter_fields=read_parameter_fields(values, operation_type),
        when=typed_text(field("when", sb.ACTION_WHEN).get("value")),
        parameters=typed_text(field("parameters").get("value")),
        notify_channel_id=channel if isinstance(channel, str) and channel else None,
    )


def modal_view(
    deps: SlackDeps,
    meta: ModalContext,
    person: Person,
    types: Sequence[str],
    *,
    serials: str = "",
    note: str | None = None,
) -> dict[str, Any]:
    """The form, offering ``types``: the operation types the person may schedule where it was opened. ``serials``
    prefills the devices field, ``note`` (safe mrkdwn) shows above the fields (a message shortcut's)."""
    settings = deps.settings
    return smb.schedule_modal(
        list(types),
        parameter_blocks=modal_blocks(deps.scheduling.rules),
        preview=_(TYPE_WHEN),
        private_metadata=meta.model_dump_json(),
        max_serials=settings.max_devices_per_request,
        selectors=deps.inventory is not None,
        zone_note=zone_note(person),
        initial_serials=serials,
        note=note,
    )


async def open_modal(
    deps: SlackDeps,
    client: AsyncWebClient,
    trigger_id: str,
    user_id: str,
    channel_id: str | None,
    respond: Respond | None = None,
    *,
    serials: str = "",
    note: str | None = None,
) -> None:
    """Open at once (trigger ids live 3 s), then fill in the person's zone and a preview. ``serials`` prefills the
    devices field and ``note`` (safe mrkdwn) shows above the form (a message shortcut's)."""
    cached = deps.directory.cached_person(user_id)
    person = cached or Person(user_id=user_id, tz=deps.settings.default_timezone, tz_from_profile=False)
    meta = ModalContext(channel_id=channel_id, tz=person.tz if cached else None, locale=person.locale)
    types = await deps.access.allowed_types(user_id, "schedule", place_of(channel_id))
    try:
        opened = await client.views_open(
            trigger_id=trigger_id, view=modal_view(deps, meta, person, types, serials=serials, note=note)
        )
    except Exception as exc:  # an expired trigger or Slack down: the person can simply run the command again
        log.warning("views.open failed: %s", type(exc).__name__)
        deps.metrics.count("schedule_modal", "slack_error")
        message = text_message(MODAL_NOT_OPENED)
        if respond is not None:
            await safe_respond(respond, message)
        else:  # a shortcut has no response_url: a direct message
            await deps.messenger.post(user_id, message)
        return
    if cached is not None:
        return
    person = await deps.directory.person(user_id)
    meta = ModalContext(channel_id=channel_id, tz=person.tz, locale=person.locale)
    opened_view = opened.get("view") or {}
    try:
        await client.views_update(
            view_id=opened_view.get("id"), hash=opened_view.get("hash"),
            view=modal_view(deps, meta, person, types, serials=serials, note=note),
        )  # fmt: skip
    except Exception as exc:  # the person typed meanwhile (hash_conflict): their preview carries the zone
        log.info("views.update after open skipped: %s", type(exc).__name__)


def context_of(view: dict[str, Any]) -> ModalContext:
    """What the modal carries; an empty context when its metadata is not the bot's."""
    try:
        return ModalContext.model_validate_json(view.get("private_metadata") or "{}")
    except ValidationError:
        return ModalContext()


async def live_preview(deps: SlackDeps, client: AsyncWebClient, body: dict[str, Any], user_id: str) -> None:
    """The preview line under "When", for what the person has typed so far."""
    view = body.get("view") or {}
    meta = context_of(view)
    if meta.tz is None:  # the zone is filled in when the modal opens; only a very quick keystroke beats it
        person = await deps.directory.person(user_id)
        meta = meta.model_copy(update={"tz": person.tz, "locale": person.locale})
    form = form_from_view(view)
    tz = meta.tz or deps.settings.default_timezone
    shown = deps.scheduling.preview_at(
        form.when, tz=tz, locale=meta.locale, operation_type=form.operation_type, serials=form.serials
    )
    await show_preview(client, view, shown.line, meta, form.when, shown.at)


async def show_preview(
    client: AsyncWebClient, view: dict[str, Any], line: str, meta: ModalContext, text: str, at: datetime | None
) -> None:
    """The preview line under "When", and (in the metadata) the instant it shows for ``text``."""
    meta = meta.model_copy(update={"shown_when": text if at is not None else None, "shown_at": at})
    updated = smb.with_preview(view, line)
    updated["private_metadata"] = meta.model_dump_json()
    try:
        await client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=updated)
    except Exception as exc:  # hash_conflict: a newer keystroke's preview wins
        log.debug("preview update skipped: %s", type(exc).__name__)
