"""Block Kit for staged rollouts: the requester's preview, the one rollout message (edited in place) and its thread
replies; ``/headless rollout status ID`` and ``/headless rollouts`` are in ``rollout_status`` (importable from here
too), the pieces they share in ``rollout_parts``.

Pure functions, no I/O, no clock; every word in the reader's language (``bot.i18n``). Everything a person typed is
escaped; the bot's own sentences (an abort reason, a pause reason) keep only their user mentions. Long lists are split
over several sections at item boundaries (a ``<!date^…>`` token is never cut), within 50 blocks.
"""

from __future__ import annotations

from typing import Any

from bot.domain.rollouts import Gate, RolloutState, format_duration, format_percent, wave_line, wave_shares
from bot.i18n import N_, _, ngettext
from bot.services.rollouts import ABORTABLE, PAUSABLE
from bot.services.rollouts.events import RolloutEvent
from bot.services.rollouts.progress import RolloutView, WaveView
from bot.services.rollouts.starting import RolloutDraft
from bot.slack.blocks.common import MAX_BLOCKS, Message, button, context, escape, section, slack_date
from bot.slack.blocks.local_time import zone_lines
from bot.slack.blocks.rollout_parts import (
    FAILED_INLINE,
    QUICK_EXAMPLE,
    ROLLOUT_ACTIONS_BLOCK,
    STATUS_HINT,
    UNFINISHED_SHOWN,
    abort_rule_line,
    actions_block,
    bot_text,
    devices_text,
    facts,
    failed_inline,
    fallback,
    now_line,
    options_line,
    parameters_line,
    partial,
    progress,
    received,
    rollout_ref,
    sections,
    unfinished_text,
    who,
)
from bot.slack.blocks.rollout_status import rollout_status_message, rollouts_list_message
from bot.slack.blocks.scheduling import devices_line

ACTION_ROLLOUT_CONFIRM = "rollout_confirm"
ACTION_ROLLOUT_CANCEL = "rollout_cancel"
ACTION_ROLLOUT_APPROVE = "rollout_approve"
ACTION_ROLLOUT_REJECT = "rollout_reject"
ACTION_ROLLOUT_PROMOTE = "rollout_promote"
ACTION_ROLLOUT_PAUSE = "rollout_pause"
ACTION_ROLLOUT_RESUME = "rollout_resume"
ACTION_ROLLOUT_ABORT = "rollout_abort"
ACTION_ROLLOUT_CLONE = "rollout_clone"  # an aborted rollout's devices never created, as a new rollout request

#: A thread reply's kind in its notification text ("Rollout R: wave settled (wave 2/4). …").
_EVENT_WORDS = {
    "confirmed": N_("confirmed"), "approved": N_("approved"), "rejected": N_("rejected"),
    "cancelled": N_("cancelled"), "expired": N_("expired"), "wave_started": N_("wave started"),
    "wave_settled": N_("wave settled"), "promoted": N_("promoted"), "paused": N_("paused"),
    "resumed": N_("resumed"), "aborted": N_("aborted"), "completed": N_("completed"),
}  # fmt: skip


def _preview_waves(checked: RolloutDraft) -> list[str]:
    """Each wave: its cumulative percentage, its size, its earliest start (wave 1) or what starts it."""
    sizes = [len(wave) for wave in checked.plan]
    shares = wave_shares(sum(sizes), checked.options.waves) if sizes else []
    percents = [p for p, _size in shares] if len(shares) == len(sizes) else [0] * len(sizes)
    percents[-1:] = [100] * len(percents[-1:])  # the last wave reaches every device (later empty ones merged in)
    if checked.options.gate is Gate.MANUAL:
        later = _("once the wave before settles and passes, an approver clicks Promote")
    else:
        later = _("once the wave before settles and passes, after a {soak} soak").format(
            soak=format_duration(checked.options.soak)
        )
    first = _("earliest start {date}").format(date=slack_date(checked.first_time))
    line = _("Wave {wave}/{count} · {percent} % · {devices} · {start}")
    return [
        "• "
        + line.format(
            wave=n, count=len(sizes), percent=percent, devices=devices_text(size), start=first if n == 1 else later
        )
        for n, (size, percent) in enumerate(zip(sizes, percents, strict=True), 1)
    ]


