"""Block Kit for staged rollouts: the requester's preview, the one rollout message (edited in place), its thread
replies, ``/headless rollout status ID`` and ``/headless rollouts``.

Pure functions, no I/O, no clock. Everything a person typed is escaped; the bot's own sentences (an abort reason, a
pause reason) keep only their user mentions. Long lists are split over several sections at item boundaries (a
``<!date^…>`` token is never cut), within 50 blocks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.domain.rollouts import (
    ACTIVE_ROLLOUT_STATES,
    FINAL_ROLLOUT_STATES,
    Gate,
    RolloutOptions,
    RolloutState,
    WaveTally,
    abort_rule_text,
    format_duration,
    format_percent,
    format_rate,
    state_words,
    wave_line,
    wave_shares,
)
from bot.services.rollouts import ABORTABLE, PAUSABLE
from bot.services.rollouts.events import RolloutEvent
from bot.services.rollouts.progress import RolloutView, WaveView
from bot.services.rollouts.starting import RolloutDraft
from bot.slack.blocks.common import (
    MAX_BLOCKS,
    MAX_SECTION_TEXT,
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
from bot.slack.blocks.local_time import zone_lines
from bot.slack.blocks.scheduling import devices_line, serials_plain

ACTION_ROLLOUT_CONFIRM = "rollout_confirm"
ACTION_ROLLOUT_CANCEL = "rollout_cancel"
ACTION_ROLLOUT_APPROVE = "rollout_approve"
ACTION_ROLLOUT_REJECT = "rollout_reject"
ACTION_ROLLOUT_PROMOTE = "rollout_promote"
ACTION_ROLLOUT_PAUSE = "rollout_pause"
ACTION_ROLLOUT_RESUME = "rollout_resume"
ACTION_ROLLOUT_ABORT = "rollout_abort"
ACTION_ROLLOUT_CLONE = "rollout_clone"  # an aborted rollout's devices never created, as a new rollout request
ROLLOUT_ACTIONS_BLOCK = "rollout_actions"  # block_id of the buttons; every button's value is the rollout id

FAILED_INLINE = 50  # failed serials named in the message and thread replies; all in the status
UNFINISHED_SHOWN = 20  # created-but-unfinished operations named after an abort
STATUS_HINT = "/headless rollout status"
QUICK_EXAMPLE = "/headless rollout firmware_update site:san-jose+tag:gateway tomorrow 2am target_version=1.10"
_SERIAL_SHOWN = 80  # characters of one serial shown (a list is split between serials, never inside one)
_PACK = MAX_SECTION_TEXT - 100  # room left in a section for a list's heading

_ICONS = dict(zip(RolloutState, (
    ":memo: :raised_hand: :calendar: :arrows_counterclockwise: :hourglass_flowing_sand: :traffic_light: "
    ":double_vertical_bar: :octagonal_sign: :white_check_mark: :warning: :no_entry: :no_entry_sign: :alarm_clock:"
).split(), strict=True))  # fmt: skip
_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]{1,20})&gt;")


def bot_text(text: object) -> str:
    """A sentence the bot wrote (a stop reason) that may carry a person's words: escaped, its user mentions kept,
    without its full stop (the message ends the sentence)."""
    return _MENTION.sub(r"<@\1>", escape(text)).rstrip(". ")  # the caller ends the sentence


def _who(user: str | None) -> str:
    return "the bot" if not user or user == "bot" else f"<@{escape(user)}>"


def _devices(count: int) -> str:
    return f"{count:,} device{'s' if count != 1 else ''}"


def _serial(serial: str) -> str:
    return f"`{escape(truncate(serial, _SERIAL_SHOWN))}`"


def _actions(elements: list[dict[str, Any]]) -> Block:
    return {"type": "actions", "block_id": ROLLOUT_ACTIONS_BLOCK, "elements": elements}


def _params(parameters: dict[str, Any]) -> str:
    return parameters_text(parameters) if parameters else "none"


def _pack(items: Sequence[str], *, sep: str, limit: int = _PACK) -> list[str]:
    """Items joined with ``sep`` into chunks of at most ``limit`` characters, never splitting an item (one longer
    than ``limit`` is shortened, and is the only one in its chunk)."""
    chunks: list[str] = []
    current = ""
    for item in items:
        item = truncate(item, limit)
        if current and len(current) + len(sep) + len(item) > limit:
            chunks.append(current)
            current = ""
        current = f"{current}{sep}{item}" if current else item
    if current:
        chunks.append(current)
    return chunks


def _sections(lines: Sequence[str]) -> list[Block]:
    """Lines over as few sections as fit, each within the section limit, lines kept whole."""
    return [section(chunk) for chunk in _pack(lines, sep="\n", limit=MAX_SECTION_TEXT)]


def _received(view: RolloutView) -> str:
    """``120/500 devices received the operation``; ``PARTIAL: …`` once a rollout stopped short of its devices."""
    created, total = view.created, view.record.total
    counts = f"{created:,}/{total:,} devices received the operation"
    if view.record.state in FINAL_ROLLOUT_STATES and created < total:
        return f"Nothing was created: {counts}" if created == 0 else f"PARTIAL: {counts}"
    return counts


def _partial(view: RolloutView) -> bool:
    return view.record.state in FINAL_ROLLOUT_STATES and 0 < view.created < view.record.total


def _state_text(view: RolloutView) -> str:
    """The state as the header says it; a rollout that stopped short is never said to be completed."""
    state = view.record.state
    if _partial(view) and state in (RolloutState.COMPLETED, RolloutState.COMPLETED_WITH_FAILURES):
        return "ended, PARTIAL"
    return state_words(state)


def _wave_lines(view: RolloutView) -> list[str]:
    """``wave_line`` of each wave; a wave not started is a tally of its size, nothing created."""
    count = len(view.waves)
    return [
        wave_line(w.number, count, w.percent, w.tally or WaveTally(w.size, 0, 0, 0, 0, 0, 0, w.size))
        for w in view.waves
    ]


def _failed_inline(serials: Sequence[str], rollout_id: str) -> str:
    """Up to 50 failed serials (fewer if they are long: one section), then where to see them all."""
    shown = (_pack([_serial(s) for s in serials[:FAILED_INLINE]], sep=", ", limit=2500) or [""])[0]
    more = len(serials) - shown.count("`") // 2  # an escaped serial has no backtick of its own
    rest = f" … and {more:,} more: see {STATUS_HINT} {escape(rollout_id)}" if more > 0 else ""
    return f":x: *Failed ({len(serials):,})* {shown}{rest}"


def _unfinished_text(view: RolloutView) -> str:
    """The created-but-unfinished operations of an aborted rollout: the first 20 named, then a count."""
    items = view.unfinished
    head = (
        f":warning: *{len(items):,} created operation{'s' if len(items) != 1 else ''} not finished*: they go on, "
        "and cannot be cancelled through the API"
    )
    lines = [f"• {_serial(serial)} → operation `{escape(truncate(op, 60))}`" for serial, op in items[:UNFINISHED_SHOWN]]
    named = (_pack(lines, sep="\n", limit=2500) or [""])[0]
    if more := len(items) - (named.count("\n") + 1 if named else 0):
        named += f"\n• … and {more:,} more ({STATUS_HINT} {escape(view.record.id)})"
    return f"{head}\n{named}".rstrip()


def _now_line(view: RolloutView) -> str | None:
    """What the rollout waits for now, with its time."""
    record = view.record
    nxt = record.current_wave + 1
    if record.state is RolloutState.SOAKING and record.soak_until is not None:
        return f"Soaking until {slack_date(record.soak_until)}, then wave {nxt}/{len(view.waves)}"
    if record.state is RolloutState.WAITING_PROMOTE:
        return f"Waiting for promote: wave {nxt}/{len(view.waves)} starts when an approver clicks Promote"
    return None


def _options_line(options: RolloutOptions) -> str:
    gate = "auto" if options.gate is Gate.AUTO else "manual (an approver promotes each wave)"
    return (
        f"*Gate* {gate} · *soak* {format_duration(options.soak)} · *rate* {format_rate(options.rate_per_minute)} · "
        f"*op_timeout* {format_duration(options.op_timeout)} · *failure_threshold* "
        f"{format_percent(options.failure_threshold)}"
    )


def _preview_waves(checked: RolloutDraft) -> list[str]:
    """Each wave: its cumulative percentage, its size, its earliest start (wave 1) or what starts it."""
    sizes = [len(wave) for wave in checked.plan]
    shares = wave_shares(sum(sizes), checked.options.waves) if sizes else []
    percents = [p for p, _ in shares] if len(shares) == len(sizes) else [0] * len(sizes)
    percents[-1:] = [100] * len(percents[-1:])  # the last wave reaches every device (later empty ones merged in)
    later = "once the wave before settles and passes, " + (
        "an approver clicks Promote"
        if checked.options.gate is Gate.MANUAL
        else f"after a {format_duration(checked.options.soak)} soak"
    )
    return [
        f"• Wave {n}/{len(sizes)} · {percent} % · {_devices(size)} · "
        + (f"earliest start {slack_date(checked.first_time)}" if n == 1 else later)
        for n, (size, percent) in enumerate(zip(sizes, percents, strict=True), 1)
    ]


def rollout_preview_message(checked: RolloutDraft) -> Message:
    """The requester's ephemeral preview of the rollout, with Confirm / Cancel."""
    draft, options = checked.draft, checked.options
    lines = [
        ":mag: *Please check this rollout:*",
        devices_line(draft.device_serials, selected=draft.selected),
        f"*Operation* {escape(draft.operation_type)}",
        f"*When* {escape(draft.preview)}",
        *zone_lines(draft.zone_groups),
        "*Waves* (cumulative):",
        *_preview_waves(checked),
        _options_line(options),
        f"*Abort rule* {escape(checked.rule)}",
        f"*Parameters* {_params(draft.parameters)}",
    ]
    if draft.unknown_serials:
        lines.append(f":warning: {len(draft.unknown_serials):,} of these devices are not in the inventory.")
    if draft.window_note:
        icon = ":white_check_mark:" if draft.window_inside else ":warning:"
        lines.append(f"{icon} {escape(draft.window_note)}")
    one = "required: one approval covers the whole rollout"
    lines.append(f"*Approval* {one if draft.approval_required else 'not required'}")
    confirm = button("Confirm", ACTION_ROLLOUT_CONFIRM, checked.id, style="primary")
    actions = [confirm, button("Cancel", ACTION_ROLLOUT_CANCEL, checked.id)]
    blocks = [*_sections(lines), _actions(actions), context(f"Rollout `{escape(checked.id)}`")]
    text = f"Confirm a rollout of {draft.operation_type} on {_devices(len(draft.device_serials))}"
    return {"text": text, "blocks": blocks}


