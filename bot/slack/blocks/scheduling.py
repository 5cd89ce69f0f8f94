"""Block Kit for scheduling: the requester's confirmation, the approval request and its outcome (the forms are
``schedule_modal``'s).

Pure functions. Everything a person typed is escaped before it reaches mrkdwn.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from bot.domain.requests import ItemState, RequestState, ScheduleRecord
from bot.i18n import N_, _, ngettext
from bot.services.scheduling import ScheduleDraft
from bot.services.targets import not_in_inventory
from bot.slack.blocks.common import (
    Block,
    Message,
    button,
    context,
    escape,
    parameters_text,
    section,
    slack_date,
    truncate,
)
from bot.slack.blocks.local_time import when_line, zone_lines

SCHEDULE_MODAL = "schedule_modal"
REJECT_MODAL = "reject_modal"
SCHEDULE_SHORTCUT = "schedule_operation"
SCHEDULE_FROM_MESSAGE = "schedule_from_message"  # the message shortcut "Schedule for serials in this message"

ACTION_WHEN = "when_input"
ACTION_CONFIRM = "schedule_confirm"
ACTION_CANCEL = "schedule_cancel"
ACTION_APPROVE = "approval_approve"
ACTION_REJECT = "approval_reject"

# block_id of each modal field; FormErrors keys map onto them one to one.
FIELD_BLOCKS = {
    "serials": "serials",
    "operation_type": "operation_type",
    "when": "when",
    "parameters": "parameters",
    "notify_channel_id": "notify_channel",
}
# The optional CSV of devices (``bot.slack.uploads`` reads it on submit).
FILE_BLOCK = "serials_file"
FILE_ACTION = "file"
UPLOAD_LIMIT_MB = 2


def _params_text(parameters: dict[str, Any]) -> str:
    return parameters_text(parameters) if parameters else _("none")


SHOWN_SERIALS = 20  # serials named in a message; the rest are counted


def _serials_text(serials: Sequence[str]) -> str:
    shown = ", ".join(f"`{escape(s)}`" for s in serials[:SHOWN_SERIALS])
    return _and_more(shown, len(serials))


def _and_more(shown: str, total: int) -> str:
    """``shown`` (the first ``SHOWN_SERIALS`` serials) followed by how many more there are."""
    if total <= SHOWN_SERIALS:
        return shown
    return _("{serials} and {count} more").format(serials=shown, count=f"{total - SHOWN_SERIALS:,}")


def serials_plain(serials: Sequence[str]) -> str:
    """The serials for a notification's plain text (the first ones, then a count)."""
    return _and_more(", ".join(serials[:SHOWN_SERIALS]), len(serials))


def devices_line(serials: Sequence[str], *, selected: bool = False) -> str:
    """``*Devices* 1,234 matched: `SN1`, `SN2`, … and 1,214 more`` (a count when a selector chose them or when
    there are many)."""
    if len(serials) == 1 and not selected:
        return _("*Device* {serials}").format(serials=_serials_text(serials))
    count = f"{len(serials):,}"
    if selected:
        line = ngettext("*Devices* {count} matched: {serials}", "*Devices* {count} matched: {serials}", len(serials))
    else:
        line = _("*Devices* {count}: {serials}")
    return line.format(count=count, serials=_serials_text(serials))


def draft_details(draft: ScheduleDraft) -> str:
    lines = [
        devices_line(draft.device_serials, selected=draft.selected),
        _("*Operation* {operation}").format(operation=escape(draft.operation_type)),
        _("*When* {when}").format(when=escape(draft.preview)),
        *zone_lines(draft.zone_groups),
        _("*Parameters* {parameters}").format(parameters=_params_text(draft.parameters)),
    ]
    if draft.unknown_serials:
        unknown = escape(not_in_inventory(draft.unknown_serials))
        lines.append(
            ":warning: " + _("{unknown} They are sent as typed (INVENTORY_STRICT is off).").format(unknown=unknown)
        )
    if draft.window_note:
        icon = ":white_check_mark:" if draft.window_inside else ":warning:"
        lines.append(f"{icon} {escape(draft.window_note)}")
    lines.append(_approval_line(draft.approval_required))
    return "\n".join(lines)


def _approval_line(required: bool) -> str:
    return _("*Approval* required before it is created") if required else _("*Approval* not required")


def record_details(record: ScheduleRecord) -> str:
    lines = [
        _("*Requested by* {requester}").format(requester=f"<@{escape(record.requester_id)}>"),
        devices_line(record.device_serials),
        _("*Operation* {operation}").format(operation=escape(record.operation_type)),
        when_line(record),
        _("*Parameters* {parameters}").format(parameters=_params_text(record.parameters)),
    ]
    if record.window_note:
        lines.append(f":clock3: {escape(record.window_note)}")
    return "\n".join(lines)