def rollout_preview_message(checked: RolloutDraft) -> Message:
    """The requester's ephemeral preview of the rollout, with Confirm / Cancel."""
    draft, options = checked.draft, checked.options
    lines = [
        ":mag: " + _("*Please check this rollout:*"),
        devices_line(draft.device_serials, selected=draft.selected),
        _("*Operation* {operation}").format(operation=escape(draft.operation_type)),
        _("*When* {when}").format(when=escape(draft.preview)),
        *zone_lines(draft.zone_groups),
        _("*Waves* (cumulative):"),
        *_preview_waves(checked),
        options_line(options),
        abort_rule_line(checked.rule),
        parameters_line(draft.parameters),
    ]
    if unknown := len(draft.unknown_serials):
        text = ngettext(  # English says "devices are" for one too: the wording the suite knows
            "{n} of these devices are not in the inventory.", "{n} of these devices are not in the inventory.", unknown
        )
        lines.append(":warning: " + text.format(n=f"{unknown:,}"))
    if draft.window_note:
        icon = ":white_check_mark:" if draft.window_inside else ":warning:"
        lines.append(f"{icon} {escape(draft.window_note)}")
    if draft.approval_required:
        lines.append(_("*Approval* required: one approval covers the whole rollout"))
    else:
        lines.append(_("*Approval* not required"))
    confirm = button(_("Confirm"), ACTION_ROLLOUT_CONFIRM, checked.id, style="primary")
    actions = [confirm, button(_("Cancel"), ACTION_ROLLOUT_CANCEL, checked.id)]
    blocks = [*sections(lines), actions_block(actions), context(rollout_ref(checked.id))]
    text = _("Confirm a rollout of {operation} on {devices}").format(
        operation=draft.operation_type, devices=devices_text(len(draft.device_serials))
    )
    return {"text": text, "blocks": blocks}


def _abort_button(rollout_id: str) -> dict[str, Any]:
    element = button(_("Abort"), ACTION_ROLLOUT_ABORT, rollout_id, style="danger")
    plain = {"type": "plain_text"}
    element["confirm"] = {
        "title": {**plain, "text": _("Abort this rollout?")},
        "text": {**plain, "text": _("Nothing more will be created, by any replica. Operations already created go "
                                    "on: they cannot be cancelled through the API.")},
        "confirm": {**plain, "text": _("Abort")}, "deny": {**plain, "text": _("Keep going")}, "style": "danger",
    }  # fmt: skip
    return element


def rollout_buttons(view: RolloutView) -> list[dict[str, Any]]:
    """The buttons that apply in the rollout's state now (none once it is final)."""
    state, rid = view.record.state, view.record.id
    if state is RolloutState.PENDING_APPROVAL:
        approve = button(_("Approve"), ACTION_ROLLOUT_APPROVE, rid, style="primary")
        return [approve, button(_("Reject"), ACTION_ROLLOUT_REJECT, rid, style="danger")]
    elements: list[dict[str, Any]] = []
    if state is RolloutState.WAITING_PROMOTE:
        elements.append(button(_("Promote"), ACTION_ROLLOUT_PROMOTE, rid, style="primary"))
    if state in PAUSABLE:
        elements.append(button(_("Pause"), ACTION_ROLLOUT_PAUSE, rid))
    if state is RolloutState.PAUSED:
        elements.append(button(_("Resume"), ACTION_ROLLOUT_RESUME, rid))
    if state in ABORTABLE:
        elements.append(_abort_button(rid))
    if state is RolloutState.ABORTED and view.never_created:
        elements.append(button(_("Clone remaining"), ACTION_ROLLOUT_CLONE, rid))
    return elements


def _who_decides(state: RolloutState, self_approval: bool) -> str:
    if state is RolloutState.PENDING_APPROVAL:
        if self_approval:
            return _("only approvers can approve or reject (the requester too, if they are one)")
        return _("only approvers can approve or reject; the requester cannot approve their own")
    return _("only approvers can promote, pause, resume or abort") if state in ABORTABLE else ""


