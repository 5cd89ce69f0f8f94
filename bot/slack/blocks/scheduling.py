"""Block Kit for scheduling: the modal, the requester's confirmation, the approval request and its outcome.

Pure functions. Everything a person typed is escaped before it reaches mrkdwn.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bot.domain.requests import ItemState, RequestState, ScheduleRecord
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


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _devices_fields(max_serials: int, selectors: bool, initial: str = "") -> list[Block]:
    """The Devices field (serials, or selectors with an inventory) and the CSV upload beside it."""
    hint = (
        f"Serials (one per line or comma-separated), globs like SN1234*, or site:NAME, tag:NAME, zone:IANA; "
        f"+ means and, a comma or ; means or: site:san-jose+tag:gateway. Up to {max_serials:,} devices. "
        "Or upload a CSV below."
        if selectors
        else f"One per line or comma-separated, up to {max_serials:,}. Example: SN123456789. Or upload a CSV below."
    )
    return [
        {
            "type": "input",
            "block_id": FIELD_BLOCKS["serials"],
            "optional": True,  # or a CSV below: the bot says so when both are empty
            "label": _plain("Devices" if selectors else "Device serial(s)"),
            "hint": _plain(hint),
            "element": {
                "type": "plain_text_input",
                "action_id": "value",
                "multiline": True,
                "placeholder": _plain("SN123456789"),
                **({"initial_value": initial[:3000]} if initial else {}),
            },
        },
        {
            "type": "input",
            "block_id": FILE_BLOCK,
            "optional": True,
            "label": _plain("…or upload a CSV of devices"),
            "hint": _plain(
                f"Only the serial column is required (a header line naming it); other columns are ignored. "
                f"Up to {UPLOAD_LIMIT_MB} MB. Typed serials and the file's are both used."
            ),
            "element": {"type": "file_input", "action_id": FILE_ACTION, "filetypes": ["csv", "txt"], "max_files": 1},
        },
    ]


def schedule_modal(
    operation_types: Sequence[str],
    *,
    preview: str,
    private_metadata: str,
    max_serials: int,
    zone_note: str,
    selectors: bool = False,
    parameter_blocks: Sequence[Block] | None = None,
    initial_serials: str = "",
    note: str | None = None,
) -> dict[str, Any]:
    """The scheduling form. ``when`` dispatches an action as the person types, for the live preview.

    ``selectors``: there is an inventory, so the devices field takes selectors too. ``parameter_blocks``
    (``OPERATIONS_FILE``): shown instead of the free ``parameters`` field, and the type select dispatches an action
    when it changes (the chosen type's fields replace them). ``initial_serials``: the devices field prefilled (a
    message shortcut's serials); ``note``: a line above the form (already safe mrkdwn)."""
    options = [{"text": _plain(t.replace("_", " ")), "value": t} for t in operation_types[:100]]
    blocks: list[Block] = [
        *(
            [{"type": "context", "block_id": "form_note", "elements": [{"type": "mrkdwn", "text": note[:2900]}]}]
            if note
            else []
        ),
        *_devices_fields(max_serials, selectors, initial_serials),
        {
            "type": "input",
            "block_id": FIELD_BLOCKS["operation_type"],
            "label": _plain("Operation"),
            "element": {
                "type": "static_select",
                "action_id": "value",
                "placeholder": _plain("Choose an operation"),
                "options": options,
            },
        },
        {
            "type": "input",
            "block_id": FIELD_BLOCKS["when"],
            "label": _plain("When"),
            "hint": _plain(f"{zone_note} Also: “in 3 hours”, “next window”, “2026-03-07 02:00 UTC”."),
            "dispatch_action": True,
            "element": {
                "type": "plain_text_input",
                "action_id": ACTION_WHEN,
                "placeholder": _plain("tomorrow at 2am"),
                "dispatch_action_config": {"trigger_actions_on": ["on_character_entered", "on_enter_pressed"]},
            },
        },
        {"type": "context", "block_id": "when_preview", "elements": [{"type": "mrkdwn", "text": escape(preview)}]},
        {
            "type": "input",
            "block_id": FIELD_BLOCKS["parameters"],
            "optional": True,
            "label": _plain("Parameters"),
            "hint": _plain(
                "key=value sends text as typed (true/false are booleans), key:=JSON a JSON value (retries:=3, "
                'tag:=null); quote a value with spaces: note="two words". Or a JSON object like '
                '{"config_profile": "production_v2"}'
            ),
            "element": {"type": "plain_text_input", "action_id": "value", "multiline": True},
        },
        {
            "type": "input",
            "block_id": FIELD_BLOCKS["notify_channel_id"],
            "optional": True,
            "label": _plain("Post status updates in"),
            "element": {
                "type": "conversations_select",
                "action_id": "value",
                "placeholder": _plain("A channel (optional)"),
                "filter": {"include": ["public", "private"], "exclude_bot_users": True},
            },
        },
    ]
    if parameter_blocks is not None:
        at = next(i for i, b in enumerate(blocks) if b["block_id"] == FIELD_BLOCKS["parameters"])
        blocks[at : at + 1] = list(parameter_blocks)
        kind = next(i for i, b in enumerate(blocks) if b["block_id"] == FIELD_BLOCKS["operation_type"])
        blocks[kind] = {**blocks[kind], "dispatch_action": True}  # the type select
    return {
        "type": "modal",
        "callback_id": SCHEDULE_MODAL,
        "title": _plain("Schedule an operation"),
        "submit": _plain("Submit"),
        "close": _plain("Cancel"),
        "private_metadata": private_metadata[:3000],
        "blocks": blocks,
    }


def with_preview(view: dict[str, Any], preview: str) -> dict[str, Any]:
    """The same modal with a new preview line (Slack keeps what was typed when block ids do not change)."""
    keep = ("type", "callback_id", "title", "submit", "close", "private_metadata", "blocks")
    updated = {k: view[k] for k in keep if k in view}
    blocks = []
    for block in view.get("blocks", []):
        if block.get("block_id") == "when_preview":
            block = {**block, "elements": [{"type": "mrkdwn", "text": escape(preview)}]}
        blocks.append(block)
    updated["blocks"] = blocks
    return updated


def reject_modal(request_id: str, channel_id: str | None, message_ts: str | None) -> dict[str, Any]:
    metadata = json.dumps({"request_id": request_id, "channel_id": channel_id, "ts": message_ts})
    return {
        "type": "modal",
        "callback_id": REJECT_MODAL,
        "title": _plain("Reject request"),
        "submit": _plain("Reject"),
        "close": _plain("Back"),
        "private_metadata": metadata,
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "optional": True,
                "label": _plain("Reason (optional, shown to the requester)"),
                "element": {"type": "plain_text_input", "action_id": "value", "multiline": True, "max_length": 500},
            }
        ],
    }


