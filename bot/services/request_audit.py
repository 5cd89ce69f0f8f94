"""The audit lines about a schedule request, written the same way by every part of scheduling.

``RequestAudit`` is the base of ``SchedulingService`` (through ``Creation``): it needs the service's ``_store`` and
``_clock``.
"""

from __future__ import annotations

from typing import Any

from bot.clock import Clock
from bot.domain.requests import ScheduleRecord
from bot.services.ports import HomeRefresher, NoHome
from bot.store import Store


class RequestAudit:
    _store: Store
    _clock: Clock
    #: Told after each audited change of a request (every decision is audited): the App Homes show requests.
    home: HomeRefresher = NoHome()

    async def audit(
        self,
        actor_id: str,
        action: str,
        record: ScheduleRecord,
        *,
        outcome: str,
        channel_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        subject = record.device_serials[0] if len(record.items) == 1 else record.id
        payload = {"type": record.operation_type, "serials": record.device_serials, **(detail or {})}
        await self._store.audit(
            actor_id, action, subject, outcome=outcome, channel_id=channel_id, request_id=record.id,
            detail=payload, at=self._clock(),
        )  # fmt: skip
        self.home.changed()

    async def audit_once(
        self, action: str, record: ScheduleRecord, *, outcome: str, detail: dict[str, Any] | None = None
    ) -> None:
        """A bot-side audit line, unless the request's newest line already says the same: a retry every
        maintenance pass through a long outage adds one line for the outage, not one per pass."""
        last = await self._store.last_audit_of_request(record.id)
        if last is not None and (last.actor_id, last.action, last.outcome) == ("bot", action, outcome):
            return
        await self.audit("bot", action, record, outcome=outcome, detail=detail)
