"""Why a click on Confirm / Approve / Reject / Cancel lost, in words (the outcome itself is
``bot.domain.requests.Decision``).

Every decision is a compare-and-set in the store; the clicks that lose are told where the request stands *now*
(read after their attempt, never the state they saw before it), in the words of what they tried: a second Confirm
reads "already confirmed", not "approved" nor "still waiting for its requester to confirm".
"""

from __future__ import annotations

from bot.domain.requests import RequestState, ScheduleRecord


def already(record: ScheduleRecord, *, confirming: bool = False) -> str:
    """Why a click lost, from where the request stands now (``confirming``: the click was a Confirm)."""
    who = f" by <@{_mrkdwn_safe(record.decided_by)}>" if record.decided_by else ""
    # Without approval, the requester's Confirm is the decision: "confirmed", and by whom goes without saying.
    decided = f"approved{who}" if record.approval_required else "confirmed"
    words = {
        RequestState.DRAFT: "is still waiting for its requester to confirm",
        RequestState.PENDING_APPROVAL: "was already confirmed and is waiting for approval"
        if confirming
        else "is waiting for approval",
        RequestState.APPROVED: f"was already {decided}",
        RequestState.DONE: f"was already {decided} and handled",
        RequestState.REJECTED: f"was already rejected{who}",
        RequestState.CANCELLED: "was cancelled by its requester",
        RequestState.EXPIRED: "expired: it was decided too close to its scheduled time, so nothing was created"
        if record.decided_by
        else "expired: its scheduled time passed (or came too close) before anyone decided",
    }
    return f"This request {words.get(record.state, record.state.value)}."


def _mrkdwn_safe(text: str) -> str:
    """An id repeated inside ``<@…>``: the three characters mrkdwn reserves escaped (ids never contain them)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
