"""Scheduling with four-eyes approval: validate a request, decide it once, create its operations exactly once.

Slack-agnostic: this module knows requests, approvals and operations; ``bot.services.approvals`` carries its results
into messages.

Exactly once, how:
* every decision (confirm, approve, reject, cancel, expire) is a conditional UPDATE in the store — the first one
  wins, every later click, retry or replica gets "already decided";
* before each POST the item is claimed (``waiting → creating``): the intent is on disk before the call that cannot
  be undone, and only the claimer POSTs;
* an item left ``creating`` (a crash, or a POST whose answer never came) is reconciled, never re-posted blindly:
  the list of operations is searched for one with the same serial, type and scheduled time created since the
  attempt; found → recorded; provably absent → the item goes back to ``waiting`` and is created again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.clock import Clock, utcnow
from bot.control.client import ControlApiClient
from bot.domain.ids import CHANNEL_ID
from bot.domain.inventory import Inventory
from bot.domain.requests import (
    UNDECIDED_REQUEST_STATES,
    Action,
    Decision,
    NewScheduleRequest,
    Refusal,
    RequestState,
    ScheduleRecord,
)
from bot.i18n import _
from bot.services import lead
from bot.services.creation import Creation, find_match
from bot.services.device_time import (
    DeviceTimes,
    local_preview,
)
from bot.services.inputs import InputError
from bot.services.operation_types import OperationRules
from bot.services.schedule_form import (
    FormErrors,
    NoApprovalChannel,
    Preview,
    ScheduleDraft,
    ScheduleForm,
    TimeMoved,
)
from bot.services.schedule_times import ScheduleTimes
from bot.services.targets import Targets, parse_targets
from bot.settings import Settings
from bot.store import Store
from bot.when import (
    WhenError,
    format_preview,
)

__all__ = [
    "Decision",
    "FormErrors",
    "NoApprovalChannel",
    "Preview",
    "Refusal",
    "ScheduleDraft",
    "ScheduleForm",
    "SchedulingService",
    "TimeMoved",
    "find_match",
]

log = logging.getLogger("bot.scheduling")


class SchedulingService(ScheduleTimes, Creation):
    def __init__(
        self,
        settings: Settings,
        store: Store,
        control: ControlApiClient,
        *,
        clock: Clock = utcnow,
        rules: OperationRules | None = None,
        inventory: Callable[[], Inventory | None] = lambda: None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._control = control
        self._clock = clock
        self.rules = rules or OperationRules(settings)  # the operation types (OPERATIONS_FILE, else OPERATION_TYPES)
        self._inventory = inventory  # the inventory in force now (INVENTORY_FILE is reloaded when it changes)

    # ------------------------------------------------------------------ validation

    def validate(
        self,
        form: ScheduleForm,
        *,
        tz: str,
        locale: str | None = None,
        shown_at: datetime | None = None,
        first_created: Callable[[int], int] | None = None,
        rate: float | None = None,
    ) -> ScheduleDraft:
        """Every field checked at once; raises ``FormErrors`` naming each bad field (``NoApprovalChannel`` for a
        valid request that nobody could approve).

        ``first_created`` (a rollout: its first wave) says how many of N devices are created before the time,
        at ``rate`` a minute (default ``CREATE_RATE_PER_MINUTE``): the lead the time must leave.

        ``shown_at``: the instant the form previewed for this very text. The draft keeps that instant while the
        text still means the same minute; when it means another one now, ``TimeMoved`` asks again.
        """
        settings = self._settings
        errors: dict[str, str] = {}
        serials: list[str] = []
        operation_type = ""
        parameters: dict[str, Any] = {}
        when: datetime | None = None
        targets: Targets | None = None
        try:
            limit, strict = settings.max_devices_per_request, settings.inventory_strict
            targets = parse_targets(form.serials, self._inventory(), limit=limit, strict=strict)
            serials = list(targets.serials)
        except InputError as exc:
            errors["serials"] = str(exc)
        read = self.rules.read(form.operation_type, form.parameters, form.parameter_fields)
        operation_type, parameters = read.operation_type, read.parameters
        errors.update(read.errors)
        if form.notify_channel_id is not None and not CHANNEL_ID.match(form.notify_channel_id):
            errors["notify_channel_id"] = _("Pick the channel from the list.")
        now = self._clock()
        local: DeviceTimes | None = None
        try:
            if self.is_device_local(form.when):
                if targets is not None:  # without the devices there are no zones to read the time in
                    local = self.device_local(form.when, targets, tz=tz, locale=locale, now=now)
                    when = local.earliest
            else:
                when = self.parse_time(form.when, tz=tz, locale=locale, now=now)
        except (WhenError, InputError) as exc:
            errors["when"] = str(exc)
        moved: datetime | None = None
        if when is not None and shown_at is not None:
            if lead.same_minute(when, shown_at):
                when = when if local is not None else shown_at  # what the person saw, to the second
            else:
                moved, when = when, None
                errors["when"] = lead.moved_problem(form.when, moved, shown_at, now, tz=tz)
        created = first_created(len(serials)) if first_created is not None else len(serials)
        needed = self.lead_for(created, rate=rate)
        if when is not None and (too_close := lead.form_problem(when, now, needed, tz=tz)) is not None:
            errors["when"] = too_close
            if needed > self.min_lead:
                errors["when"] += " " + lead.creation_note(created, rate or self._settings.create_rate_per_minute)
        window_note: str | None = None
        window_inside: bool | None = None
        needs_approval = False
        groups = local.groups if local is not None else ()
        if when is not None and settings.windows:
            check = self._check_windows(when, local, targets, tz=tz, operation_type=operation_type)
            window_note, window_inside, needs_approval = check.message, check.inside, check.needs_approval
            groups = check.groups or groups
            if check.blocked:
                blocked = _("{window} Operations must be scheduled inside a maintenance window.")
                errors["when"] = blocked.format(window=check.message)
        if moved is not None:
            preview = self._preview_line(moved, tz=tz, now=now, operation_type=operation_type)
            raise TimeMoved(errors, when=moved, preview=preview)
        if errors:
            raise FormErrors(errors)
        assert when is not None
        draft = ScheduleDraft(
            device_serials=serials,
            operation_type=operation_type,
            scheduled_time=when,
            parameters=parameters,
            notify_channel_id=form.notify_channel_id,
            tz=tz,
            preview=format_preview(when, tz=tz, now=now) if local is None else local_preview(local, tz=tz, now=now),
            item_times=local.item_times if local is not None else None,
            zone_groups=list(groups) if local is not None else [],
            window_note=window_note,
            window_inside=window_inside,
            approval_required=self.rules.approval_required(operation_type) or needs_approval,
            selected=bool(targets and targets.selected),
            unknown_serials=list(targets.unknown) if targets and not settings.inventory_strict else [],
        )
        if draft.approval_required and settings.approval_channel is None:
            raise NoApprovalChannel()
        return draft

    # ------------------------------------------------------------------ requests and decisions

    async def open_request(
        self,
        draft: ScheduleDraft,
        *,
        requester_id: str,
        team_id: str,
        origin_channel_id: str | None,
        confirm_first: bool,
        response_url: str | None = None,
    ) -> ScheduleRecord:
        """Store the request: ``draft`` awaiting Confirm, or ``pending_approval`` (approval types), or
        ``approved`` at once (types that need none; the caller then creates the operations)."""
        state = RequestState.DRAFT if confirm_first or not draft.approval_required else RequestState.PENDING_APPROVAL
        record = await self._store.create_request(
            NewScheduleRequest(
                requester_id=requester_id,
                team_id=team_id,
                origin_channel_id=origin_channel_id,
                device_serials=draft.device_serials,
                operation_type=draft.operation_type,
                scheduled_time=draft.scheduled_time,
                parameters=draft.parameters,
                notify_channel_id=draft.notify_channel_id,
                requester_tz=draft.tz,
                approval_required=draft.approval_required,
                window_note=draft.window_note,
                state=state,
                confirm_response_url=response_url,
                item_times=draft.item_times,
            ),
            at=self._clock(),
        )
        await self.audit(requester_id, "request", record, channel_id=origin_channel_id, outcome=state.value)
        if state is RequestState.DRAFT and not confirm_first:
            # No approval needed and no confirmation step (the modal's Submit is the confirmation).
            decided = await self.confirm(record.id, requester_id)
            return decided.record or record
        return record

    async def get(self, request_id: str) -> ScheduleRecord | None:
        """One request as stored (``None`` for an id the store does not know)."""
        return await self._store.get_request(request_id)

    async def confirm(self, request_id: str, user_id: str) -> Decision:
        """The requester's Confirm: ``draft → pending_approval`` or ``→ approved`` when no approval is needed."""
        record, refused = await self._requesters_own(request_id, user_id, "confirm")
        if refused is not None:
            return refused
        assert record is not None
        now = self._clock()
        if lead.too_close(record.scheduled_time, now, self.lead_for(len(record.items))):
            return await self._expire_instead(record, user_id, RequestState.DRAFT, "confirm", now=now)
        target = RequestState.PENDING_APPROVAL if record.approval_required else RequestState.APPROVED
        by = None if record.approval_required else user_id
        won = await self._store.transition(request_id, from_states=[RequestState.DRAFT], to_state=target, by=by, at=now)
        return await self._settled(record, won, user_id, "confirm", outcome=target.value)

    async def cancel(self, request_id: str, user_id: str) -> Decision:
        """The requester withdraws a request nobody has decided yet."""
        record, refused = await self._requesters_own(request_id, user_id, "cancel")
        if refused is not None:
            return refused
        assert record is not None
        won = await self._store.transition(
            request_id, from_states=UNDECIDED_REQUEST_STATES, to_state=RequestState.CANCELLED, by=user_id,
            at=self._clock(),
        )  # fmt: skip
        return await self._settled(record, won, user_id, "cancel", outcome="cancelled")

    async def _requesters_own(
        self, request_id: str, user_id: str, action: Action
    ) -> tuple[ScheduleRecord | None, Decision | None]:
        """The request, if ``user_id`` asked for it (only the requester confirms or cancels); else the refusal."""
        record = await self._store.get_request(request_id)
        if record is None:
            return None, Decision(won=False, record=None, action=action, refusal=Refusal.NO_SUCH_REQUEST)
        if record.requester_id != user_id:
            await self.audit(user_id, f"{action}_refused", record, outcome="not_requester")
            return record, Decision(won=False, record=record, action=action, refusal=Refusal.NOT_REQUESTER)
        return record, None

    async def _settled(
        self, record: ScheduleRecord, won: ScheduleRecord | None, user_id: str, action: Action, *, outcome: str
    ) -> Decision:
        """The requester's compare-and-set done: audited when it won, else where the request stands now."""
        if won is None:
            latest = await self._store.get_request(record.id)
            return Decision(won=False, record=latest or record, action=action, refusal=Refusal.ALREADY_DECIDED)
        await self.audit(user_id, action, won, outcome=outcome)
        return Decision(won=True, record=won, action=action)

    def may_decide(self, record: ScheduleRecord, user_id: str, *, is_approver: bool) -> Refusal | None:
        """``None`` if ``user_id`` may approve or reject ``record``; otherwise why not."""
        if record.requester_id == user_id and not self._settings.allow_self_approval:
            return Refusal.SELF_APPROVAL
        if not is_approver:
            return Refusal.NOT_APPROVER
        return None

    async def check_reject(
        self, record: ScheduleRecord, user_id: str, *, is_approver: bool, channel_id: str | None
    ) -> Decision | None:
        """Before the Reject button asks for a reason: ``None`` if ``user_id`` may reject ``record`` now, else the
        refusal (audited), where it stands as an Approve click would read it."""
        refusal = self.may_decide(record, user_id, is_approver=is_approver)
        if refusal is None and record.state is not RequestState.PENDING_APPROVAL:
            refusal = Refusal.ALREADY_DECIDED
        if refusal is None:
            return None
        await self.audit(user_id, "reject_refused", record, channel_id=channel_id, outcome="not_allowed")
        return Decision(won=False, record=record, action="reject", refusal=refusal)

    async def decide(
        self,
        request_id: str,
        user_id: str,
        *,
        approve: bool,
        is_approver: bool,
        reason: str | None = None,
        channel_id: str | None = None,
    ) -> Decision:
        """Approve or reject; exactly one decision wins, whatever the clicks, retries and replicas."""
        action: Action = "approve" if approve else "reject"
        record = await self._store.get_request(request_id)
        if record is None:
            return Decision(won=False, record=None, action=action, refusal=Refusal.NO_SUCH_REQUEST)
        refusal = self.may_decide(record, user_id, is_approver=is_approver)
        if refusal is not None:
            await self.audit(user_id, f"{action}_refused", record, channel_id=channel_id, outcome="not_allowed")
            return Decision(won=False, record=record, action=action, refusal=refusal)
        now = self._clock()
        if approve and lead.too_close(record.scheduled_time, now, self.lead_for(len(record.items))):
            return await self._expire_instead(
                record, user_id, RequestState.PENDING_APPROVAL, action, now=now, channel_id=channel_id
            )
        won = await self._store.transition(
            request_id,
            from_states=[RequestState.PENDING_APPROVAL],
            to_state=RequestState.APPROVED if approve else RequestState.REJECTED,
            by=user_id,
            at=now,
            reason=reason,
        )
        if won is None:
            latest = await self._store.get_request(request_id)
            await self.audit(user_id, action, record, channel_id=channel_id, outcome="already_decided")
            return Decision(won=False, record=latest or record, action=action, refusal=Refusal.ALREADY_DECIDED)
        await self.audit(
            user_id, action, won, channel_id=channel_id, outcome="approved" if approve else "rejected",
            detail={"reason": reason} if reason else None,
        )  # fmt: skip
        return Decision(won=True, record=won, action=action)

    async def _expire_instead(
        self,
        record: ScheduleRecord,
        user_id: str,
        expected: RequestState,
        action: Action,
        *,
        now: datetime,
        channel_id: str | None = None,
    ) -> Decision:
        """A decision too close to the scheduled time: ``expected → expired`` (compare-and-set, so a maintenance
        pass or another click at the same moment cannot also act), recorded as this person's late decision."""
        won = await self._store.transition(
            record.id, from_states=[expected], to_state=RequestState.EXPIRED, by=user_id, at=now
        )
        if won is None:
            latest = await self._store.get_request(record.id) or record
            return Decision(won=False, record=latest, action=action, refusal=Refusal.ALREADY_DECIDED)
        await self.audit(user_id, action, won, channel_id=channel_id, outcome="expired",
                         detail={"scheduled_time": won.scheduled_time.isoformat()})  # fmt: skip
        return Decision(
            won=False, record=won, action=action, refusal=Refusal.TOO_LATE, time_left=won.scheduled_time - now,
            lead=self.lead_for(len(won.items)),
        )  # fmt: skip

    async def expire_due(self) -> list[ScheduleRecord]:
        """Undecided requests too close to their time to be decided any more: ``→ expired``.

        Returns those someone had confirmed (``pending_approval``), to be announced; a draft nobody confirmed
        (an abandoned preview) expires silently. Each expiry is a compare-and-set from the state seen: a
        decision that lands first wins, and a draft confirmed meanwhile is looked at again on the next pass.
        """
        now = self._clock()
        announce = []
        for record in await self._store.requests_due_for_expiry(now + self.min_lead):
            won = await self._store.transition(
                record.id, from_states=[record.state], to_state=RequestState.EXPIRED, at=now
            )
            if won is not None:
                await self.audit("bot", "expire", won, outcome="expired")
                if record.state is not RequestState.DRAFT:
                    announce.append(won)
        return announce