def confirmation_message(draft: ScheduleDraft, request_id: str) -> Message:
    """The requester's ephemeral preview of exactly what will be sent, with Confirm / Cancel."""
    return {
        "text": _confirm_text(draft.operation_type, draft.device_serials),
        "blocks": [
            section(":mag: " + _("*Please check what will be scheduled:*") + "\n" + draft_details(draft)),
            _confirm_actions(request_id),
        ],
    }


def stored_draft_message(record: ScheduleRecord) -> Message:
    """A stored draft's Confirm / Cancel, shown again from the store (the console does, after a restart: Slack's
    ephemeral original is gone by then)."""
    check = _("*Please check what will be scheduled:*")
    return {
        "text": _confirm_text(record.operation_type, record.device_serials),
        "blocks": [
            section(f":mag: {check}\n{record_details(record)}\n{_approval_line(record.approval_required)}"),
            _confirm_actions(record.id),
            context(request_line(record.id)),
        ],
    }


def _confirm_text(operation_type: str, serials: Sequence[str]) -> str:
    return _("Confirm {operation} on {serials}").format(operation=operation_type, serials=serials_plain(serials))


def request_line(request_id: str) -> str:
    """``Request `abc123` `` (a message's context line)."""
    return _("Request {request}").format(request=f"`{request_id}`")


def _confirm_actions(request_id: str) -> Block:
    return {
        "type": "actions",
        "block_id": "confirm_actions",
        "elements": [
            button(_("Confirm"), ACTION_CONFIRM, request_id, style="primary"),
            button(_("Cancel"), ACTION_CANCEL, request_id),
        ],
    }


def approval_message(record: ScheduleRecord, *, self_approval: bool = False) -> Message:
    """The request as approvers see it in APPROVAL_CHANNEL, with Approve / Reject.

    ``self_approval``: ``ALLOW_SELF_APPROVAL`` is on, so the requester may decide too if they are an approver.
    """
    who = (
        _("Request {request} · only approvers can decide (the requester too, if they are one).")
        if self_approval
        else _("Request {request} · only approvers can decide; the requester cannot approve their own.")
    ).format(request=f"`{record.id}`")
    text = _("Approval needed: {operation} on {serials}").format(
        operation=record.operation_type, serials=serials_plain(record.device_serials)
    )
    return {
        "text": text,
        "blocks": [
            section(":raised_hand: " + _("*Approval needed*") + "\n" + record_details(record)),
            {
                "type": "actions",
                "block_id": "approval_actions",
                "elements": [
                    button(_("Approve"), ACTION_APPROVE, record.id, style="primary"),
                    button(_("Reject"), ACTION_REJECT, record.id, style="danger"),
                ],
            },
            context(who),
        ],
    }


FAILURES_SHOWN = 10  # failed items named in a summary of a big request


def progress_line(record: ScheduleRecord) -> str:
    """``:white_check_mark: 120/500 created · :x: 2 failed · :hourglass: 378 waiting to be created``."""
    counts = Counter(item.state for item in record.items)
    created = _("{created}/{total} created").format(
        created=f"{counts[ItemState.CREATED]:,}", total=f"{len(record.items):,}"
    )
    parts = [f":white_check_mark: {created}"]
    if failed := counts[ItemState.FAILED]:
        parts.append(":x: " + ngettext("{count} failed", "{count} failed", failed).format(count=f"{failed:,}"))
    if pending := counts[ItemState.WAITING] + counts[ItemState.CREATING]:
        waiting = ngettext("{count} waiting to be created", "{count} waiting to be created", pending)
        parts.append(":hourglass: " + waiting.format(count=f"{pending:,}"))
    if cancelled := counts[ItemState.CANCELLED]:
        not_created = ngettext("{count} not created", "{count} not created", cancelled)
        parts.append(":no_entry_sign: " + not_created.format(count=f"{cancelled:,}"))
    return " · ".join(parts)


def items_text(record: ScheduleRecord) -> str:
    """Each item with its operation (or why it has none); for a big request, the progress and the failures."""
    if len(record.items) > SHOWN_SERIALS:
        failed = [item for item in record.items if item.state is ItemState.FAILED]
        lines = [progress_line(record)]
        lines += [f":x: `{escape(i.device_serial)}`: {_item_error(i.error)}" for i in failed[:FAILURES_SHOWN]]
        if len(failed) > FAILURES_SHOWN:
            more = _("… and {count} more failures (see /headless audit)")
            lines.append(more.format(count=f"{len(failed) - FAILURES_SHOWN:,}"))
        return "\n".join(lines)
    lines = [progress_line(record)] if len(record.items) > 1 and record.state is RequestState.APPROVED else []
    for item in record.items:
        serial = f"`{escape(item.device_serial)}`"
        if item.state is ItemState.CREATED:
            created = _("{serial} → operation {operation}")
            lines.append(
                ":white_check_mark: " + created.format(serial=serial, operation=f"`{escape(item.operation_id)}`")
            )
        elif item.state is ItemState.FAILED:
            lines.append(f":x: {serial}: {_item_error(item.error)}")
        elif item.state is ItemState.CREATING:
            lines.append(":hourglass_flowing_sand: " + _("{serial}: being created…").format(serial=serial))
        elif item.state is ItemState.CANCELLED:
            lines.append(":no_entry_sign: " + _("{serial}: not created").format(serial=serial))
        else:
            lines.append(":hourglass: " + _("{serial}: waiting to be created").format(serial=serial))
    return "\n".join(lines)


