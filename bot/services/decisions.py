"""The outcome of a click on Confirm / Approve / Reject / Cancel, as facts: who won, and why a click lost.

Every decision is a compare-and-set in the store; the clicks that lose are told where the request stands *now*
(``record`` is read after their attempt, never the state they saw before it). The words are the Slack layer's
(``bot.slack.wording.refusal_text``): a second Confirm reads "already confirmed", not "approved".
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.store.records import ScheduleRecord

Action = Literal["confirm", "cancel", "approve", "reject"]


class Refusal(StrEnum):
    """Why a decision did not win."""

    NO_SUCH_REQUEST = "no_such_request"
    NOT_REQUESTER = "not_requester"  # only the requester may confirm or cancel
    SELF_APPROVAL = "self_approval"  # the four-eyes rule (ALLOW_SELF_APPROVAL off)
    NOT_APPROVER = "not_approver"
    ALREADY_DECIDED = "already_decided"  # another decision won first: ``record`` says which
    TOO_LATE = "too_late"  # too close to the scheduled time: this click expired the request


class Decision(BaseModel):
    """The outcome of a click on Confirm / Approve / Reject / Cancel."""

    model_config = ConfigDict(frozen=True)

    won: bool
    record: ScheduleRecord | None
    action: Action = "approve"
    refusal: Refusal | None = None
    time_left: timedelta | None = None  # TOO_LATE: how far the scheduled time was when the click came
    lead: timedelta | None = None  # TOO_LATE: how far ahead it had to be (MIN_LEAD_SECONDS)

    @property
    def expired(self) -> bool:
        """This click came too close to the scheduled time and expired the request: show it now."""
        return self.refusal is Refusal.TOO_LATE
