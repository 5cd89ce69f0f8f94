"""Block Kit for the bot's App Home (the Home tab): pure rendering of ``bot.services.home.HomeFacts``, no I/O.

Sections, each with its count and a "more" hint when cut: Waiting for you (Approve / Reject / Promote, the same
action ids and values as the channel's buttons, so one handler and one access check serve both), Your requests,
Next 24 hours, Active rollouts (Pause / Resume), Failures in the last 24 h (Refresh), then the buttons that open the
forms and the maintenance windows in force. Times show in the reader's zone (Slack's date token; its fallback in
the reader's zone too). Everything a person typed is escaped. At most ``MAX_HOME_BLOCKS`` blocks (Slack's limit).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from bot.domain.home import KnownOperation
from bot.domain.ids import TXN_ID
from bot.domain.requests import ScheduleRecord
from bot.domain.rollouts import state_words
from bot.i18n import N_, _, ngettext
from bot.services.home import HomeFacts, Page, Upcoming, Waiting
from bot.services.rollouts import PAUSABLE, RolloutView
from bot.slack.blocks import operations as ob
from bot.slack.blocks import rollout_modal as rm
from bot.slack.blocks import rollouts as rb
from bot.slack.blocks import scheduling as sb
from bot.slack.blocks.common import Block, button, context, escape, status_badge, truncate
from bot.when import format_local
from bot.when.windows import format_windows

MAX_HOME_BLOCKS = 100  # Slack's limit for a Home tab
HOME_CALLBACK = "home"
#: The Home's form buttons carry the ids of the shortcuts that open the same forms (one handler, one access rule).
ACTION_HOME_SCHEDULE = sb.SCHEDULE_SHORTCUT
ACTION_HOME_ROLLOUT = rm.ROLLOUT_SHORTCUT
#: A request's state as the Home shows it (marked for translation; translated where shown).
REQUEST_STATES = {
    "draft": N_("draft"), "pending_approval": N_("pending approval"), "approved": N_("approved"),
    "rejected": N_("rejected"), "cancelled": N_("cancelled"), "expired": N_("expired"), "done": N_("done"),
}  # fmt: skip
_LINE = 2900  # characters of one section's text (Slack: 3,000)


def _when(moment: datetime, tz: str) -> str:
    """``moment`` in the reader's own zone: Slack's date token, its fallback written in ``tz``."""
    fallback = format_local(moment, tz)
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{escape(fallback)}>"


def _header(text: str, page: Page[Any] | None = None) -> Block:
    count = f" ({page.total:,})" if page is not None else ""
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(f"{text}{count}", 150), "emoji": True}}


def _section(text: str, block_id: str, accessory: dict[str, Any] | None = None) -> Block:
    block: Block = {"type": "section", "block_id": block_id, "text": {"type": "mrkdwn", "text": truncate(text, _LINE)}}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def _actions(block_id: str, *elements: dict[str, Any]) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)}


def _more(page: Page[Any], hint: str) -> list[Block]:
    return [context(_("…and {count} more. {hint}").format(count=f"{page.more:,}", hint=hint))] if page.more else []


def _devices(count: int) -> str:
    return ngettext("{count} device", "{count} devices", count).format(count=f"{count:,}")


def _serials(record: ScheduleRecord) -> str:
    serials = record.device_serials
    shown = ", ".join(f"`{escape(truncate(s, 64))}`" for s in serials[:3])
    if len(serials) <= 3:
        return shown
    return _("{shown} and {count} more").format(shown=shown, count=f"{len(serials) - 3:,}")


# ---------------------------------------------------------------------------------------------- sections


def _waiting(facts: HomeFacts, tz: str) -> list[Block]:
    page = facts.waiting
    blocks: list[Block] = [_header(":raised_hand: " + _("Waiting for you"), page)]
    if not facts.is_approver:
        return [*blocks, context(_("You are not an approver: nothing waits for your decision."))]
    if not page.items:
        return [*blocks, context(_("Nothing waits for your decision."))]
    for n, entry in enumerate(page.items):
        blocks += _waiting_entry(entry, n, tz)
    return blocks + _more(page, _("Decide in the approval channel, oldest first."))


def _waiting_entry(entry: Waiting, n: int, tz: str) -> list[Block]:
    if entry.request is not None:
        r = entry.request
        text = _("*{operation_type}* on {serials} · {when}\nRequested by {requester} · {request}").format(
            operation_type=escape(r.operation_type), serials=_serials(r), when=_when(r.scheduled_time, tz),
            requester=f"<@{escape(r.requester_id)}>", request=f"`{r.id}`",
        )  # fmt: skip
        return [
            _section(text, f"home_wait_{n}"),
            _actions(
                f"home_wait_actions_{n}",
                button(_("Approve"), sb.ACTION_APPROVE, r.id, style="primary"),
                button(_("Reject"), sb.ACTION_REJECT, r.id, style="danger"),
            ),
        ]
    rollout = entry.rollout
    assert rollout is not None
    head = _("*Rollout* {rollout} · *{operation_type}* on {devices}").format(
        rollout=f"`{rollout.id}`", operation_type=escape(rollout.operation_type), devices=_devices(rollout.total)
    )
    if entry.promote:
        text = (
            head
            + "\n"
            + _("Wave {wave} of {waves} is done; the next waits for a promote.").format(
                wave=rollout.current_wave, waves=len(rollout.plan)
            )
        )
        return [
            _section(text, f"home_wait_{n}"),
            _actions(
                f"home_wait_actions_{n}", button(_("Promote"), rb.ACTION_ROLLOUT_PROMOTE, rollout.id, style="primary")
            ),
        ]
    text = _("{head} in {waves} waves · from {when}\nRequested by {requester}").format(
        head=head, waves=len(rollout.plan), when=_when(rollout.scheduled_time, tz),
        requester=f"<@{escape(rollout.requester_id)}>",
    )  # fmt: skip
    return [
        _section(text, f"home_wait_{n}"),
        _actions(
            f"home_wait_actions_{n}",
            button(_("Approve"), rb.ACTION_ROLLOUT_APPROVE, rollout.id, style="primary"),
            button(_("Reject"), rb.ACTION_ROLLOUT_REJECT, rollout.id, style="danger"),
        ),
    ]


def _yours(facts: HomeFacts, tz: str) -> list[Block]:
    page = facts.yours
    blocks: list[Block] = [_header(":memo: " + _("Your requests"), page)]
    if not page.items:
        return [*blocks, context(_("No requests of yours this week. *Schedule an operation* below to make one."))]
    lines = [
        "• "
        + _("*{operation_type}* on {serials} · {when} · *{state}* · {request}").format(
            operation_type=escape(r.operation_type),
            serials=_serials(r),
            when=_when(r.scheduled_time, tz),
            state=_(REQUEST_STATES.get(r.state.value, r.state.value.replace("_", " "))),
            request=f"`{r.id}`",
        )
        for r in page.items
    ]
    more = _more(page, _("{command} lists them all.").format(command="`/headless audit`"))
    return [*blocks, _section("\n".join(lines), "home_yours"), *more]


def _upcoming_line(entry: Upcoming, tz: str) -> str:
    if entry.operation is not None:
        op = entry.operation
        return "• " + _("{when} · *{operation_type}* on {serial} · {operation} · {status}").format(
            when=_when(entry.at, tz), operation_type=escape(op.operation_type),
            serial=f"`{escape(truncate(op.device_serial, 64))}`", operation=f"`{escape(op.operation_id)}`",
            status=status_badge(op.status),
        )  # fmt: skip
    rollout = entry.rollout
    assert rollout is not None
    return "• " + _("{when} · rollout {rollout} wave {wave} of {waves} (*{operation_type}*, {devices})").format(
        when=_when(entry.at, tz), rollout=f"`{rollout.id}`", wave=entry.wave, waves=len(rollout.plan),
        operation_type=escape(rollout.operation_type), devices=_devices(entry.devices),
    )  # fmt: skip


def _upcoming(facts: HomeFacts, tz: str) -> list[Block]:
    page = facts.shared.upcoming
    blocks: list[Block] = [_header(":calendar: " + _("Next 24 hours"), page)]
    if not page.items:
        return [*blocks, context(_("Nothing is scheduled in the next 24 hours."))]
    lines = [_upcoming_line(entry, tz) for entry in page.items]
    more = _more(page, _("{command} shows them all.").format(command="`/headless list`"))
    return [*blocks, _section("\n".join(lines), "home_upcoming"), *more]


Can = Callable[[str], bool]  # may the reader use this action on the Home (the access rules; all without rules)


def _rollout_button(view: RolloutView, can: Can) -> dict[str, Any] | None:
    record = view.record
    if record.state in PAUSABLE and can("rollout.pause"):
        return button(_("Pause"), rb.ACTION_ROLLOUT_PAUSE, record.id)
    if record.state.value == "paused" and can("rollout.resume"):
        return button(_("Resume"), rb.ACTION_ROLLOUT_RESUME, record.id)
    return None


def _rollouts(facts: HomeFacts, can: Can) -> list[Block]:
    page = facts.shared.rollouts
    if page is None:
        return []
    blocks: list[Block] = [_header(":traffic_light: " + _("Active rollouts"), page)]
    if not page.items:
        return [*blocks, context(_("No rollout is running. *Start a rollout* below."))]
    for n, view in enumerate(page.items):
        record = view.record
        text = _(
            "{rollout} · *{operation_type}* · {state} · wave {wave} of {waves}\n"
            "{created}/{total} devices received the operation · {failed} failed"
        ).format(
            rollout=f"`{record.id}`", operation_type=escape(record.operation_type), state=state_words(record.state),
            wave=max(record.current_wave, 1), waves=len(record.plan), created=f"{view.created:,}",
            total=f"{record.total:,}", failed=f"{view.failures:,}",
        )  # fmt: skip
        blocks.append(_section(text, f"home_rollout_{n}", _rollout_button(view, can)))
    return blocks + _more(page, _("{command} lists them all.").format(command="`/headless rollouts`"))


def _failure(op: KnownOperation, n: int, tz: str, can: Can) -> Block:
    text = status_badge(op.status) + " " + _("*{operation_type}* on {serial} · {operation} · recorded {when}").format(
        operation_type=escape(op.operation_type), serial=f"`{escape(truncate(op.device_serial, 64))}`",
        operation=f"`{escape(op.operation_id)}`", when=_when(op.updated_at, tz),
    )  # fmt: skip
    refreshable = TXN_ID.match(op.operation_id) and can("refresh")
    refresh = button(_("Refresh"), ob.ACTION_REFRESH, op.operation_id) if refreshable else None
    return _section(text, f"home_failure_{n}", refresh)


def _failures(facts: HomeFacts, tz: str, can: Can) -> list[Block]:
    page = facts.shared.failures
    blocks: list[Block] = [_header(":x: " + _("Failures in the last 24 h"), page)]
    if not page.items:
        return [*blocks, context(_("No failures in the last 24 hours."))]
    blocks += [_failure(op, n, tz, can) for n, op in enumerate(page.items)]
    return blocks + _more(page, _("{command} shows them all.").format(command="`/headless list status=failed`"))


def _start(facts: HomeFacts, can: Can) -> list[Block]:
    elements = []
    if can("schedule"):
        elements.append(button(_("Schedule an operation"), ACTION_HOME_SCHEDULE, "home", style="primary"))
    if facts.shared.rollouts is not None and can("rollout"):
        elements.append(button(_("Start a rollout"), ACTION_HOME_ROLLOUT, "home"))
    windows = facts.shared.windows
    if windows:
        in_force = _("Maintenance windows: {windows}").format(windows=escape(format_windows(windows)))
    else:
        in_force = _("No maintenance windows set.")
    return [*([_actions("home_start", *elements)] if elements else []), context(f":clock3: {in_force}")]


def home_view(facts: HomeFacts, *, tz: str, allowed: Collection[str] | None = None) -> dict[str, Any]:
    """The Home tab of ``facts.user_id``, in the zone ``tz``. ``allowed``: what the access rules let the reader do
    on the Home (plain actions and the families ``schedule`` / ``rollout``; ``None``: everything) — a button they
    may not use is not shown (the click would be refused anyway)."""

    def can(action: str) -> bool:
        return allowed is None or action in allowed

    blocks: list[Block] = [
        context(_("Updated {when} · times in your zone ({zone})").format(when=_when(facts.now, tz), zone=escape(tz))),
        *_waiting(facts, tz),
        {"type": "divider"},
        *_yours(facts, tz),
        {"type": "divider"},
        *_upcoming(facts, tz),
    ]
    rollouts = _rollouts(facts, can)
    if rollouts:
        blocks += [{"type": "divider"}, *rollouts]
    blocks += [{"type": "divider"}, *_failures(facts, tz, can), {"type": "divider"}, *_start(facts, can)]
    assert len(blocks) <= MAX_HOME_BLOCKS, len(blocks)  # the sections' bounds keep it well under (about 60)
    return {"type": "home", "callback_id": HOME_CALLBACK, "blocks": blocks}


def shown_ids(view: dict[str, Any]) -> str:
    """The text of a Home view's blocks (a click's check: does the home the person clicked show that request?)."""
    parts = []
    for block in view.get("blocks") or []:
        text = block.get("text") if isinstance(block, dict) else None
        if isinstance(text, dict):
            parts.append(str(text.get("text") or ""))
    return "\n".join(parts)


__all__ = ["ACTION_HOME_ROLLOUT", "ACTION_HOME_SCHEDULE", "HOME_CALLBACK", "MAX_HOME_BLOCKS", "home_view", "shown_ids"]
