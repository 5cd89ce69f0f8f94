"""The scheduling form's typed data: what a person typed, the validated draft, the live preview, the refusals.

``SchedulingService.validate`` turns a ``ScheduleForm`` into a ``ScheduleDraft`` or raises ``FormErrors`` (one
message per bad field, shown inline in the modal or listed in a reply).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.i18n import N_, _
from bot.services.device_time import ZoneGroup


class FormErrors(Exception):
    """Field name → what the person must fix. Shown inline in the modal, or as a list in a reply."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class TimeMoved(FormErrors):
    """A relative time ("in 5 minutes") means another minute at Submit than the one the form previewed.

    Nothing is stored; the form asks again, showing ``preview`` for ``when`` (what the text means now).
    """

    def __init__(self, errors: dict[str, str], *, when: datetime, preview: str) -> None:
        super().__init__(errors)
        self.when = when
        self.preview = preview


class NoApprovalChannel(FormErrors):
    """The request is valid but needs approval, and ``APPROVAL_CHANNEL`` is not set: nobody could approve it."""

    #: The message (``TEXT`` of an instance: in the language of the request that raised it).
    MESSAGE = N_(
        "This operation needs approval, but no approval channel is configured. Ask an admin to set APPROVAL_CHANNEL."
    )

    def __init__(self) -> None:
        self.TEXT = _(self.MESSAGE)
        super().__init__({"operation_type": self.TEXT})


class Preview(BaseModel):
    """The modal's live preview: the line shown under "When", and the instant it shows (``None`` if none)."""

    model_config = ConfigDict(frozen=True)

    line: str
    ok: bool
    at: datetime | None = None


class ScheduleForm(BaseModel):
    """What a person typed, as typed."""

    model_config = ConfigDict(frozen=True)

    serials: str = ""
    operation_type: str = ""
    when: str = ""
    parameters: str = ""
    notify_channel_id: str | None = None
    #: With ``OPERATIONS_FILE``, the modal's one field per parameter (name → value; text as typed, ``None`` empty);
    #: ``None``: the parameters are the ``parameters`` text.
    parameter_fields: dict[str, Any] | None = None


class ScheduleDraft(BaseModel):
    """A validated request, ready to be shown for confirmation or stored."""

    model_config = ConfigDict(frozen=True)

    device_serials: list[str]
    operation_type: str
    scheduled_time: datetime
    parameters: dict[str, Any]
    notify_channel_id: str | None
    tz: str
    preview: str
    window_note: str | None
    window_inside: bool | None
    approval_required: bool
    selected: bool = False  # devices came from a selector or a glob: the preview says how many matched
    item_times: dict[str, datetime] | None = None  # device-local: each serial's own instant (scheduled_time: earliest)
    zone_groups: list[ZoneGroup] = []  # device-local: per zone, the count, local time and instant, earliest first
    unknown_serials: list[str] = []  # not in the inventory, kept because INVENTORY_STRICT=false: a warning
