"""Operations → Block Kit: the list, one operation, the watch announcement, help and the audit log. Pure, no I/O.

Every message carries a plain ``text`` fallback (notifications, screen readers) and stays inside Block Kit's limits:
at most 50 blocks, 3000 characters per section text, 75 per button label, 2000 per button value.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from bot.control.models import Operation
from bot.domain.ids import USER_ID
from bot.services.operations import ListCursor
from bot.slack.blocks.common import (
    MAX_BLOCKS,
    MAX_SECTION_TEXT,
    Block,
    Message,
    button,
    context,
    device_text,
    escape,
    format_age,
    parameters_text,
    section,
    slack_date,
    status_badge,
    text_message,
    truncate,
)

LIST_PAGE_SIZE = 15

ACTION_LIST_MORE = "list_more"
ACTION_REFRESH = "refresh_operation"
WATCH_FROM_MESSAGE = "watch_operation"  # the message shortcut "Watch this operation"


def operation_line(op: Operation) -> str:
    return (
        f"`{escape(op.id)}` · `{escape(op.device_serial)}` · {escape(op.operation_type)} · "
        f"{status_badge(op.status)} · {slack_date(op.scheduled_time)}"
    )


def list_message(
    operations: Sequence[Operation],
    *,
    serial: str | None,
    status: str | None,
    offset: int = 0,
    page_size: int = LIST_PAGE_SIZE,
    after: ListCursor | None = None,
) -> Message:
    """One page of ``operations`` (already filtered and sorted ``newest_first``) with a More button.

    The page starts just after ``after`` (the More button's cursor: operations arriving between pages neither
    repeat nor shift what follows), or at ``offset`` (buttons posted before cursors existed).
    """
    total = len(operations)
    if after is not None:
        offset = after.position(list(operations))
    page = list(operations[offset : offset + page_size])
    filters = []
    if serial:
        filters.append(f"serial `{escape(serial)}`")
    if status:
        filters.append(f"status `{escape(status)}`")
    scope = f" for {' and '.join(filters)}" if filters else ""
    if total == 0:
        text = f"No operations{scope}."
        hint = "Schedule one with `/headless schedule`." if not filters else "Try `/headless list` without filters."
        return {"text": text, "blocks": [section(f":information_source: {text} {hint}")]}
    if not page:
        text = f"No more operations{scope}: all {total} were on the pages before."
        return {"text": text, "blocks": [section(f":information_source: {text} `/headless list` starts again.")]}
    shown_to = offset + len(page)
    header = f"*Operations{scope}* — {offset + 1}–{shown_to} of {total}, newest first"
    blocks: list[Block] = [section(header)]
    blocks.extend(section(operation_line(op)) for op in page)
    if shown_to < total:
        # ``offset`` too, for a replica still running the version that only knew offsets.
        cursor = ListCursor.after(page[-1]).model_dump(mode="json")
        value = json.dumps(
            {"serial": serial, "status": status, "offset": shown_to, "after": cursor}, separators=(",", ":")
        )
        blocks.append(
            {"type": "actions", "block_id": "list_more", "elements": [button("More", ACTION_LIST_MORE, value)]}
        )
    blocks.append(context("Times show in your time zone, with UTC in brackets. `/headless status TXN_ID` for details."))
    return {"text": f"Operations{scope}: {offset + 1}–{shown_to} of {total}", "blocks": blocks[:MAX_BLOCKS]}


def operation_message(op: Operation, *, refreshed_age: float | None = None, cached: bool = False) -> Message:
    """One operation with its device status; ``refreshed_age`` when the device status was just queried."""
    fields = [
        f"*Operation* `{escape(op.id)}`  {status_badge(op.status)}",
        f"*Device* `{escape(op.device_serial)}` · *Type* {escape(op.operation_type)}",
        f"*Scheduled* {slack_date(op.scheduled_time)}",
    ]
    if op.created_at is not None:
        fields.append(f"*Created* {slack_date(op.created_at)}")
    fields.append(f"*Device status* {device_text(op.device_status)}")
    if op.parameters:
        fields.append(f"*Parameters* {parameters_text(op.parameters)}")
    blocks: list[Block] = [section("\n".join(fields))]
    if refreshed_age is not None:
        if cached:
            note = (
                f":recycle: Device status refreshed {format_age(refreshed_age)} ago; "
                "shown from cache to spare the device (the API asks to refresh sparingly)."
            )
        else:
            note = ":satellite_antenna: Device status refreshed just now."
        blocks.append(context(note))
    blocks.append(
        {
            "type": "actions",
            "block_id": "operation_actions",
            "elements": [button("Refresh", ACTION_REFRESH, op.id)],
        }
    )
    return {
        "text": escape(f"Operation {op.id}: {op.status} ({op.device_serial}, {op.operation_type})"),
        "blocks": blocks,
    }


def watch_announcement(op: Operation, *, asked_by: str) -> Message:
    """Posted in a channel when it starts following ``op``: why status changes will appear there, and how to stop
    them. ``asked_by`` is a user id (anything else is not mentioned)."""
    who = f"<@{asked_by}>" if USER_ID.match(asked_by) else "Someone"
    text = (
        f":eyes: {who} asked for the status changes of `{escape(op.id)}` ({escape(op.operation_type)} on "
        f"`{escape(op.device_serial)}`, {status_badge(op.status)}) to be posted here. "
        f"`/headless unwatch {escape(op.id)}` in this channel stops them."
    )
    return text_message(text)


#: Each line of the help, with what the reader must be allowed to see it (``None``: everyone).
HELP_LINES: tuple[tuple[str | None, str], ...] = (
    ("list", "`/headless list [SERIAL] [status=STATUS]` — operations, newest first "
     "(e.g. `/headless list status=failed`)"),
    ("status", "`/headless status TXN_ID` — one operation and its device (e.g. `/headless status txn_12345`)"),
    ("refresh", "`/headless refresh TXN_ID` — ask the device for its current status (slow; at most once a minute)"),
    ("schedule", "`/headless schedule` — open the scheduling form; "
     "or `/headless schedule SERIAL TYPE WHEN [key=value …]`"),
    ("schedule", "Parameters: `key=value` sends text as typed (`true`/`false` are booleans), `key:=JSON` a JSON value "
     '(`retries:=3`, `tag:=null`); quote a value with spaces: `note="two words"`'),
    ("watch", "`/headless watch TXN_ID [#channel]` / `unwatch TXN_ID` — follow an operation's status changes"),
    ("audit", "`/headless audit [SERIAL|TXN_ID]` — who did what (approvers)"),
    ("devices", "`/headless devices [SELECTOR]` — the device inventory: counts per site, zone and tag, "
     "then the devices (e.g. `/headless devices site:san-jose+tag:gateway`, `/headless devices SN12*`)"),
    (None, "`/headless types` — the operation types and their parameters "
     "(type, required, allowed values, default)"),
    ("rollout", "`/headless rollout TYPE TARGETS WHEN [waves=1,10,50,100] [soak=30m] [gate=auto|manual] "
     "[failure_threshold=10%] [min_executed=5] [max_failures=N] [rate=60/min] [key=value …]` — a staged rollout in "
     "waves, stopping when failures climb (e.g. `/headless rollout firmware_update site:san-jose+tag:gateway "
     "tomorrow 2am target_version=1.10`)"),
    ("list", "`/headless rollouts` — the active and recent rollouts; `/headless rollout status ID` shows one"),
    (None, "`/headless can ACTION [in #channel]` — may you do it there, and which access rule decides"),
    (None, "`/headless help` — this help"),
)  # fmt: skip


def help_message(
    *,
    word: str | None = None,
    suggestion: str | None = None,
    problem: str | None = None,
    allowed: Collection[str] | None = None,
) -> Message:
    """The help; with ``allowed`` (the access rules are in force), only the lines the reader may use."""
    lines = []
    if problem:
        lines.append(f":warning: {problem}")
    elif word is not None:
        nudge = f" Did you mean `{escape(suggestion)}`?" if suggestion else ""
        lines.append(f":thinking_face: I don't know `{escape(word)}`.{nudge}")
    lines.append("*How to use /headless*" + (" (what you may do here)" if allowed is not None else ""))
    lines.extend(f"• {line}" for needs, line in HELP_LINES if allowed is None or needs is None or needs in allowed)
    text = "\n".join(lines)
    return {"text": text.split("\n", 1)[0], "blocks": [section(text)]}


def audit_message(entries: Sequence[Any], *, subject: str | None) -> Message:
    """Recent audit entries (``bot.domain.requests.AuditRecord``), newest first."""
    scope = f" for `{escape(subject)}`" if subject else ""
    if not entries:
        return text_message(f":ledger: No audit entries{scope}.")
    lines = [f":ledger: *Audit log{scope}* (newest first)"]
    for entry in entries:
        actor = "the bot" if entry.actor_id == "bot" else f"<@{escape(entry.actor_id)}>"
        where = f" in <#{escape(entry.channel_id)}>" if entry.channel_id else ""
        lines.append(
            f"• {slack_date(entry.at)} {actor} *{escape(entry.action)}* `{escape(entry.subject)}`"
            f" → {escape(entry.outcome)}{where}"
        )
    return {"text": f"Audit log{scope}", "blocks": [section(truncate("\n".join(lines), MAX_SECTION_TEXT))]}
