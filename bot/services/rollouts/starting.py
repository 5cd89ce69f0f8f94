"""Starting a rollout: read the quick form, check it as a schedule request is checked, plan its waves, and the
decisions before it runs (confirm, cancel, approve, reject), each a compare-and-set in the store.

The devices, the time (device-local too), the parameters, the windows and the approval rule are those of
``SchedulingService.validate``: a rollout is a schedule request cut into waves. Its own checks: the options, and
one device in one active rollout at a time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from bot.domain.ids import serial_key
from bot.domain.rollout_records import NewRollout, RolloutRecord
from bot.domain.rollouts import (
    RolloutOptionError,
    RolloutOptions,
    abort_rule_text,
    effective_min_executed,
    plan_waves,
    split_rollout_options,
)
from bot.i18n import _, ngettext
from bot.services.inputs import InputError
from bot.services.schedule_form import FormErrors, ScheduleDraft, ScheduleForm
from bot.services.scheduling import SchedulingService
from bot.store import Store, new_rollout_id

SHOWN = 10


class RolloutForm(BaseModel):
    """What a person typed for a rollout, as typed (the options already read)."""

    model_config = ConfigDict(frozen=True)

    operation_type: str = ""
    targets: str = ""
    when: str = ""
    parameters: str = ""
    options: RolloutOptions = RolloutOptions()


class RolloutDraft(BaseModel):
    """A checked rollout, planned, ready to be shown and stored."""

    model_config = ConfigDict(frozen=True)

    id: str
    draft: ScheduleDraft  # the devices, type, time (wave 1), parameters, windows, approval
    options: RolloutOptions
    plan: list[list[str]]
    rule: str  # the abort rule in words
    min_executed: int  # as applied (clamped to the device count)

    @property
    def first_time(self) -> datetime:
        return self.draft.scheduled_time


def split_rollout_quick(args: Sequence[str]) -> RolloutForm:
    """``TYPE TARGETS WHEN… [option=value …] [key=value …]`` → the form; ``InputError`` (``FormErrors`` for a bad
    option, keyed by ``options``) saying what to type."""
    if len(args) < 3:
        raise InputError(
            _("Use {usage}, like {example}").format(
                usage="/headless rollout TYPE TARGETS WHEN [waves=1,10,50,100] [soak=30m] [gate=auto|manual] "
                "[failure_threshold=10%] [min_executed=5] [max_failures=N] [rate=60/min] [key=value …]",
                example="/headless rollout firmware_update site:san-jose+tag:gateway tomorrow 2am target_version=1.10",
            )
        )
    op_type, targets, rest = args[0], args[1], list(args[2:])
    first = next((i for i, word in enumerate(rest) if "=" in word or word.startswith("{")), len(rest))
    if first == 0:
        raise InputError(_("Say when, like tomorrow at 2am, in 3 hours, 02:00 device-local or next window."))
    try:
        options, params = split_rollout_options(rest[first:])
    except RolloutOptionError as exc:
        raise FormErrors({"options": str(exc)}) from None
    return RolloutForm(
        operation_type=op_type, targets=targets, when=" ".join(rest[:first]), parameters=" ".join(params),
        options=options,
    )  # fmt: skip


def first_wave_size(total: int, waves: Sequence[int]) -> int:
    """How many devices the first (non-empty) wave gets: ``ceil(p₁·N)`` (at least one when N > 0)."""
    return max(1, math.ceil(waves[0] * total / 100)) if total else 0


class RolloutStart:
    """Checking and storing a rollout, and its decisions before it runs (part of ``RolloutsService``)."""

    _store: Store
    _scheduling: SchedulingService

    async def check(self, form: RolloutForm, *, tz: str, locale: str | None = None) -> RolloutDraft:
        """Every field checked; ``FormErrors`` naming each problem (the devices, the time, the parameters, the
        options, devices already in an active rollout)."""
        options = form.options
        draft = self._scheduling.validate(
            ScheduleForm(
                serials=form.targets, operation_type=form.operation_type, when=form.when, parameters=form.parameters
            ),
            tz=tz,
            locale=locale,
            first_created=lambda total: first_wave_size(total, options.waves),
            rate=options.rate_per_minute,
        )
        busy = await self._store.active_rollout_devices()
        taken = [serial for serial in draft.device_serials if serial_key(serial) in busy]
        if taken:
            shown = ", ".join(taken[:SHOWN])
            if len(taken) > SHOWN:
                shown = _("{serials} and {n} more").format(serials=shown, n=f"{len(taken) - SHOWN:,}")
            text = ngettext(
                "{n} of these devices are already in an active rollout: {serials}. Leave them out, or wait for that "
                "rollout to finish ({command}).",  # the English the suite asserts, for one too
                "{n} of these devices are already in an active rollout: {serials}. Leave them out, or wait for that "
                "rollout to finish ({command}).",
                len(taken),
            )
            raise FormErrors({"serials": text.format(n=f"{len(taken):,}", serials=shown, command="/headless rollouts")})
        rollout_id = new_rollout_id()
        plan = plan_waves(rollout_id, draft.device_serials, options.waves)
        total = len(draft.device_serials)
        return RolloutDraft(
            id=rollout_id, draft=draft, options=options, plan=plan, rule=abort_rule_text(options, total),
            min_executed=effective_min_executed(options, total),
        )  # fmt: skip

    async def open(
        self, checked: RolloutDraft, *, requester_id: str, team_id: str, origin_channel_id: str | None, at: datetime
    ) -> RolloutRecord:
        """Store the rollout as a draft awaiting the requester's Confirm."""
        draft = checked.draft
        first = set(checked.plan[0])
        times = {s: t for s, t in (draft.item_times or {}).items() if s in first} or None
        return await self._store.create_rollout(
            NewRollout(
                id=checked.id, requester_id=requester_id, team_id=team_id, origin_channel_id=origin_channel_id,
                operation_type=draft.operation_type, parameters=draft.parameters, requester_tz=draft.tz,
                options=checked.options, plan=checked.plan,
                scheduled_time=min(times.values()) if times else draft.scheduled_time, item_times=times,
                when_text=draft.preview, approval_required=draft.approval_required, window_note=draft.window_note,
            ),
            at=at,
        )  # fmt: skip


__all__ = ["RolloutDraft", "RolloutForm", "RolloutStart", "first_wave_size", "split_rollout_quick"]