def _facts(view: RolloutView) -> list[str]:
    """The rollout's header and details, each a line."""
    record = view.record
    lines = [
        f"{_ICONS.get(record.state, ':memo:')} *Rollout {_state_text(view)}* · {escape(record.operation_type)}",
        f"*Requested by* <@{escape(record.requester_id)}>",
        f"*Type* {escape(record.operation_type)}",
        devices_line(record.devices),
        f"*Parameters* {_params(record.parameters)}",
        f"*Wave 1* {slack_date(record.scheduled_time)}"
        + (" (the earliest device-local time)" if record.item_times else ""),
        _options_line(record.options),
        f"*Abort rule* {escape(abort_rule_text(record.options, record.total))}",
    ]
    if record.window_note:
        lines.append(f":clock3: {escape(record.window_note)}")
    return lines


def _progress(view: RolloutView) -> list[str]:
    """The wave lines, what it waits for, the received count, and why it stopped."""
    record = view.record
    lines = _wave_lines(view)
    if (now := _now_line(view)) is not None:
        lines.append(now)
    lines.append(f"*{_received(view)}*")
    why = bot_text(record.stop_reason or "no reason given")
    if record.state is RolloutState.PAUSED:
        lines.append(f":double_vertical_bar: *Paused*: {why}. Operations already created continue.")
    elif record.state is RolloutState.ABORTED:
        lines.append(f":octagonal_sign: *Aborted*: {why}. Nothing more will be created.")
    elif record.state is RolloutState.REJECTED and record.decision_reason:
        lines.append(f"*Reason* {bot_text(record.decision_reason)}")
    return lines


