"""Creating a request's operations exactly once, and reconciling creations whose answer was lost.

Exactly once, how: before each POST the item is claimed (``waiting → creating``): the intent is on disk before the
call that cannot be undone, and only the claimer POSTs. An item left ``creating`` (a crash, or a POST whose answer
never came) is reconciled, never re-posted blindly: the list of operations is searched for one with the same
serial, type and scheduled time created since the attempt; found → recorded; provably absent → the item goes back
to ``waiting`` and is created again.

``Creation`` is a part of ``SchedulingService`` (its ``_store``, ``_control``, ``_clock``, ``_settings``; the
audit lines come from ``RequestAudit``), kept in its own module by aggregate, as the store is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from bot import faultpoints
from bot.clock import Clock
from bot.control.client import ControlApiClient
from bot.control.errors import ControlApiError, ControlApiUnavailable, DeviceNotFound, InvalidRequest, Unauthorized
from bot.control.models import CreateOperationRequest, Operation
from bot.domain.ids import serial_key
from bot.domain.requests import ItemRecord, ItemState, RequestState, ScheduleRecord
from bot.i18n import _
from bot.services.operation_types import refusal_text
from bot.services.request_audit import RequestAudit
from bot.settings import Settings
from bot.store import Store

log = logging.getLogger("bot.scheduling")

Progress = Callable[[ScheduleRecord], Awaitable[object]]


class Creation(RequestAudit):
    _settings: Settings
    _store: Store
    _control: ControlApiClient
    _clock: Clock

    #: How often (seconds) a long creation shows its progress (``120/500 created``) on the request's message.
    progress_seconds: float = 5.0

    async def create_operations(
        self,
        request_id: str,
        *,
        progress: Progress | None = None,
        rate: float | None = None,
        proceed: Callable[[], Awaitable[bool]] | None = None,
    ) -> ScheduleRecord | None:
        """Create the operation of every ``waiting`` item of an approved request, each exactly once, at most
        ``rate`` (``CREATE_RATE_PER_MINUTE``) a minute (the Control API is not flooded by one fleet request).

        Resumable: what was created is in the store, so after a restart the maintenance pass goes on with the items
        still waiting. ``progress`` is called with the request as it stands every ``progress_seconds``;
        ``proceed`` (a rollout: not paused or aborted) is asked before each POST, and a ``False`` stops here."""
        record = await self._store.get_request(request_id)
        if record is None or record.state is not RequestState.APPROVED:
            return record
        spacing = 60.0 / (rate or self._settings.create_rate_per_minute)
        loop = asyncio.get_running_loop()
        last_post: float | None = None
        shown_at = loop.time()
        for item in sorted(record.items, key=lambda item: (item.scheduled_time, item.position)):  # earliest first
            if item.state is not ItemState.WAITING:
                continue
            if last_post is not None and (pause := last_post + spacing - loop.time()) > 0:
                await asyncio.sleep(pause)
            if proceed is not None and not await proceed():
                break
            if await self._create_one(record, item):
                last_post = loop.time()
            if progress is not None and loop.time() - shown_at >= self.progress_seconds:
                shown_at = loop.time()
                current = await self._store.get_request(request_id)
                if current is None or current.state is not RequestState.APPROVED:
                    break  # cancelled meanwhile: its waiting items were cancelled with it
                await progress(current)
        return await self._settle(request_id)

    async def _create_one(self, record: ScheduleRecord, item: ItemRecord) -> bool:
        """Claim and create one item; ``True`` when a POST was sent (it counts against the rate)."""
        claimed = await self._store.claim_item(item.id, at=self._clock())
        if claimed is None:
            return False  # someone else (a double click, another replica) holds it
        if item.scheduled_time <= self._clock():  # the item's own time (device-local: one per zone)
            # Approved in time, but its creation was held up (the Control API down, a restart) until the time went
            # by: an operation in the past is never created. The decision-time check (MIN_LEAD_SECONDS) covers
            # clicks; this covers resumption.
            error = _("its scheduled time passed before the bot could create it; nothing was sent (schedule it again)")
            await self._fail(record, item, error, audited="scheduled_time_passed")
            return False
        request = CreateOperationRequest(
            device_serial=item.device_serial,
            operation_type=record.operation_type,
            scheduled_time=item.scheduled_time,
            parameters=record.parameters,
        )
        await faultpoints.reached(faultpoints.BEFORE_POST)
        try:
            operation = await self._control.create_operation(request)
        except ControlApiUnavailable as exc:
            if getattr(exc, "outcome_unknown", False):
                # The POST may have landed: leave the intent for reconciliation, never re-send blindly.
                log.warning("create for item %s: outcome unknown (%s); will reconcile", item.id, exc.reason)
                return True
            await self._store.release_item(item.id, at=self._clock())
            await self.audit_once("create", record, outcome="api_unavailable", detail={"serial": item.device_serial})
            raise
        except Unauthorized:
            # The token is wrong (401/403): nothing was created and the request is not at fault. Keep the approved
            # item waiting, so it is created once an admin fixes CONTROL_API_TOKEN, instead of failing it for good.
            await self._store.release_item(item.id, at=self._clock())
            await self.audit_once("create", record, outcome="api_unauthorized", detail={"serial": item.device_serial})
            raise
        except ControlApiError as exc:  # refused for good (DeviceNotFound, InvalidRequest, …): the item fails
            await self._fail(record, item, _error_text(exc))
            return True
        await faultpoints.reached(faultpoints.AFTER_POST)
        await self._store.complete_item(
            item.id, operation_id=operation.id, at=self._clock(), created_status=operation.status
        )
        await self.audit(
            "bot", "create", record, outcome="created",
            detail={"serial": item.device_serial, "operation_id": operation.id},
        )  # fmt: skip
        return True

    async def _fail(self, record: ScheduleRecord, item: ItemRecord, error: str, *, audited: str | None = None) -> None:
        """The item will never be created: recorded with ``error`` (shown to people), audited with its serial."""
        await self._store.fail_item(item.id, error=error, at=self._clock())
        await self.audit(
            "bot", "create", record, outcome="failed", detail={"serial": item.device_serial, "error": audited or error}
        )

    async def _settle(self, request_id: str) -> ScheduleRecord | None:
        done = await self._store.complete_request_if_settled(request_id, at=self._clock())
        return done or await self._store.get_request(request_id)

    async def reconcile(self, *, older_than: timedelta | None = None) -> list[str]:
        """Resolve items left ``creating``: find their operation in the API, or release them to be created.

        Returns the ids of requests that changed. Raises ``ControlApiError`` if the API cannot be listed (the
        items stay as they are, to be reconciled on the next call).
        """
        now = self._clock()
        if older_than is None:
            # Longer than any POST can take, so an item another replica is creating right now is left alone.
            older_than = timedelta(seconds=self._settings.reconcile_after_seconds)
        stuck = [
            item
            for item in await self._store.items_in_state(ItemState.CREATING)
            if item.attempted_at is None or now - item.attempted_at >= older_than
        ]
        if not stuck:
            return []
        operations = await self._control.list_operations()
        changed: list[str] = []
        for item in stuck:
            record = await self._store.get_request(item.request_id)
            if record is None:
                continue
            match = find_match(operations, record, item)
            if match is not None:
                await self._store.complete_item(item.id, operation_id=match.id, at=self._clock())
                await self.audit(
                    "bot", "reconcile", record, outcome="found", detail={"serial": item.device_serial,
                    "operation_id": match.id},
                )  # fmt: skip
            else:
                await self._store.release_item(item.id, at=self._clock())
                await self.audit("bot", "reconcile", record, outcome="not_found", detail={"serial": item.device_serial})
            changed.append(record.id)
        return list(dict.fromkeys(changed))


def find_match(operations: Sequence[Operation], record: ScheduleRecord, item: ItemRecord) -> Operation | None:
    """The operation a lost POST created: same serial, type and scheduled time (the item's), created around the
    attempt."""
    not_before = (item.attempted_at or record.created_at) - timedelta(minutes=5)
    for op in operations:
        if (
            serial_key(op.device_serial) == serial_key(item.device_serial)  # as parse_serials compares
            and op.operation_type == record.operation_type
            and abs((op.scheduled_time - item.scheduled_time).total_seconds()) < 1
            and (op.created_at is None or op.created_at >= not_before)
        ):
            return op
    return None


def _error_text(exc: ControlApiError) -> str:
    if isinstance(exc, DeviceNotFound):
        return _("device serial {serial} is not in the inventory").format(serial=exc.device_serial)
    if isinstance(exc, InvalidRequest):
        return refusal_text(exc) or _("the Control API refused it: {detail}").format(detail=exc.detail)
    return str(exc)
