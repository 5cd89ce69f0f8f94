"""Domain objects → Block Kit. Pure functions: no I/O, no clock unless passed in.

Every message carries a plain ``text`` fallback (notifications, screen readers) and stays inside Block Kit's limits:
at most 50 blocks, 3000 characters per section text, 75 per button label, 2000 per button value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.control.models import DeviceStatus, Operation
from bot.domain.ids import USER_ID
from bot.domain.statuses import is_failure, is_terminal
from bot.services.operations import ListCursor
from bot.when import format_local

Block = dict[str, Any]
Message = dict[str, Any]

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
LIST_PAGE_SIZE = 15

ACTION_LIST_MORE = "list_more"
ACTION_REFRESH = "refresh_operation"

_STATUS_EMOJI: dict[str, str] = {
    "scheduled": ":calendar:",
    "pending": ":hourglass_flowing_sand:",
    "in_progress": ":arrows_counterclockwise:",
    "running": ":arrows_counterclockwise:",
    "completed": ":white_check_mark:",
    "succeeded": ":white_check_mark:",
    "success": ":white_check_mark:",
    "failed": ":x:",
    "error": ":x:",
    "expired": ":alarm_clock:",
    "cancelled": ":no_entry_sign:",
    "canceled": ":no_entry_sign:",
}


# Bidirectional controls: embeddings, overrides and isolates, and the invisible direction marks. Echoed as they are,
# they make text read in another order than it is stored (``abc\u202edcba`` reads "abcabcd"), so an approver could
# be shown one value while another is sent.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
BIDI_SHOWN_AS = "\ufffd"
# Slack's code spans cannot escape a backtick: one in echoed text would end the span (or open one) and spill the
# rest. It is shown as the look-alike modifier letter grave accent (only shown: what is sent is what was typed).
BACKTICK_SHOWN_AS = "\u02cb"


def neutralize(text: object) -> str:
    """``text`` with every bidirectional control shown as U+FFFD: for echoes in plain text (modal errors)."""
    return _BIDI.sub(BIDI_SHOWN_AS, str(text))


def escape(text: object) -> str:
    """User text made safe to echo in mrkdwn, in or out of a code span: the three characters mrkdwn reserves are
    escaped (so it can never become a mention or a link), backticks cannot end a code span, and bidirectional
    controls cannot reorder what is shown."""
    text = neutralize(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("`", BACKTICK_SHOWN_AS)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def status_badge(status: str) -> str:
    """A consistent emoji and word for a status, including statuses the bot has never seen."""
    key = status.casefold()
    emoji = _STATUS_EMOJI.get(key)
    if emoji is None:
        emoji = ":x:" if is_failure(status) else (":grey_question:" if not is_terminal(status) else ":white_circle:")
    word = escape(status.replace("_", " ").strip() or "unknown").capitalize()
    return f"{emoji} {word}"


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def slack_date(moment: datetime) -> str:
    """Each reader sees ``moment`` in their own zone; the fallback (and the UTC suffix) is UTC.

    The suffix carries its own day (``(Sat 7 Mar 02:00 UTC)``): the bot cannot know each reader's day, and an
    evening in the Americas is already tomorrow in UTC.
    """
    epoch = int(moment.timestamp())
    fallback = utc_text(moment)
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{fallback}> ({format_local(moment, 'UTC')})"


def device_text(status: DeviceStatus | None) -> str:
    if status is None:
        return "device status unknown"
    parts = []
    if status.online is True:
        parts.append(":large_green_circle: online")
    elif status.online is False:
        parts.append(":red_circle: offline")
    else:
        parts.append(":white_circle: connectivity unknown")
    if status.last_seen is not None:
        parts.append(f"last seen {slack_date(status.last_seen)}")
    if status.firmware_version:
        parts.append(f"firmware `{escape(status.firmware_version)}`")
    return " · ".join(parts)


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION_TEXT)}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, MAX_SECTION_TEXT)}]}


def button(text: str, action_id: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": truncate(text, 75), "emoji": True},
        "action_id": action_id,
        "value": value[:2000],
    }
    if style:
        element["style"] = style
    return element


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


def parameters_text(parameters: Mapping[str, Any]) -> str:
    """Each parameter as ``key=JSON`` in a code span: its type shows (``"1.10"`` is text, ``3`` a number, ``true`` a
    boolean) and text shows as text (``é``, not ``\\u00e9``)."""
    return ", ".join(f"`{escape(k)}={escape(json.dumps(v, ensure_ascii=False))}`" for k, v in parameters.items())


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


def format_age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    return f"{minutes} min {secs} s" if secs else f"{minutes} min"


def text_message(text: str) -> Message:
    """A one-section message whose ``text`` is already safe mrkdwn."""
    return {"text": text, "blocks": [section(text)]}


HELP_LINES = (
    "`/headless list [SERIAL] [status=STATUS]` — operations, newest first (e.g. `/headless list status=failed`)",
    "`/headless status TXN_ID` — one operation and its device (e.g. `/headless status txn_12345`)",
    "`/headless refresh TXN_ID` — ask the device for its current status (slow; at most once a minute)",
    "`/headless schedule` — open the scheduling form; or `/headless schedule SERIAL TYPE WHEN [key=value …]`",
    "Parameters: `key=value` sends text as typed (`true`/`false` are booleans), `key:=JSON` a JSON value "
    '(`retries:=3`, `tag:=null`); quote a value with spaces: `note="two words"`',
    "`/headless watch TXN_ID [#channel]` / `unwatch TXN_ID` — follow an operation's status changes",
    "`/headless audit [SERIAL|TXN_ID]` — who did what (approvers)",
    "`/headless help` — this help",
)


def help_message(*, word: str | None = None, suggestion: str | None = None, problem: str | None = None) -> Message:
    lines = []
    if problem:
        lines.append(f":warning: {problem}")
    elif word is not None:
        nudge = f" Did you mean `{escape(suggestion)}`?" if suggestion else ""
        lines.append(f":thinking_face: I don't know `{escape(word)}`.{nudge}")
    lines.append("*How to use /headless*")
    lines.extend(f"• {line}" for line in HELP_LINES)
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