def _abort_button(rollout_id: str) -> dict[str, Any]:
    element = button("Abort", ACTION_ROLLOUT_ABORT, rollout_id, style="danger")
    plain = {"type": "plain_text"}
    element["confirm"] = {
        "title": {**plain, "text": "Abort this rollout?"},
        "text": {**plain, "text": "Nothing more will be created, by any replica. Operations already created go on: "
                 "they cannot be cancelled through the API."},
        "confirm": {**plain, "text": "Abort"}, "deny": {**plain, "text": "Keep going"}, "style": "danger",
    }  # fmt: skip
    return element


def rollout_buttons(view: RolloutView) -> list[dict[str, Any]]:
    """The buttons that apply in the rollout's state now (none once it is final)."""
    state, rid = view.record.state, view.record.id
    if state is RolloutState.PENDING_APPROVAL:
        approve = button("Approve", ACTION_ROLLOUT_APPROVE, rid, style="primary")
        return [approve, button("Reject", ACTION_ROLLOUT_REJECT, rid, style="danger")]
    elements: list[dict[str, Any]] = []
    if state is RolloutState.WAITING_PROMOTE:
        elements.append(button("Promote", ACTION_ROLLOUT_PROMOTE, rid, style="primary"))
    if state in PAUSABLE:
        elements.append(button("Pause", ACTION_ROLLOUT_PAUSE, rid))
    if state is RolloutState.PAUSED:
        elements.append(button("Resume", ACTION_ROLLOUT_RESUME, rid))
    if state in ABORTABLE:
        elements.append(_abort_button(rid))
    if state is RolloutState.ABORTED and view.never_created:
        elements.append(button("Clone remaining", ACTION_ROLLOUT_CLONE, rid))
    return elements


