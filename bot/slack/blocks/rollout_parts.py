"""The pieces every rollout message is made of (``bot.slack.blocks.rollouts`` and ``rollout_status``): the facts,
the progress, the failed and unfinished lists, and the list-splitting that keeps sections within Slack's limits.

Pure functions, no I/O, no clock; every word in the reader's language (``bot.i18n``), counts formatted ``1,234``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.domain.rollout_reasons import reason_words
from bot.domain.rollouts import (
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
)
from bot.i18n import _, ngettext
from bot.services.rollouts.progress import RolloutView
from bot.slack.blocks.common import (
    MAX_SECTION_TEXT,
    Block,
    escape,
    parameters_text,
    section,
    slack_date,
    truncate,
)
from bot.slack.blocks.scheduling import devices_line

ROLLOUT_ACTIONS_BLOCK = "rollout_actions"  # block_id of the buttons; every button's value is the rollout id
FAILED_INLINE = 50  # failed serials named in the message and thread replies; all in the status
UNFINISHED_SHOWN = 20  # created-but-unfinished operations named after an abort
STATUS_HINT = "/headless rollout status"
QUICK_EXAMPLE = "/headless rollout firmware_update site:san-jose+tag:gateway tomorrow 2am target_version=1.10"
SERIAL_SHOWN = 80  # characters of one serial shown (a list is split between serials, never inside one)
PACK = MAX_SECTION_TEXT - 100  # room left in a section for a list's heading

ICONS = dict(zip(RolloutState, (
    ":memo: :raised_hand: :calendar: :arrows_counterclockwise: :hourglass_flowing_sand: :traffic_light: "
    ":double_vertical_bar: :octagonal_sign: :white_check_mark: :warning: :no_entry: :no_entry_sign: :alarm_clock:"
).split(), strict=True))  # fmt: skip
_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]{1,20})&gt;")


def bot_text(text: object) -> str:
    """A sentence the bot wrote (a stop reason) that may carry a person's words: in the reader's language when it is
    one of the bot's own (``reason_words``), escaped, its user mentions kept, without its full stop (the message ends
    the sentence)."""
    words = reason_words(text) if isinstance(text, str) else text
    return _MENTION.sub(r"<@\1>", escape(words)).rstrip(". ")  # the caller ends the sentence


def who(user: str | None) -> str:
    return _("the bot") if not user or user == "bot" else f"<@{escape(user)}>"


def devices_text(count: int) -> str:
    return ngettext("{n} device", "{n} devices", count).format(n=f"{count:,}")


def serial_code(serial: str) -> str:
    return f"`{escape(truncate(serial, SERIAL_SHOWN))}`"


def rollout_ref(rollout_id: str) -> str:
    """``Rollout `ID``` (the footer of every rollout message)."""
    return _("Rollout {id}").format(id=f"`{escape(rollout_id)}`")


def actions_block(elements: list[dict[str, Any]]) -> Block:
    return {"type": "actions", "block_id": ROLLOUT_ACTIONS_BLOCK, "elements": elements}


def params_text(parameters: dict[str, Any]) -> str:
    return parameters_text(parameters) if parameters else _("none")


def pack(items: Sequence[str], *, sep: str, limit: int = PACK) -> list[str]:
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


def sections(lines: Sequence[str]) -> list[Block]:
    """Lines over as few sections as fit, each within the section limit, lines kept whole."""
    return [section(chunk) for chunk in pack(lines, sep="\n", limit=MAX_SECTION_TEXT)]


def received(view: RolloutView) -> str:
    """``120/500 devices received the operation``; ``PARTIAL: …`` once a rollout stopped short of its devices."""
    created, total = view.created, view.record.total
    counts = _("{created}/{total} devices received the operation").format(created=f"{created:,}", total=f"{total:,}")
    if view.record.state in FINAL_ROLLOUT_STATES and created < total:
        text = _("Nothing was created: {counts}") if created == 0 else _("PARTIAL: {counts}")
        return text.format(counts=counts)
    return counts


def partial(view: RolloutView) -> bool:
    return view.record.state in FINAL_ROLLOUT_STATES and 0 < view.created < view.record.total


def state_text(view: RolloutView) -> str:
    """The state as the header says it; a rollout that stopped short is never said to be completed."""
    state = view.record.state
    if partial(view) and state in (RolloutState.COMPLETED, RolloutState.COMPLETED_WITH_FAILURES):
        return _("ended, PARTIAL")
    return state_words(state)


def wave_lines(view: RolloutView) -> list[str]:
    """``wave_line`` of each wave; a wave not started is a tally of its size, nothing created."""
    count = len(view.waves)
    return [
        wave_line(w.number, count, w.percent, w.tally or WaveTally(w.size, 0, 0, 0, 0, 0, 0, w.size))
        for w in view.waves
    ]


def failed_heading(count: int) -> str:
    return ":x: " + _("*Failed ({n})*").format(n=f"{count:,}")


def failed_inline(serials: Sequence[str], rollout_id: str) -> str:
    """Up to 50 failed serials (fewer if they are long: one section), then where to see them all."""
    shown = (pack([serial_code(s) for s in serials[:FAILED_INLINE]], sep=", ", limit=2500) or [""])[0]
    more = len(serials) - shown.count("`") // 2  # an escaped serial has no backtick of its own
    command = f"{STATUS_HINT} {escape(rollout_id)}"
    rest = " " + _("… and {n} more: see {command}").format(n=f"{more:,}", command=command) if more > 0 else ""
    return f"{failed_heading(len(serials))} {shown}{rest}"


def unfinished_text(view: RolloutView) -> str:
    """The created-but-unfinished operations of an aborted rollout: the first 20 named, then a count."""
    items = view.unfinished
    head = ":warning: " + ngettext(
        "*{n} created operation not finished*: they go on, and cannot be cancelled through the API",
        "*{n} created operations not finished*: they go on, and cannot be cancelled through the API",
        len(items),
    ).format(n=f"{len(items):,}")
    line = _("{serial} → operation {operation}")
    lines = [
        "• " + line.format(serial=serial_code(serial), operation=f"`{escape(truncate(op, 60))}`")
        for serial, op in items[:UNFINISHED_SHOWN]
    ]
    named = (pack(lines, sep="\n", limit=2500) or [""])[0]
    if more := len(items) - (named.count("\n") + 1 if named else 0):
        command = f"{STATUS_HINT} {escape(view.record.id)}"
        named += "\n• " + _("… and {n} more ({command})").format(n=f"{more:,}", command=command)
    return f"{head}\n{named}".rstrip()


def now_line(view: RolloutView) -> str | None:
    """What the rollout waits for now, with its time."""
    record = view.record
    nxt, count = record.current_wave + 1, len(view.waves)
    if record.state is RolloutState.SOAKING and record.soak_until is not None:
        text = _("Soaking until {date}, then wave {wave}/{count}")
        return text.format(date=slack_date(record.soak_until), wave=nxt, count=count)
    if record.state is RolloutState.WAITING_PROMOTE:
        text = _("Waiting for promote: wave {wave}/{count} starts when an approver clicks Promote")
        return text.format(wave=nxt, count=count)
    return None


def options_line(options: RolloutOptions) -> str:
    gate = "auto" if options.gate is Gate.AUTO else _("manual (an approver promotes each wave)")
    return _(
        "*Gate* {gate} · *soak* {soak} · *rate* {rate} · *op_timeout* {op_timeout} · *failure_threshold* "
        "{failure_threshold}"
    ).format(
        gate=gate, soak=format_duration(options.soak), rate=format_rate(options.rate_per_minute),
        op_timeout=format_duration(options.op_timeout), failure_threshold=format_percent(options.failure_threshold),
    )  # fmt: skip


def abort_rule_line(rule: str) -> str:
    return _("*Abort rule* {rule}").format(rule=escape(rule))


def parameters_line(parameters: dict[str, Any]) -> str:
    return _("*Parameters* {parameters}").format(parameters=params_text(parameters))


def facts(view: RolloutView) -> list[str]:
    """The rollout's header and details, each a line."""
    record = view.record
    operation = escape(record.operation_type)
    first = (
        _("*Wave 1* {date} (the earliest device-local time)") if record.item_times else _("*Wave 1* {date}")
    ).format(date=slack_date(record.scheduled_time))
    lines = [
        f"{ICONS.get(record.state, ':memo:')} "
        + _("*Rollout {state}* · {operation}").format(state=state_text(view), operation=operation),
        _("*Requested by* {user}").format(user=f"<@{escape(record.requester_id)}>"),
        _("*Type* {operation}").format(operation=operation),
        devices_line(record.devices),
        parameters_line(record.parameters),
        first,
        options_line(record.options),
        abort_rule_line(abort_rule_text(record.options, record.total)),
    ]
    if record.window_note:
        lines.append(f":clock3: {escape(record.window_note)}")
    return lines


