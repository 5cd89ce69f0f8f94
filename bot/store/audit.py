"""The audit log: who did what to which subject, and how it went (``/headless audit``). Append-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select

from bot.domain.requests import AuditRecord
from bot.store.database import Database, aware
from bot.store.tables import AuditRow, ScheduleItemRow


class AuditRepo(Database):
    """The audit log (one repository of ``bot.store.Store``)."""

    async def audit(
        self,
        actor_id: str,
        action: str,
        subject: str,
        *,
        outcome: str,
        channel_id: str | None = None,
        request_id: str | None = None,
        detail: dict[str, Any] | None = None,
        at: datetime,
    ) -> None:
        """Append one line to the audit log. ``detail`` must be JSON-serializable (and hold no secrets)."""
        aware(at, "at")
        async with self._transaction(write=True) as session:
            session.add(
                AuditRow(
                    at=at,
                    actor_id=actor_id,
                    action=action,
                    subject=subject,
                    request_id=request_id,
                    channel_id=channel_id,
                    outcome=outcome,
                    detail=detail,
                )
            )

    async def last_audit_of_request(self, request_id: str) -> AuditRecord | None:
        """The newest audit line about one schedule request."""
        statement = select(AuditRow).where(AuditRow.request_id == request_id).order_by(AuditRow.id.desc()).limit(1)
        async with self._transaction(write=False) as session:
            row = await session.scalar(statement)
            return None if row is None else AuditRecord.model_validate(row)

    async def recent_audit(self, subject: str | None = None, limit: int = 20) -> list[AuditRecord]:
        """The newest audit lines first, optionally about one subject.

        A subject matches lines whose ``subject`` or ``request_id`` is it, plus, when it is a device serial or
        an operation id the bot created, the lines of every request naming that serial / owning that
        operation. Serials (and subjects, which are often serials) match whatever their case, as
        ``parse_serials`` compares them: ``sn123456789`` finds the lines of ``SN123456789``. (The database's
        ``lower()`` on both sides, not ``serial_key``: the two must fold alike, and serials are ASCII.)
        """
        statement = select(AuditRow)
        if subject is not None:
            folded = subject.lower()
            related_requests = select(ScheduleItemRow.request_id).where(
                or_(func.lower(ScheduleItemRow.device_serial) == folded, ScheduleItemRow.operation_id == subject)
            )
            statement = statement.where(
                or_(
                    func.lower(AuditRow.subject) == folded,
                    AuditRow.request_id == subject,
                    AuditRow.request_id.in_(related_requests),
                )
            )
        statement = statement.order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
        async with self._transaction(write=False) as session:
            rows = await session.scalars(statement)
            return [AuditRecord.model_validate(row) for row in rows]
