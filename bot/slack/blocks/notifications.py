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
from bot.i18n import N_, _, ngettext
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


#: The statuses the Control API documents, as the plain words of a notification (any other status reads as sent).
_STATUS_WORDS = {
    "scheduled": N_("scheduled"),
    "pending": N_("pending"),
    "in progress": N_("in progress"),
    "completed": N_("completed"),
    "failed": N_("failed"),
    "expired": N_("expired"),
    "cancelled": N_("cancelled"),
    "unknown": N_("unknown"),
}


def _plain_status(status: str | None) -> str:
    plain = (status or "unknown").replace("_", " ")
    return _(_STATUS_WORDS[plain]) if plain in _STATUS_WORDS else plain


def _what(change: OperationChange) -> str:
    """ "firmware_update on `SN1`" (escaped)."""
    return _("{operation_type} on {serial}").format(
        operation_type=escape(change.operation_type), serial=f"`{escape(change.device_serial)}`"
    )


def _device(change: OperationChange) -> DeviceStatus | None:
    if change.device_online is None and change.last_seen is None and change.firmware_version is None:
        return None
    return DeviceStatus(
        online=change.device_online, last_seen=change.last_seen, firmware_version=change.firmware_version
    )


def _headline(change: OperationChange) -> str:
    """One mrkdwn sentence saying what happened."""
    op = f"`{escape(change.operation_id)}`"
    serial = f"`{escape(change.device_serial)}`"
    if change.failure is Failure.OFFLINE_AT_SCHEDULED_TIME:
        return ":rotating_light: " + _(
            "*Device offline at its scheduled time* — operation {operation} ({what}) cannot start"
        ).format(operation=op, what=_what(change))
    if change.failure is Failure.STATUS:
        return ":rotating_light: " + _("*Operation {operation} {status}* ({what})").format(
            operation=op, status=escape(_plain_status(change.status)), what=_what(change)
        )
    if change.status_changed:
        before = _("unknown (first seen)") if change.old_status is None else status_badge(change.old_status)
        return _("Operation {operation} ({what}): {before} → {after}").format(
            operation=op, what=_what(change), before=before, after=status_badge(change.status)
        )
    if change.device_change == "offline":
        return ":red_circle: " + _("Device {serial} went *offline* — operation {operation} is not finished").format(
            serial=serial, operation=op
        )
    return ":large_green_circle: " + _("Device {serial} is *back online* — operation {operation}").format(
        serial=serial, operation=op
    )


def _fallback(change: OperationChange) -> str:
    ids = {"serial": change.device_serial, "operation": change.operation_id}
    if change.failure is Failure.OFFLINE_AT_SCHEDULED_TIME:
        return _("Device {serial} offline at the scheduled time of operation {operation}").format(**ids)
    if change.failure is Failure.STATUS:
        return _("Operation {operation} {status} ({serial})").format(status=_plain_status(change.status), **ids)
    if change.status_changed:
        return _("Operation {operation} ({serial}): {before} → {after}").format(
            before=_plain_status(change.old_status), after=_plain_status(change.status), **ids
        )
    if change.device_change == "offline":
        return _("Device {serial} offline (operation {operation})").format(**ids)
    return _("Device {serial} back online (operation {operation})").format(**ids)