def progress(view: RolloutView) -> list[str]:
    """The wave lines, what it waits for, the received count, and why it stopped."""
    record = view.record
    lines = wave_lines(view)
    if (now := now_line(view)) is not None:
        lines.append(now)
    lines.append(f"*{received(view)}*")
    why = bot_text(record.stop_reason or _("no reason given"))
    if record.state is RolloutState.PAUSED:
        text = _("*Paused*: {reason}. Operations already created continue.")
        lines.append(":double_vertical_bar: " + text.format(reason=why))
    elif record.state is RolloutState.ABORTED:
        lines.append(":octagonal_sign: " + _("*Aborted*: {reason}. Nothing more will be created.").format(reason=why))
    elif record.state is RolloutState.REJECTED and record.decision_reason:
        lines.append(_("*Reason* {reason}").format(reason=bot_text(record.decision_reason)))
    return lines


def fallback(view: RolloutView) -> str:
    """The notification text of the rollout message and its status."""
    record = view.record
    return _("Rollout {id}: {operation} on {devices}, {state}. {received}").format(
        id=record.id, operation=record.operation_type, devices=devices_text(record.total), state=state_text(view),
        received=received(view),
    )  # fmt: skip


__all__ = [
    "FAILED_INLINE",
    "ICONS",
    "QUICK_EXAMPLE",
    "ROLLOUT_ACTIONS_BLOCK",
    "STATUS_HINT",
    "UNFINISHED_SHOWN",
    "abort_rule_line",
    "actions_block",
    "bot_text",
    "devices_text",
    "facts",
    "failed_heading",
    "failed_inline",
    "fallback",
    "now_line",
    "options_line",
    "pack",
    "parameters_line",
    "partial",
    "progress",
    "received",
    "rollout_ref",
    "sections",
    "serial_code",
    "state_text",
    "unfinished_text",
    "wave_lines",
    "who",
]
