"""The notifier's messages → Block Kit. Pure functions: no I/O, no clock (times are passed in).

Everything that comes from the Control API (ids, serials, types, statuses, firmware) is escaped, so an
operation cannot ping ``<!channel>`` through the bot. Every message has a plain ``text`` fallback (what a
phone notification shows) and stays inside Block Kit's limits (≤ 50 blocks, ≤ 3000 characters per section).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.control.models import DeviceStatus
from bot.domain.changes import Failure, OperationChange
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
    section,
    slack_date,
    status_badge,
    truncate,
)
from bot.slack.blocks.operations import ACTION_REFRESH

#: Lines of a digest before "and N more" (a digest is for skimming; `/headless list` has the rest).
DIGEST_MAX_LINES = 300
_TEXT_LIMIT = 3000  # the plain-text fallback: what notifications and screen readers get


def mention(group_id: str | None) -> str:
    """``<!subteam^S…>`` for the on-call user group, or nothing when none is configured."""
    return f"<!subteam^{escape(group_id)}> " if group_id else ""


def _plain_status(status: str | None) -> str:
    return (status or "unknown").replace("_", " ")


def _device(change: OperationChange) -> DeviceStatus | None:
    if change.device_online is None and change.last_seen is None and change.firmware_version is None:
        return None
    return DeviceStatus(
        online=change.device_online, last_seen=change.last_seen, firmware_version=change.firmware_version
    )


def _headline(change: OperationChange) -> str:
    """One mrkdwn sentence saying what happened."""
    op = f"`{escape(change.operation_id)}`"
    what = f"{escape(change.operation_type)} on `{escape(change.device_serial)}`"
    if change.failure is Failure.OFFLINE_AT_SCHEDULED_TIME:
        return f":rotating_light: *Device offline at its scheduled time* — operation {op} ({what}) cannot start"
    if change.failure is Failure.STATUS:
        return f":rotating_light: *Operation {op} {escape(_plain_status(change.status))}* ({what})"
    if change.status_changed:
        before = "unknown (first seen)" if change.old_status is None else status_badge(change.old_status)
        return f"Operation {op} ({what}): {before} → {status_badge(change.status)}"
    if change.device_change == "offline":
        return f":red_circle: Device `{escape(change.device_serial)}` went *offline* — operation {op} is not finished"
    return f":large_green_circle: Device `{escape(change.device_serial)}` is *back online* — operation {op}"


def _fallback(change: OperationChange) -> str:
    if change.failure is Failure.OFFLINE_AT_SCHEDULED_TIME:
        return f"Device {change.device_serial} offline at the scheduled time of operation {change.operation_id}"
    if change.failure is Failure.STATUS:
        return f"Operation {change.operation_id} {_plain_status(change.status)} ({change.device_serial})"
    if change.status_changed:
        return (
            f"Operation {change.operation_id} ({change.device_serial}): "
            f"{_plain_status(change.old_status)} → {_plain_status(change.status)}"
        )
    state = "offline" if change.device_change == "offline" else "back online"
    return f"Device {change.device_serial} {state} (operation {change.operation_id})"


def change_message(
    change: OperationChange, *, oncall_group: str | None = None, mention_oncall: bool = False
) -> Message:
    """One operation's change. Failures carry serial, type, scheduled time, the last device status, the
    on-call mention (when ``mention_oncall``) and a Refresh button running ``/headless refresh``."""
    ping = mention(oncall_group) if mention_oncall and change.failure is not None else ""
    lines = [ping + _headline(change)]
    if change.status_changed and change.device_change is not None and change.failure is None:
        lines.append(f"Device went {'offline' if change.device_change == 'offline' else 'back online'}.")
    if change.failure is not None:
        lines.append(f"*Device* `{escape(change.device_serial)}` · *Type* {escape(change.operation_type)}")
        lines.append(f"*Scheduled* {slack_date(change.scheduled_time)}")
        if change.failure is Failure.OFFLINE_AT_SCHEDULED_TIME or not change.status_changed:
            lines.append(f"*Status* {status_badge(change.status)}")
        elif change.old_status is not None:
            lines.append(f"*Status* {status_badge(change.old_status)} → {status_badge(change.status)}")
        lines.append(f"*Last device status* {device_text(_device(change))}")
    blocks: list[Block] = [section("\n".join(lines))]
    if change.failure is not None:
        blocks.append(
            {
                "type": "actions",
                "block_id": "notify_actions",
                "elements": [button("Refresh", ACTION_REFRESH, change.operation_id)],
            }
        )
    else:
        blocks.append(context(f"Scheduled {slack_date(change.scheduled_time)} · {device_text(_device(change))}"))
    text = (ping + _fallback(change)) if ping else _fallback(change)
    return {"text": truncate(text, _TEXT_LIMIT), "blocks": blocks}


def _digest_line(change: OperationChange) -> str:
    flag = ":rotating_light: " if change.failure is not None else ""
    what = f"`{escape(change.operation_id)}` · `{escape(change.device_serial)}` · {escape(change.operation_type)}"
    if change.failure is Failure.OFFLINE_AT_SCHEDULED_TIME:
        return f"• {flag}{what}: device offline at its scheduled time ({status_badge(change.status)})"
    if change.status_changed:
        before = "new" if change.old_status is None else status_badge(change.old_status)
        return f"• {flag}{what}: {before} → {status_badge(change.status)}"
    state = "went offline" if change.device_change == "offline" else "back online"
    return f"• {flag}{what}: device {state}"


def digest_message(
    changes: Sequence[OperationChange], *, oncall_group: str | None = None, mention_oncall: bool = True
) -> Message:
    """Many changes for one channel in one poll, as one message instead of one post each.

    Failures come first and, when there are any (and ``mention_oncall``: not in a thread whose channel message
    pages), the on-call group is mentioned once. Lines are packed into sections of at most 3000 characters, at
    most ``DIGEST_MAX_LINES`` lines and 50 blocks; the rest is summarised as "and N more".
    """
    ordered = sorted(changes, key=lambda change: change.failure is None)  # stable: failures first
    failures = sum(1 for change in ordered if change.failure is not None)
    ping = mention(oncall_group) if failures and mention_oncall else ""
    count = f"{len(ordered)} operation changes"
    failed = f", *{failures} failure{'s' if failures != 1 else ''}*" if failures else ""
    header = f"{ping}:bell: *{count}* since the last check{failed}"
    blocks: list[Block] = [section(header)]
    reserve = 2  # the "and N more" line and the closing context
    current: list[str] = []
    size = 0
    shown = 0
    for change in ordered[:DIGEST_MAX_LINES]:
        line = truncate(_digest_line(change), MAX_SECTION_TEXT)
        if current and size + len(line) + 1 > MAX_SECTION_TEXT:
            if len(blocks) + 1 + reserve > MAX_BLOCKS:
                break
            blocks.append(section("\n".join(current)))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
        shown += 1
    if current and len(blocks) + 1 + reserve <= MAX_BLOCKS:
        blocks.append(section("\n".join(current)))
    else:
        shown -= len(current)
    rest = len(ordered) - shown
    if rest > 0:
        blocks.append(section(f"…and {rest} more."))
    blocks.append(context("`/headless status TXN_ID` for details, `/headless refresh TXN_ID` to ask the device."))
    plain = f"{len(ordered)} operation changes since the last check"
    if failures:
        plain += f", {failures} failure{'s' if failures != 1 else ''}"
    text = (ping + plain) if ping else plain
    return {"text": truncate(text, _TEXT_LIMIT), "blocks": blocks[:MAX_BLOCKS]}


def outage_message(since: datetime, reason: str) -> Message:
    """The one alert when the Control API stops answering."""
    text = (
        f":warning: *Control API unreachable since {slack_date(since)}* — {escape(reason)}\n"
        "Status notifications are paused; I keep trying and will say when it answers again."
    )
    return {"text": f"Control API unreachable since {since:%Y-%m-%d %H:%M} UTC", "blocks": [section(text)]}


def recovery_message(since: datetime, until: datetime) -> Message:
    """The one message when it answers again."""
    age = format_age((until - since).total_seconds())
    text = (
        f":white_check_mark: *Control API answering again* after {age} (unreachable since {slack_date(since)}). "
        "Status notifications resume; changes during the outage follow."
    )
    return {"text": f"Control API answering again after {age}", "blocks": [section(text)]}


__all__ = [
    "DIGEST_MAX_LINES",
    "change_message",
    "digest_message",
    "mention",
    "outage_message",
    "recovery_message",
]
