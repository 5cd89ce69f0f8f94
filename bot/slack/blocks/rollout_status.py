"""Block Kit for reading rollouts: ``/headless rollout status ID`` (every failed serial, per-wave counts) and
``/headless rollouts`` (active first, then recent). Pure functions, no I/O; words in the reader's language."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.rollouts import ACTIVE_ROLLOUT_STATES, RolloutState, format_percent
from bot.i18n import _, ngettext
from bot.services.rollouts.progress import RolloutView, WaveView
from bot.slack.blocks.common import MAX_BLOCKS, Message, context, escape, section, slack_date
from bot.slack.blocks.rollout_parts import (
    QUICK_EXAMPLE,
    STATUS_HINT,
    devices_text,
    facts,
    failed_heading,
    fallback,
    pack,
    progress,
    rollout_ref,
    sections,
    serial_code,
    state_text,
    unfinished_text,
)
from bot.slack.blocks.scheduling import serials_plain


def _wave_counts(wave: WaveView, count: int) -> str:
    tally = wave.tally
    if tally is None:
        text = _("Wave {wave}/{count}: {devices}, not started")
        return text.format(wave=wave.number, count=count, devices=devices_text(wave.size))
    when = f" · {slack_date(wave.scheduled_time)}" if wave.scheduled_time is not None else ""
    return (
        _(
            "Wave {wave}/{count}: created {created}/{total} · completed {completed} · failed {failed} · expired "
            "{expired} · timed out {timed_out} · pending {pending} · success rate {success_rate}"
        ).format(
            wave=wave.number,
            count=count,
            created=f"{tally.created:,}",
            total=f"{tally.total:,}",
            completed=f"{tally.completed:,}",
            failed=f"{tally.failed:,}",
            expired=f"{tally.expired:,}",
            timed_out=f"{tally.timed_out:,}",
            pending=f"{tally.pending:,}",
            success_rate=format_percent(tally.success_rate),
        )
        + when
    )


def rollout_status_message(view: RolloutView) -> Message:
    """``/headless rollout status ID``: the rollout's facts, per-wave counts and every failed serial (split over
    sections; past 50 blocks, a count)."""
    record = view.record
    lines = [*facts(view), *progress(view), _("*Per wave*"), *(_wave_counts(w, len(view.waves)) for w in view.waves)]
    blocks = sections(lines)
    if record.state is RolloutState.ABORTED and view.unfinished:
        blocks.append(section(unfinished_text(view)))
    failed = view.failed_serials
    if failed:
        chunks = pack([serial_code(s) for s in failed], sep=", ")
        room = MAX_BLOCKS - len(blocks) - 2  # the footer, and a count of what did not fit
        shown = chunks[:room]
        for number, chunk in enumerate(shown):
            head = f"{failed_heading(len(failed))}\n" if number == 0 else ""
            blocks.append(section(head + chunk))
        if len(chunks) > room:
            left = len(failed) - sum(chunk.count("`") // 2 for chunk in shown)
            text = ngettext(  # English says "devices" for one too: the wording the suite knows
                "… and {n} more failed devices (not shown: too many).",
                "… and {n} more failed devices (not shown: too many).",
                left,
            )
            blocks.append(section(text.format(n=f"{left:,}")))
    blocks.append(context(rollout_ref(record.id)))
    return {"text": fallback(view), "blocks": blocks[:MAX_BLOCKS]}


def _list_line(view: RolloutView) -> str:
    record = view.record
    wave = _("wave {wave}/{count}").format(wave=record.current_wave, count=len(record.plan))
    failures = " · :x: " + _("{n} failed").format(n=f"{view.failures:,}") if view.failures else ""
    line = _("{id} · {operation} · {devices} · *{state}* · {wave} · {created}/{total} created").format(
        id=f"`{escape(record.id)}`", operation=escape(record.operation_type), devices=devices_text(record.total),
        state=state_text(view), wave=wave, created=f"{view.created:,}", total=f"{record.total:,}",
    )  # fmt: skip
    return f"• {line}{failures}"


def rollouts_list_message(views: Sequence[RolloutView]) -> Message:
    """``/headless rollouts``: active rollouts first, then recent ones."""
    if not views:
        text = _("No rollouts yet. Start one with {example} ({defaults} by default).").format(
            example=f"`{QUICK_EXAMPLE}`", defaults="waves=1,10,50,100"
        )
        return {"text": _("No rollouts yet. Start one with {example}").format(example=QUICK_EXAMPLE),
                "blocks": [section(text)]}  # fmt: skip
    active = [v for v in views if v.record.state in ACTIVE_ROLLOUT_STATES]
    recent = [v for v in views if v.record.state not in ACTIVE_ROLLOUT_STATES]
    lines = []
    if active:
        lines += [_("*Active rollouts ({n})*").format(n=len(active)), *(_list_line(v) for v in active)]
    if recent:
        lines += [_("*Recent rollouts ({n})*").format(n=len(recent)), *(_list_line(v) for v in recent)]
    blocks = sections(lines)[: MAX_BLOCKS - 1]
    blocks.append(context(_("Details: {command}").format(command=f"`{STATUS_HINT} ID`")))
    summary = _("{active} active, {recent} recent rollouts: {ids}").format(
        active=len(active), recent=len(recent), ids=serials_plain([v.record.id for v in views])
    )
    return {"text": summary, "blocks": blocks}


__all__ = ["rollout_status_message", "rollouts_list_message"]