def _item_error(error: str | None) -> str:
    """Why an item failed (escaped), or just that it did."""
    return escape(error) if error else _("failed")


def outcome_headline(record: ScheduleRecord) -> str:
    who = f"<@{escape(record.decided_by)}>" if record.decided_by else _("the bot")
    when = slack_date(record.decided_at) if record.decided_at else ""
    if record.state in (RequestState.APPROVED, RequestState.DONE):
        verb = _("*Approved by {who}* {when}") if record.approval_required else _("*Confirmed by {who}* {when}")
        return ":white_check_mark: " + verb.format(who=who, when=when)
    if record.state is RequestState.REJECTED:
        reason = _("*Reason* {reason}").format(reason=escape(record.decision_reason)) if record.decision_reason else ""
        rejected = _("*Rejected by {who}* {when}").format(who=who, when=when)
        return f":no_entry: {rejected}" + (f"\n{reason}" if reason else "")
    if record.state is RequestState.CANCELLED:
        return ":no_entry_sign: " + _("*Cancelled by {who}* {when}").format(who=who, when=when)
    if record.state is RequestState.EXPIRED:
        return expired_headline(record)
    if record.state is RequestState.PENDING_APPROVAL:
        return ":raised_hand: " + _("*Waiting for approval*")
    return ":memo: " + _("*Waiting for the requester to confirm*")


def expired_headline(record: ScheduleRecord) -> str:
    """Why a request expired: nobody decided in time, or a decision (``decided_by``) came too late."""
    if record.decided_by is None or record.decided_at is None:
        return ":alarm_clock: " + _(
            "*Expired*: the scheduled time passed (or came too close) before anyone decided. Nothing was created."
        )
    # A click on the approval message is an approval; without one it was the requester's Confirm (or Submit).
    after = record.decided_at >= record.scheduled_time
    if record.approval_ts:
        text = _EXPIRED_APPROVAL_AFTER if after else _EXPIRED_APPROVAL_TOO_CLOSE
    else:
        text = _EXPIRED_CONFIRMATION_AFTER if after else _EXPIRED_CONFIRMATION_TOO_CLOSE
    who = f"<@{escape(record.decided_by)}>"
    return ":alarm_clock: " + _(text).format(who=who, when=slack_date(record.decided_at))


_EXPIRED_APPROVAL_AFTER = N_(
    "*Expired*: the approval by {who} {when} came after the scheduled time to create the operation. Nothing was "
    "created; schedule it again for a later time."
)
_EXPIRED_APPROVAL_TOO_CLOSE = N_(
    "*Expired*: the approval by {who} {when} came too close to the scheduled time to create the operation. Nothing "
    "was created; schedule it again for a later time."
)
_EXPIRED_CONFIRMATION_AFTER = N_(
    "*Expired*: the confirmation by {who} {when} came after the scheduled time to create the operation. Nothing "
    "was created; schedule it again for a later time."
)
_EXPIRED_CONFIRMATION_TOO_CLOSE = N_(
    "*Expired*: the confirmation by {who} {when} came too close to the scheduled time to create the operation. "
    "Nothing was created; schedule it again for a later time."
)


def decided_message(record: ScheduleRecord) -> Message:
    """The approval (or confirmation) message once decided: no buttons, who decided, what was created."""
    parts = [outcome_headline(record), record_details(record)]
    if record.state in (RequestState.APPROVED, RequestState.DONE):
        parts.append(items_text(record))
    text = truncate("\n".join(parts), 3000)
    summary = _("{operation} on {serials}: {state}").format(
        operation=record.operation_type, serials=serials_plain(record.device_serials), state=record.state.value
    )
    return {"text": summary, "blocks": [section(text), context(request_line(record.id))]}


def requester_outcome(record: ScheduleRecord) -> str:
    """A one-message summary for the requester (DM)."""
    serials = _serials_text(record.device_serials)
    head = outcome_headline(record)
    body = items_text(record) if record.state in (RequestState.APPROVED, RequestState.DONE) else ""
    yours = _("Your {operation} request for {serials}.").format(
        operation=escape(record.operation_type), serials=serials
    )
    return truncate(f"{head}\n{yours}\n{body}".strip(), 3000)