def _who_decides(state: RolloutState, self_approval: bool) -> str:
    if state is RolloutState.PENDING_APPROVAL:
        mine = " (the requester too, if they are one)" if self_approval else "; the requester cannot approve their own"
        return f"only approvers can approve or reject{mine}"
    return "only approvers can promote, pause, resume or abort" if state in ABORTABLE else ""


def _fallback(view: RolloutView) -> str:
    record = view.record
    return (
        f"Rollout {record.id}: {record.operation_type} on {_devices(record.total)}, {_state_text(view)}. "
        f"{_received(view)}"
    )


def rollout_message(view: RolloutView, *, self_approval: bool = False) -> Message:
    """THE rollout message, edited in place: state, details, a line per wave, the buttons that apply now."""
    record = view.record
    blocks = _sections([*_facts(view), *_progress(view)])
    if view.failed_serials:
        blocks.append(section(_failed_inline(view.failed_serials, record.id)))
    if record.state is RolloutState.ABORTED and view.unfinished:
        blocks.append(section(_unfinished_text(view)))
    if elements := rollout_buttons(view):
        blocks.append(_actions(elements))
    who = _who_decides(record.state, self_approval)
    blocks.append(context(f"Rollout `{escape(record.id)}`" + (f" · {who}." if who else "")))
    return {"text": _fallback(view), "blocks": blocks[:MAX_BLOCKS]}


def _wave_of(view: RolloutView, number: int | None) -> WaveView | None:
    return view.waves[number - 1] if number and 0 < number <= len(view.waves) else None


