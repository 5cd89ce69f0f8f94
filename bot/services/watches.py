"""Watches (``/headless watch``) and the audit log, for the listeners: they never touch the store themselves."""

from __future__ import annotations

from collections.abc import Sequence

from bot.clock import Clock, utcnow
from bot.domain.requests import AuditRecord
from bot.store import Store


class WatchService:
    def __init__(self, store: Store, *, clock: Clock = utcnow) -> None:
        self._store = store
        self._clock = clock

    async def is_watched(self, operation_id: str, channel_id: str) -> bool:
        """Does ``channel_id`` already follow ``operation_id``? (Read before anything is posted there.)"""
        return bool(await self._store.watches_for([operation_id], channel_id=channel_id))

    async def watch(self, operation_id: str, channel_id: str, user_id: str) -> bool:
        """``channel_id`` follows ``operation_id`` from now on; False when it already did. Audited when new."""
        added = await self._store.add_watch(operation_id, channel_id, user_id, self._clock())
        if added:
            await self.audit(user_id, "watch", operation_id, channel_id=channel_id)
        return added

    async def devices_of(self, operation_ids: Sequence[str]) -> dict[str, str]:
        """The device serial of each of these operations, as the notifier recorded it (the bot's database only: a
        message shortcut must open its form within Slack's 3 s)."""
        return await self._store.serials_of_operations(operation_ids)

    async def unwatch(self, operation_id: str, channel_id: str, user_id: str) -> bool:
        """``channel_id`` stops following ``operation_id``; False when it was not. Audited when it was."""
        removed = await self._store.remove_watch(operation_id, channel_id)
        if removed:
            await self.audit(user_id, "unwatch", operation_id, channel_id=channel_id)
        return removed

    async def audit(self, actor_id: str, action: str, subject: str, *, channel_id: str | None) -> None:
        """An audit entry that is not about a schedule request (watch, unwatch)."""
        await self._store.audit(actor_id, action, subject, outcome="ok", channel_id=channel_id, at=self._clock())

    async def recent_audit(self, subject: str | None, *, limit: int = 25) -> Sequence[AuditRecord]:
        return await self._store.recent_audit(subject, limit=limit)