def rollout_message(view: RolloutView, *, self_approval: bool = False) -> Message:
    """THE rollout message, edited in place: state, details, a line per wave, the buttons that apply now."""
    record = view.record
    blocks = sections([*facts(view), *progress(view)])
    if view.failed_serials:
        blocks.append(section(failed_inline(view.failed_serials, record.id)))
    if record.state is RolloutState.ABORTED and view.unfinished:
        blocks.append(section(unfinished_text(view)))
    if elements := rollout_buttons(view):
        blocks.append(actions_block(elements))
    decides = _who_decides(record.state, self_approval)
    blocks.append(context(rollout_ref(record.id) + (f" · {decides}." if decides else "")))
    return {"text": fallback(view), "blocks": blocks[:MAX_BLOCKS]}


def _wave_of(view: RolloutView, number: int | None) -> WaveView | None:
    return view.waves[number - 1] if number and 0 < number <= len(view.waves) else None


def _settled_lines(view: RolloutView, event: RolloutEvent) -> list[str]:
    wave = _wave_of(view, event.wave)
    tally = event.tally or (wave.tally if wave else None)
    count = len(view.waves)
    if wave is None or tally is None:
        return [":bar_chart: " + _("*Wave {wave}/{count} settled*").format(wave=event.wave or "?", count=count)]
    line = wave_line(wave.number, count, wave.percent, tally)
    lines = [
        ":bar_chart: " + _("*Wave {wave}/{count} settled*: {line}").format(wave=wave.number, count=count, line=line),
        _("{executed} executed, {failed} failed, success rate {success_rate}").format(
            executed=f"{tally.executed:,}",
            failed=f"{tally.failures:,}",
            success_rate=format_percent(tally.success_rate),
        ),
    ]
    if tally.failed_serials:
        lines.append(failed_inline(tally.failed_serials, view.record.id))
    if (now := now_line(view)) is not None:
        lines.append(now)
    return lines


def _started_line(view: RolloutView, event: RolloutEvent) -> str:
    wave = _wave_of(view, event.wave)
    count = len(view.waves)
    if wave is None:
        return ":rocket: " + _("*Wave {wave}/{count} started*").format(wave=event.wave or "?", count=count)
    at = event.at or wave.scheduled_time
    when = f" · {slack_date(at)}" if at is not None else ""
    text = _("*Wave {wave}/{count} started* · {percent} % · {devices}").format(
        wave=wave.number, count=count, percent=wave.percent, devices=devices_text(wave.size)
    )
    return f":rocket: {text}{when}"


def _ended_lines(view: RolloutView) -> list[str]:
    """A completed rollout: completed, completed with failures, or PARTIAL, with its counts."""
    got = received(view)
    if partial(view):
        head = ":warning: " + _("*Rollout ended: {received}*").format(received=got)
    elif view.record.state is RolloutState.COMPLETED_WITH_FAILURES or view.failures:
        text = _("*Rollout completed with failures*: {received}, {failures} failed")
        head = ":warning: " + text.format(received=got, failures=f"{view.failures:,}")
    else:
        head = ":white_check_mark: " + _("*Rollout completed*: {received}, all succeeded").format(received=got)
    lines = [head]
    if view.failed_serials:
        lines.append(failed_inline(view.failed_serials, view.record.id))
    return lines


def _aborted_lines(view: RolloutView, event: RolloutEvent, oncall_group: str | None) -> list[str]:
    page = f"<!subteam^{escape(oncall_group)}> " if oncall_group else ""
    why = event.reason or view.record.stop_reason
    if why:
        head = _("*Rollout aborted*: {reason}. Nothing more will be created.").format(reason=bot_text(why))
    else:
        head = _("*Rollout aborted*. Nothing more will be created.")
    lines = [f"{page}:octagonal_sign: {head}", f"*{received(view)}*"]
    if view.unfinished:
        lines.append(unfinished_text(view))
    if never := view.record.total - view.created:
        text = ngettext("{n} device never received the operation.", "{n} devices never received the operation.", never)
        lines.append(text.format(n=f"{never:,}"))
    return lines


