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
from bot.i18n import N_, _, ngettext
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
    scope = _list_scope(serial, status)
    if total == 0:
        text = _("No operations {scope}.").format(scope=scope) if scope else _("No operations.")
        hint = _("Try `/headless list` without filters.") if scope else _("Schedule one with `/headless schedule`.")
        return {"text": text, "blocks": [section(f":information_source: {text} {hint}")]}
    if not page:
        if scope:
            text = ngettext(
                "No more operations {scope}: all {total} were on the pages before.",
                "No more operations {scope}: all {total} were on the pages before.",
                total,
            ).format(scope=scope, total=total)
        else:
            text = ngettext(
                "No more operations: all {total} were on the pages before.",
                "No more operations: all {total} were on the pages before.",
                total,
            ).format(total=total)
        again = _("{command} starts again.").format(command="`/headless list`")
        return {"text": text, "blocks": [section(f":information_source: {text} {again}")]}
    shown_to = offset + len(page)
    numbers = {"scope": scope, "first": offset + 1, "last": shown_to, "total": total}
    header = (
        _("*Operations {scope}* — {first}–{last} of {total}, newest first")
        if scope
        else _("*Operations* — {first}–{last} of {total}, newest first")
    ).format(**numbers)
    blocks: list[Block] = [section(header)]
    blocks.extend(section(operation_line(op)) for op in page)
    if shown_to < total:
        # ``offset`` too, for a replica still running the version that only knew offsets.
        cursor = ListCursor.after(page[-1]).model_dump(mode="json")
        value = json.dumps(
            {"serial": serial, "status": status, "offset": shown_to, "after": cursor}, separators=(",", ":")
        )
        blocks.append(
            {"type": "actions", "block_id": "list_more", "elements": [button(_("More"), ACTION_LIST_MORE, value)]}
        )
    blocks.append(
        context(_("Times show in your time zone, with UTC in brackets. `/headless status TXN_ID` for details."))
    )
    text = (
        _("Operations {scope}: {first}–{last} of {total}") if scope else _("Operations: {first}–{last} of {total}")
    ).format(**numbers)
    return {"text": text, "blocks": blocks[:MAX_BLOCKS]}


def _list_scope(serial: str | None, status: str | None) -> str:
    """What a list is filtered by, as it follows "Operations": "for serial `SN1` and status `failed`"."""
    if serial and status:
        return _("for serial {serial} and status {status}").format(
            serial=f"`{escape(serial)}`", status=f"`{escape(status)}`"
        )
    if serial:
        return _("for serial {serial}").format(serial=f"`{escape(serial)}`")
    if status:
        return _("for status {status}").format(status=f"`{escape(status)}`")
    return ""


def operation_message(op: Operation, *, refreshed_age: float | None = None, cached: bool = False) -> Message:
    """One operation with its device status; ``refreshed_age`` when the device status was just queried."""
    fields = [
        _("*Operation* {operation_id}  {status}").format(
            operation_id=f"`{escape(op.id)}`", status=status_badge(op.status)
        ),
        _("*Device* {serial} · *Type* {operation_type}").format(
            serial=f"`{escape(op.device_serial)}`", operation_type=escape(op.operation_type)
        ),
        _("*Scheduled* {date}").format(date=slack_date(op.scheduled_time)),
    ]
    if op.created_at is not None:
        fields.append(_("*Created* {date}").format(date=slack_date(op.created_at)))
    fields.append(_("*Device status* {status}").format(status=device_text(op.device_status)))
    if op.parameters:
        fields.append(_("*Parameters* {parameters}").format(parameters=parameters_text(op.parameters)))
    blocks: list[Block] = [section("\n".join(fields))]
    if refreshed_age is not None:
        if cached:
            note = ":recycle: " + _(
                "Device status refreshed {age} ago; "
                "shown from cache to spare the device (the API asks to refresh sparingly)."
            ).format(age=format_age(refreshed_age))
        else:
            note = ":satellite_antenna: " + _("Device status refreshed just now.")
        blocks.append(context(note))
    blocks.append(
        {
            "type": "actions",
            "block_id": "operation_actions",
            "elements": [button(_("Refresh"), ACTION_REFRESH, op.id)],
        }
    )
    return {
        "text": escape(
            _("Operation {operation_id}: {status} ({serial}, {operation_type})").format(
                operation_id=op.id, status=op.status, serial=op.device_serial, operation_type=op.operation_type
            )
        ),
        "blocks": blocks,
    }