def _settled_lines(view: RolloutView, event: RolloutEvent) -> list[str]:
    wave = _wave_of(view, event.wave)
    tally = event.tally or (wave.tally if wave else None)
    count = len(view.waves)
    if wave is None or tally is None:
        return [f":bar_chart: *Wave {event.wave or '?'}/{count} settled*"]
    lines = [
        f":bar_chart: *Wave {wave.number}/{count} settled*: {wave_line(wave.number, count, wave.percent, tally)}",
        f"{tally.executed:,} executed, {tally.failures:,} failed, success rate {format_percent(tally.success_rate)}",
    ]
    if tally.failed_serials:
        lines.append(_failed_inline(tally.failed_serials, view.record.id))
    if (now := _now_line(view)) is not None:
        lines.append(now)
    return lines


def _started_line(view: RolloutView, event: RolloutEvent) -> str:
    wave = _wave_of(view, event.wave)
    count = len(view.waves)
    if wave is None:
        return f":rocket: *Wave {event.wave or '?'}/{count} started*"
    at = event.at or wave.scheduled_time
    when = f" · {slack_date(at)}" if at is not None else ""
    return f":rocket: *Wave {wave.number}/{count} started* · {wave.percent} % · {_devices(wave.size)}{when}"


def _ended_lines(view: RolloutView) -> list[str]:
    """A completed rollout: completed, completed with failures, or PARTIAL, with its counts."""
    received = _received(view)
    if _partial(view):
        head = f":warning: *Rollout ended: {received}*"
    elif view.record.state is RolloutState.COMPLETED_WITH_FAILURES or view.failures:
        head = f":warning: *Rollout completed with failures*: {received}, {view.failures:,} failed"
    else:
        head = f":white_check_mark: *Rollout completed*: {received}, all succeeded"
    lines = [head]
    if view.failed_serials:
        lines.append(_failed_inline(view.failed_serials, view.record.id))
    return lines


def _aborted_lines(view: RolloutView, event: RolloutEvent, oncall_group: str | None) -> list[str]:
    page = f"<!subteam^{escape(oncall_group)}> " if oncall_group else ""
    why = event.reason or view.record.stop_reason
    reason = f": {bot_text(why)}" if why else ""
    lines = [
        f"{page}:octagonal_sign: *Rollout aborted*{reason}. Nothing more will be created.",
        f"*{_received(view)}*",
    ]
    if view.unfinished:
        lines.append(_unfinished_text(view))
    if never := view.record.total - view.created:
        lines.append(f"{_devices(never)} never received the operation.")
    return lines


def _event_lines(view: RolloutView, event: RolloutEvent, oncall_group: str | None) -> list[str]:
    record, by, kind = view.record, _who(event.by), event.kind
    first = f"wave 1 starts {slack_date(record.scheduled_time)}"
    if kind == "wave_started":
        return [_started_line(view, event)]
    if kind == "wave_settled":
        return _settled_lines(view, event)
    if kind == "aborted":
        return _aborted_lines(view, event, oncall_group)
    if kind == "completed":
        return _ended_lines(view)
    rejected = event.reason or record.decision_reason
    paused = event.reason or record.stop_reason or f"paused by {by}"
    simple = {
        "confirmed": f":memo: *Confirmed by {by}*: " + ("waiting for approval" if record.approval_required else first),
        "approved": f":white_check_mark: *Approved by {by}*: {first}",
        "rejected": f":no_entry: *Rejected by {by}*" + (f": {bot_text(rejected)}" if rejected else "")
        + ". Nothing was created.",
        "cancelled": f":no_entry_sign: *Cancelled by {by}*. Nothing was created.",
        "expired": f":alarm_clock: *Expired*: not decided in time for wave 1. {_received(view)}",
        "promoted": f":fast_forward: *Promoted by {by}*: wave {record.current_wave + 1}/{len(view.waves)} starts now",
        "paused": f":double_vertical_bar: *Paused*: {bot_text(paused)}. Operations already created continue; nothing "
        "more is created until Resume.",
        "resumed": f":arrow_forward: *Resumed by {by}*: what was not created yet gets a new time",
    }  # fmt: skip
    return [simple[kind]]