def change_message(
    change: OperationChange, *, oncall_group: str | None = None, mention_oncall: bool = False
) -> Message:
    """One operation's change. Failures carry serial, type, scheduled time, the last device status, the
    on-call mention (when ``mention_oncall``) and a Refresh button running ``/headless refresh``."""
    ping = mention(oncall_group) if mention_oncall and change.failure is not None else ""
    lines = [ping + _headline(change)]
    if change.status_changed and change.device_change is not None and change.failure is None:
        went = _("Device went offline.") if change.device_change == "offline" else _("Device went back online.")
        lines.append(went)
    if change.failure is not None:
        lines.append(
            _("*Device* {serial} · *Type* {operation_type}").format(
                serial=f"`{escape(change.device_serial)}`", operation_type=escape(change.operation_type)
            )
        )
        lines.append(_("*Scheduled* {date}").format(date=slack_date(change.scheduled_time)))
        if change.failure is Failure.OFFLINE_AT_SCHEDULED_TIME or not change.status_changed:
            lines.append(_("*Status* {status}").format(status=status_badge(change.status)))
        elif change.old_status is not None:
            lines.append(
                _("*Status* {before} → {after}").format(
                    before=status_badge(change.old_status), after=status_badge(change.status)
                )
            )
        lines.append(_("*Last device status* {status}").format(status=device_text(_device(change))))
    blocks: list[Block] = [section("\n".join(lines))]
    if change.failure is not None:
        blocks.append(
            {
                "type": "actions",
                "block_id": "notify_actions",
                "elements": [button(_("Refresh"), ACTION_REFRESH, change.operation_id)],
            }
        )
    else:
        scheduled = _("Scheduled {date} · {device}").format(
            date=slack_date(change.scheduled_time), device=device_text(_device(change))
        )
        blocks.append(context(scheduled))
    text = (ping + _fallback(change)) if ping else _fallback(change)
    return {"text": truncate(text, _TEXT_LIMIT), "blocks": blocks}


def _digest_line(change: OperationChange) -> str:
    flag = ":rotating_light: " if change.failure is not None else ""
    what = f"`{escape(change.operation_id)}` · `{escape(change.device_serial)}` · {escape(change.operation_type)}"
    if change.failure is Failure.OFFLINE_AT_SCHEDULED_TIME:
        offline = _("device offline at its scheduled time ({status})").format(status=status_badge(change.status))
        return f"• {flag}{what}: {offline}"
    if change.status_changed:
        before = _("new") if change.old_status is None else status_badge(change.old_status)
        return f"• {flag}{what}: {before} → {status_badge(change.status)}"
    state = _("device went offline") if change.device_change == "offline" else _("device back online")
    return f"• {flag}{what}: {state}"


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
    numbers = {"count": len(ordered), "failures": failures}
    if failures:
        summary = ngettext(
            "*{count} operation changes* since the last check, *{failures} failure*",
            "*{count} operation changes* since the last check, *{failures} failures*",
            failures,
        )
    else:
        summary = _("*{count} operation changes* since the last check")
    header = f"{ping}:bell: {summary.format(**numbers)}"
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
        blocks.append(section(_("…and {count} more.").format(count=rest)))
    blocks.append(context(_("`/headless status TXN_ID` for details, `/headless refresh TXN_ID` to ask the device.")))
    if failures:
        plain = ngettext(
            "{count} operation changes since the last check, {failures} failure",
            "{count} operation changes since the last check, {failures} failures",
            failures,
        ).format(**numbers)
    else:
        plain = _("{count} operation changes since the last check").format(**numbers)
    text = (ping + plain) if ping else plain
    return {"text": truncate(text, _TEXT_LIMIT), "blocks": blocks[:MAX_BLOCKS]}


def outage_message(since: datetime, reason: str) -> Message:
    """The one alert when the Control API stops answering."""
    # ``reason`` is the Control API client's phrase; the few the bot words itself are msgids (``N_``), translated here.
    said = _(reason) if reason else reason
    text = (
        ":warning: "
        + _("*Control API unreachable since {date}* — {reason}").format(date=slack_date(since), reason=escape(said))
        + "\n"
        + _("Status notifications are paused; I keep trying and will say when it answers again.")
    )
    plain = _("Control API unreachable since {time} UTC").format(time=f"{since:%Y-%m-%d %H:%M}")
    return {"text": plain, "blocks": [section(text)]}


def recovery_message(since: datetime, until: datetime) -> Message:
    """The one message when it answers again."""
    age = format_age((until - since).total_seconds())
    text = ":white_check_mark: " + _(
        "*Control API answering again* after {age} (unreachable since {date}). "
        "Status notifications resume; changes during the outage follow."
    ).format(age=age, date=slack_date(since))
    return {"text": _("Control API answering again after {age}").format(age=age), "blocks": [section(text)]}


__all__ = [
    "DIGEST_MAX_LINES",
    "change_message",
    "digest_message",
    "mention",
    "outage_message",
    "recovery_message",
]