def _params_text(parameters: dict[str, Any]) -> str:
    return parameters_text(parameters) if parameters else "none"


SHOWN_SERIALS = 20  # serials named in a message; the rest are counted


def _serials_text(serials: Sequence[str]) -> str:
    shown = ", ".join(f"`{escape(s)}`" for s in serials[:SHOWN_SERIALS])
    more = f" and {len(serials) - SHOWN_SERIALS:,} more" if len(serials) > SHOWN_SERIALS else ""
    return shown + more


def serials_plain(serials: Sequence[str]) -> str:
    """The serials for a notification's plain text (the first ones, then a count)."""
    shown = ", ".join(serials[:SHOWN_SERIALS])
    return shown + (f" and {len(serials) - SHOWN_SERIALS:,} more" if len(serials) > SHOWN_SERIALS else "")


def devices_line(serials: Sequence[str], *, selected: bool = False) -> str:
    """``*Devices* 1,234 matched: `SN1`, `SN2`, … and 1,214 more`` (a count when a selector chose them or when
    there are many)."""
    if len(serials) == 1 and not selected:
        return f"*Device* {_serials_text(serials)}"
    count = f"{len(serials):,} matched" if selected else f"{len(serials):,}"
    return f"*Devices* {count}: {_serials_text(serials)}"