def rollout_event_message(view: RolloutView, event: RolloutEvent, *, oncall_group: str | None = None) -> Message:
    """One thread reply per change of the rollout (told once)."""
    lines = _event_lines(view, event, oncall_group)
    wave = f" (wave {event.wave}/{len(view.waves)})" if event.wave else ""
    fallback = f"Rollout {view.record.id}: {event.kind.replace('_', ' ')}{wave}. {_received(view)}"
    if event.kind == "aborted" and oncall_group:
        fallback = f"<!subteam^{escape(oncall_group)}> {fallback}"
    blocks = _sections(lines)[: MAX_BLOCKS - 1]
    blocks.append(context(f"Rollout `{escape(view.record.id)}` · {escape(view.record.operation_type)}"))
    return {"text": fallback, "blocks": blocks}


def _wave_counts(wave: WaveView, count: int) -> str:
    tally = wave.tally
    if tally is None:
        return f"Wave {wave.number}/{count}: {_devices(wave.size)}, not started"
    when = f" · {slack_date(wave.scheduled_time)}" if wave.scheduled_time is not None else ""
    return (
        f"Wave {wave.number}/{count}: created {tally.created:,}/{tally.total:,} · completed {tally.completed:,} · "
        f"failed {tally.failed:,} · expired {tally.expired:,} · timed out {tally.timed_out:,} · pending "
        f"{tally.pending:,} · success rate {format_percent(tally.success_rate)}{when}"
    )


def rollout_status_message(view: RolloutView) -> Message:
    """``/headless rollout status ID``: the rollout's facts, per-wave counts and every failed serial (split over
    sections; past 50 blocks, a count)."""
    record = view.record
    lines = [*_facts(view), *_progress(view), "*Per wave*", *(_wave_counts(w, len(view.waves)) for w in view.waves)]
    blocks = _sections(lines)
    if record.state is RolloutState.ABORTED and view.unfinished:
        blocks.append(section(_unfinished_text(view)))
    failed = view.failed_serials
    if failed:
        chunks = _pack([_serial(s) for s in failed], sep=", ")
        room = MAX_BLOCKS - len(blocks) - 2  # the footer, and a count of what did not fit
        shown = chunks[:room]
        for number, chunk in enumerate(shown):
            head = f":x: *Failed ({len(failed):,})*\n" if number == 0 else ""
            blocks.append(section(head + chunk))
        if len(chunks) > room:
            named = sum(chunk.count("`") // 2 for chunk in shown)
            blocks.append(section(f"… and {len(failed) - named:,} more failed devices (not shown: too many)."))
    blocks.append(context(f"Rollout `{escape(record.id)}`"))
    return {"text": _fallback(view), "blocks": blocks[:MAX_BLOCKS]}


def _list_line(view: RolloutView) -> str:
    record = view.record
    wave = f"wave {record.current_wave}/{len(record.plan)}"
    failures = f" · :x: {view.failures:,} failed" if view.failures else ""
    return (
        f"• `{escape(record.id)}` · {escape(record.operation_type)} · {_devices(record.total)} · "
        f"*{_state_text(view)}* · {wave} · {view.created:,}/{record.total:,} created{failures}"
    )


def rollouts_list_message(views: Sequence[RolloutView]) -> Message:
    """``/headless rollouts``: active rollouts first, then recent ones."""
    if not views:
        text = f"No rollouts yet. Start one with `{QUICK_EXAMPLE}` (waves=1,10,50,100 by default)."
        return {"text": f"No rollouts yet. Start one with {QUICK_EXAMPLE}", "blocks": [section(text)]}
    active = [v for v in views if v.record.state in ACTIVE_ROLLOUT_STATES]
    recent = [v for v in views if v.record.state not in ACTIVE_ROLLOUT_STATES]
    lines = []
    if active:
        lines += [f"*Active rollouts ({len(active)})*", *(_list_line(v) for v in active)]
    if recent:
        lines += [f"*Recent rollouts ({len(recent)})*", *(_list_line(v) for v in recent)]
    blocks = _sections(lines)[: MAX_BLOCKS - 1]
    blocks.append(context(f"Details: `{STATUS_HINT} ID`"))
    summary = f"{len(active)} active, {len(recent)} recent rollouts: " + serials_plain([v.record.id for v in views])
    return {"text": summary, "blocks": blocks}
