"""What follows a decision, shared by the buttons (``actions``) and the forms (``views``)."""

from __future__ import annotations

from bot.domain.requests import ScheduleRecord
from bot.slack.access import require_for
from bot.slack.deps import SlackDeps
from bot.slack.respond import SavedButUnfinished
from bot.slack.wording import refusal_text


async def follow_up(deps: SlackDeps, record: ScheduleRecord) -> None:
    """What follows a recorded request or decision (post, create, tell). It is saved by now, so a failure here
    must not read "not saved, try again": the maintenance loop finishes the job."""
    try:
        await deps.approvals.after_decision(record)
    except Exception as exc:
        raise SavedButUnfinished(record.id) from exc


async def reject(deps: SlackDeps, request_id: str, user_id: str, reason: str | None, channel_id: str | None) -> None:
    """Reject (with the reason typed, if any); a refusal reaches the approver in a direct message. The access
    rules are checked again here: the submission of a reason may be crafted."""
    if (record := await deps.scheduling.get(request_id)) is not None:
        await require_for(deps, user_id, "approve", record.operation_type, channel_id)
    is_approver = await deps.directory.is_approver(user_id, deps.settings.approvers)
    decision = await deps.scheduling.decide(
        request_id, user_id, approve=False, is_approver=is_approver, reason=reason, channel_id=channel_id
    )
    if decision.won and decision.record is not None:
        await follow_up(deps, decision.record)
    elif decision.refusal is not None:
        await deps.messenger.post(user_id, {"text": f":information_source: {refusal_text(decision)}"})