def draft_details(draft: ScheduleDraft) -> str:
    lines = [
        devices_line(draft.device_serials, selected=draft.selected),
        f"*Operation* {escape(draft.operation_type)}",
        f"*When* {escape(draft.preview)}",
        *zone_lines(draft.zone_groups),
        f"*Parameters* {_params_text(draft.parameters)}",
    ]
    if draft.unknown_serials:
        lines.append(
            f":warning: {escape(not_in_inventory(draft.unknown_serials))} They are sent as typed "
            "(INVENTORY_STRICT is off)."
        )
    if draft.window_note:
        icon = ":white_check_mark:" if draft.window_inside else ":warning:"
        lines.append(f"{icon} {escape(draft.window_note)}")
    lines.append("*Approval* required before it is created" if draft.approval_required else "*Approval* not required")
    return "\n".join(lines)


def record_details(record: ScheduleRecord) -> str:
    lines = [
        f"*Requested by* <@{escape(record.requester_id)}>",
        devices_line(record.device_serials),
        f"*Operation* {escape(record.operation_type)}",
        when_line(record),
        f"*Parameters* {_params_text(record.parameters)}",
    ]
    if record.window_note:
        lines.append(f":clock3: {escape(record.window_note)}")
    return "\n".join(lines)


def confirmation_message(draft: ScheduleDraft, request_id: str) -> Message:
    """The requester's ephemeral preview of exactly what will be sent, with Confirm / Cancel."""
    return {
        "text": f"Confirm {draft.operation_type} on {serials_plain(draft.device_serials)}",
        "blocks": [
            section(":mag: *Please check what will be scheduled:*\n" + draft_details(draft)),
            _confirm_actions(request_id),
        ],
    }


def stored_draft_message(record: ScheduleRecord) -> Message:
    """A stored draft's Confirm / Cancel, shown again from the store (the console does, after a restart: Slack's
    ephemeral original is gone by then)."""
    approval = "required before it is created" if record.approval_required else "not required"
    return {
        "text": f"Confirm {record.operation_type} on {serials_plain(record.device_serials)}",
        "blocks": [
            section(f":mag: *Please check what will be scheduled:*\n{record_details(record)}\n*Approval* {approval}"),
            _confirm_actions(record.id),
            context(f"Request `{record.id}`"),
        ],
    }


def _confirm_actions(request_id: str) -> Block:
    return {
        "type": "actions",
        "block_id": "confirm_actions",
        "elements": [
            button("Confirm", ACTION_CONFIRM, request_id, style="primary"),
            button("Cancel", ACTION_CANCEL, request_id),
        ],
    }


def approval_message(record: ScheduleRecord, *, self_approval: bool = False) -> Message:
    """The request as approvers see it in APPROVAL_CHANNEL, with Approve / Reject.

    ``self_approval``: ``ALLOW_SELF_APPROVAL`` is on, so the requester may decide too if they are an approver.
    """
    who = (
        "only approvers can decide (the requester too, if they are one)"
        if self_approval
        else "only approvers can decide; the requester cannot approve their own"
    )
    return {
        "text": f"Approval needed: {record.operation_type} on {serials_plain(record.device_serials)}",
        "blocks": [
            section(":raised_hand: *Approval needed*\n" + record_details(record)),
            {
                "type": "actions",
                "block_id": "approval_actions",
                "elements": [
                    button("Approve", ACTION_APPROVE, record.id, style="primary"),
                    button("Reject", ACTION_REJECT, record.id, style="danger"),
                ],
            },
            context(f"Request `{record.id}` · {who}."),
        ],
    }


FAILURES_SHOWN = 10  # failed items named in a summary of a big request


def progress_line(record: ScheduleRecord) -> str:
    """``:white_check_mark: 120/500 created · :x: 2 failed · :hourglass: 378 waiting to be created``."""
    counts = Counter(item.state for item in record.items)
    parts = [f":white_check_mark: {counts[ItemState.CREATED]:,}/{len(record.items):,} created"]
    if counts[ItemState.FAILED]:
        parts.append(f":x: {counts[ItemState.FAILED]:,} failed")
    if pending := counts[ItemState.WAITING] + counts[ItemState.CREATING]:
        parts.append(f":hourglass: {pending:,} waiting to be created")
    if counts[ItemState.CANCELLED]:
        parts.append(f":no_entry_sign: {counts[ItemState.CANCELLED]:,} not created")
    return " · ".join(parts)