def watch_announcement(op: Operation, *, asked_by: str) -> Message:
    """Posted in a channel when it starts following ``op``: why status changes will appear there, and how to stop
    them. ``asked_by`` is a user id (anything else is not mentioned)."""
    who = f"<@{asked_by}>" if USER_ID.match(asked_by) else _("Someone")
    asked = _(
        "{who} asked for the status changes of `{operation_id}` ({operation_type} on `{serial}`, {status}) to be "
        "posted here."
    ).format(
        who=who,
        operation_id=escape(op.id),
        operation_type=escape(op.operation_type),
        serial=escape(op.device_serial),
        status=status_badge(op.status),
    )
    stop = _("{command} in this channel stops them.").format(command=f"`/headless unwatch {escape(op.id)}`")
    return text_message(f":eyes: {asked} {stop}")


#: Each line of the help, with what the reader must be allowed to see it (``None``: everyone); msgids, rendered with
#: ``_(line)`` for the reader.
HELP_LINES: tuple[tuple[str | None, str], ...] = (
    ("list", N_("`/headless list [SERIAL] [status=STATUS]` — operations, newest first "
     "(e.g. `/headless list status=failed`)")),
    ("status", N_("`/headless status TXN_ID` — one operation and its device "
     "(e.g. `/headless status txn_12345`)")),
    ("refresh", N_("`/headless refresh TXN_ID` — ask the device for its current status "
     "(slow; at most once a minute)")),
    ("schedule", N_("`/headless schedule` — open the scheduling form; "
     "or `/headless schedule SERIAL TYPE WHEN [key=value …]`")),
    ("schedule", N_("Parameters: `key=value` sends text as typed (`true`/`false` are booleans), "
     '`key:=JSON` a JSON value (`retries:=3`, `tag:=null`); quote a value with spaces: `note="two words"`')),
    ("watch", N_("`/headless watch TXN_ID [#channel]` / `unwatch TXN_ID` — "
     "follow an operation's status changes")),
    ("audit", N_("`/headless audit [SERIAL|TXN_ID]` — who did what (approvers)")),
    ("devices", N_("`/headless devices [SELECTOR]` — the device inventory: counts per site, zone and tag, "
     "then the devices (e.g. `/headless devices site:san-jose+tag:gateway`, `/headless devices SN12*`)")),
    (None, N_("`/headless types` — the operation types and their parameters "
     "(type, required, allowed values, default)")),
    ("rollout", N_("`/headless rollout TYPE TARGETS WHEN [waves=1,10,50,100] [soak=30m] [gate=auto|manual] "
     "[failure_threshold=10%] [min_executed=5] [max_failures=N] [rate=60/min] [key=value …]` — a staged rollout in "
     "waves, stopping when failures climb (e.g. `/headless rollout firmware_update site:san-jose+tag:gateway "
     "tomorrow 2am target_version=1.10`)")),
    ("list", N_("`/headless rollouts` — the active and recent rollouts; `/headless rollout status ID` shows one")),
    (None, N_("`/headless can ACTION [in #channel]` — may you do it there, and which access rule decides")),
    (None, N_("`/headless language es|en|auto` — the language the bot speaks to you (Spanish aliases work too: "
              "`/headless lista`, `estado`, `programar`, `ayuda`)")),
    (None, N_("`/headless help` — this help")),
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
        nudge = " " + _("Did you mean `{suggestion}`?").format(suggestion=escape(suggestion)) if suggestion else ""
        lines.append(":thinking_face: " + _("I don't know `{word}`.").format(word=escape(word)) + nudge)
    lines.append(_("*How to use /headless*") if allowed is None else _("*How to use /headless* (what you may do here)"))
    lines.extend(f"• {_(line)}" for needs, line in HELP_LINES if allowed is None or needs is None or needs in allowed)
    text = "\n".join(lines)
    return {"text": text.split("\n", 1)[0], "blocks": [section(text)]}


def audit_message(entries: Sequence[Any], *, subject: str | None) -> Message:
    """Recent audit entries (``bot.domain.requests.AuditRecord``), newest first."""
    shown = f"`{escape(subject)}`" if subject else ""
    if not entries:
        none = _("No audit entries for {subject}.").format(subject=shown) if subject else _("No audit entries.")
        return text_message(f":ledger: {none}")
    title = _("*Audit log for {subject}* (newest first)") if subject else _("*Audit log* (newest first)")
    lines = [f":ledger: {title.format(subject=shown)}"]
    for entry in entries:
        actor = _("the bot") if entry.actor_id == "bot" else f"<@{escape(entry.actor_id)}>"
        where = " " + _("in {channel}").format(channel=f"<#{escape(entry.channel_id)}>") if entry.channel_id else ""
        lines.append(
            f"• {slack_date(entry.at)} {actor} *{escape(entry.action)}* `{escape(entry.subject)}`"
            f" → {escape(entry.outcome)}{where}"
        )
    text = _("Audit log for {subject}").format(subject=shown) if subject else _("Audit log")
    return {"text": text, "blocks": [section(truncate("\n".join(lines), MAX_SECTION_TEXT))]}