def _event_line(view: RolloutView, event: RolloutEvent) -> str:
    """A thread reply of one line: a decision (confirmed, approved, rejected…), an expiry, a pause."""
    record, by, kind = view.record, who(event.by), event.kind
    first = slack_date(record.scheduled_time)
    if kind == "confirmed":
        if record.approval_required:
            return ":memo: " + _("*Confirmed by {user}*: waiting for approval").format(user=by)
        return ":memo: " + _("*Confirmed by {user}*: wave 1 starts {date}").format(user=by, date=first)
    if kind == "approved":
        return ":white_check_mark: " + _("*Approved by {user}*: wave 1 starts {date}").format(user=by, date=first)
    if kind == "rejected":
        if rejected := event.reason or record.decision_reason:
            text = _("*Rejected by {user}*: {reason}. Nothing was created.")
            return ":no_entry: " + text.format(user=by, reason=bot_text(rejected))
        return ":no_entry: " + _("*Rejected by {user}*. Nothing was created.").format(user=by)
    if kind == "cancelled":
        return ":no_entry_sign: " + _("*Cancelled by {user}*. Nothing was created.").format(user=by)
    if kind == "expired":
        return ":alarm_clock: " + _("*Expired*: not decided in time for wave 1. {received}").format(
            received=received(view)
        )
    if kind == "promoted":
        text = _("*Promoted by {user}*: wave {wave}/{count} starts now")
        return ":fast_forward: " + text.format(user=by, wave=record.current_wave + 1, count=len(view.waves))
    if kind == "paused":
        paused = event.reason or record.stop_reason or _("paused by {user}").format(user=by)
        text = _("*Paused*: {reason}. Operations already created continue; nothing more is created until Resume.")
        return ":double_vertical_bar: " + text.format(reason=bot_text(paused))
    return ":arrow_forward: " + _("*Resumed by {user}*: what was not created yet gets a new time").format(user=by)


def _event_lines(view: RolloutView, event: RolloutEvent, oncall_group: str | None) -> list[str]:
    if event.kind == "wave_started":
        return [_started_line(view, event)]
    if event.kind == "wave_settled":
        return _settled_lines(view, event)
    if event.kind == "aborted":
        return _aborted_lines(view, event, oncall_group)
    if event.kind == "completed":
        return _ended_lines(view)
    return [_event_line(view, event)]


def rollout_event_message(view: RolloutView, event: RolloutEvent, *, oncall_group: str | None = None) -> Message:
    """One thread reply per change of the rollout (told once)."""
    lines = _event_lines(view, event, oncall_group)
    wave = " " + _("(wave {wave}/{count})").format(wave=event.wave, count=len(view.waves)) if event.wave else ""
    words = _EVENT_WORDS.get(event.kind)
    fallback_text = _("Rollout {id}: {event}{wave}. {received}").format(
        id=view.record.id, event=_(words) if words else event.kind.replace("_", " "), wave=wave,
        received=received(view),
    )  # fmt: skip
    if event.kind == "aborted" and oncall_group:
        fallback_text = f"<!subteam^{escape(oncall_group)}> {fallback_text}"
    blocks = sections(lines)[: MAX_BLOCKS - 1]
    blocks.append(context(f"{rollout_ref(view.record.id)} · {escape(view.record.operation_type)}"))
    return {"text": fallback_text, "blocks": blocks}


__all__ = [
    "ACTION_ROLLOUT_ABORT",
    "ACTION_ROLLOUT_APPROVE",
    "ACTION_ROLLOUT_CANCEL",
    "ACTION_ROLLOUT_CLONE",
    "ACTION_ROLLOUT_CONFIRM",
    "ACTION_ROLLOUT_PAUSE",
    "ACTION_ROLLOUT_PROMOTE",
    "ACTION_ROLLOUT_REJECT",
    "ACTION_ROLLOUT_RESUME",
    "FAILED_INLINE",
    "QUICK_EXAMPLE",
    "ROLLOUT_ACTIONS_BLOCK",
    "STATUS_HINT",
    "UNFINISHED_SHOWN",
    "bot_text",
    "rollout_buttons",
    "rollout_event_message",
    "rollout_message",
    "rollout_preview_message",
    "rollout_status_message",
    "rollouts_list_message",
]