def items_text(record: ScheduleRecord) -> str:
    """Each item with its operation (or why it has none); for a big request, the progress and the failures."""
    if len(record.items) > SHOWN_SERIALS:
        failed = [item for item in record.items if item.state is ItemState.FAILED]
        lines = [progress_line(record)]
        lines += [f":x: `{escape(i.device_serial)}`: {escape(i.error or 'failed')}" for i in failed[:FAILURES_SHOWN]]
        if len(failed) > FAILURES_SHOWN:
            lines.append(f"… and {len(failed) - FAILURES_SHOWN:,} more failures (see /headless audit)")
        return "\n".join(lines)
    lines = [progress_line(record)] if len(record.items) > 1 and record.state is RequestState.APPROVED else []
    for item in record.items:
        serial = f"`{escape(item.device_serial)}`"
        if item.state is ItemState.CREATED:
            lines.append(f":white_check_mark: {serial} → operation `{escape(item.operation_id)}`")
        elif item.state is ItemState.FAILED:
            lines.append(f":x: {serial}: {escape(item.error or 'failed')}")
        elif item.state is ItemState.CREATING:
            lines.append(f":hourglass_flowing_sand: {serial}: being created…")
        elif item.state is ItemState.CANCELLED:
            lines.append(f":no_entry_sign: {serial}: not created")
        else:
            lines.append(f":hourglass: {serial}: waiting to be created")
    return "\n".join(lines)


def outcome_headline(record: ScheduleRecord) -> str:
    who = f"<@{escape(record.decided_by)}>" if record.decided_by else "the bot"
    when = slack_date(record.decided_at) if record.decided_at else ""
    reason = f"\n*Reason* {escape(record.decision_reason)}" if record.decision_reason else ""
    if record.state in (RequestState.APPROVED, RequestState.DONE):
        verb = "Approved" if record.approval_required else "Confirmed"
        return f":white_check_mark: *{verb} by {who}* {when}"
    if record.state is RequestState.REJECTED:
        return f":no_entry: *Rejected by {who}* {when}{reason}"
    if record.state is RequestState.CANCELLED:
        return f":no_entry_sign: *Cancelled by {who}* {when}"
    if record.state is RequestState.EXPIRED:
        return expired_headline(record)
    if record.state is RequestState.PENDING_APPROVAL:
        return ":raised_hand: *Waiting for approval*"
    return ":memo: *Waiting for the requester to confirm*"


def expired_headline(record: ScheduleRecord) -> str:
    """Why a request expired: nobody decided in time, or a decision (``decided_by``) came too late."""
    if record.decided_by is None or record.decided_at is None:
        return (
            ":alarm_clock: *Expired*: the scheduled time passed (or came too close) before anyone decided. "
            "Nothing was created."
        )
    # A click on the approval message is an approval; without one it was the requester's Confirm (or Submit).
    decision = "approval" if record.approval_ts else "confirmation"
    when = "after" if record.decided_at >= record.scheduled_time else "too close to"
    return (
        f":alarm_clock: *Expired*: the {decision} by <@{escape(record.decided_by)}> {slack_date(record.decided_at)} "
        f"came {when} the scheduled time to create the operation. Nothing was created; schedule it again for a "
        "later time."
    )


def decided_message(record: ScheduleRecord) -> Message:
    """The approval (or confirmation) message once decided: no buttons, who decided, what was created."""
    parts = [outcome_headline(record), record_details(record)]
    if record.state in (RequestState.APPROVED, RequestState.DONE):
        parts.append(items_text(record))
    text = truncate("\n".join(parts), 3000)
    return {
        "text": f"{record.operation_type} on {serials_plain(record.device_serials)}: {record.state.value}",
        "blocks": [section(text), context(f"Request `{record.id}`")],
    }


def requester_outcome(record: ScheduleRecord) -> str:
    """A one-message summary for the requester (DM)."""
    serials = _serials_text(record.device_serials)
    head = outcome_headline(record)
    body = items_text(record) if record.state in (RequestState.APPROVED, RequestState.DONE) else ""
    return truncate(f"{head}\nYour {escape(record.operation_type)} request for {serials}.\n{body}".strip(), 3000)
