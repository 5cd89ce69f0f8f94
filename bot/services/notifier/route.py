"""Route: where each change goes. One outbox row per (change, destination), destinations de-duplicated.

An operation the bot created → a reply in the thread of its approval / confirmation message (plus, for a failure,
a message in that channel, and messages in the channel its requester chose for status updates); channels watching
it (``/headless watch``); ``NOTIFY_CHANNEL`` as ``NOTIFY_SCOPE`` says (``all``, ``bot-created``, ``failures``).
Failures mention ``ONCALL_GROUP`` in channel messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.changes import BotThread, NewNotification, OperationChange
from bot.services.notifier.report import KIND_CHANGE
from bot.settings import NotifyScope, Settings
from bot.store import Store
from bot.tasks import Pacer


@dataclass
class _Destination:
    channel: str
    thread_ts: str | None
    mention: bool


class Router:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store

    async def route(
        self,
        changes: Sequence[OperationChange],
        *,
        paged: set[tuple[str, str | None, str]] | None = None,
        pacer: Pacer | None = None,
    ) -> list[NewNotification]:
        """The outbox rows for ``changes`` (one poll's): one per (change, destination), destinations de-duplicated.

        Failures of the operations of one request (one message thread) page on-call once per destination and
        poll, as a single failure does: the first one's message mentions the group, the others' do not. A poll
        routed page by page passes one ``paged`` set (destination, thread, failing thread) for all its pages."""
        ids = [change.operation_id for change in changes]
        threads = await self.store.bot_threads(ids)
        watches = await self.store.watch_channels(ids)
        notes: list[NewNotification] = []
        if paged is None:
            paged = set()  # (channel, thread_ts, the message thread failing)
        for n, change in enumerate(changes):
            if pacer is not None and n % 32 == 0:
                await pacer.pause()
            thread = threads.get(change.operation_id)
            destinations = self._destinations(change, thread, watches.get(change.operation_id, []))
            source = f"{thread.thread_channel_id}/{thread.thread_ts}" if thread and thread.thread_ts else None
            payload = change.to_payload()
            for destination in destinations:
                where = (destination.channel, destination.thread_ts, source or change.operation_id)
                mention = destination.mention and where not in paged
                if mention:
                    paged.add(where)
                notes.append(
                    NewNotification(
                        dedupe_key=change.dedupe_key(destination.channel, destination.thread_ts),
                        operation_id=change.operation_id,
                        channel_id=destination.channel,
                        thread_ts=destination.thread_ts,
                        kind=KIND_CHANGE,
                        payload={**payload, "mention": mention},
                    )
                )
        return notes

    def _destinations(
        self, change: OperationChange, thread: BotThread | None, watches: list[str]
    ) -> list[_Destination]:
        """Where one change goes, each (channel, thread) once; channel messages about failures mention on-call
        (not for a rollout's operations: the rollout pages once, when it aborts)."""
        failed = change.failure is not None
        page = failed and not (thread is not None and thread.rollout)
        found: dict[tuple[str, str | None], _Destination] = {}

        def add(channel: str | None, thread_ts: str | None, mention: bool) -> None:
            if channel and (channel, thread_ts) not in found:
                found[(channel, thread_ts)] = _Destination(channel, thread_ts, mention)

        if thread is not None:
            if thread.thread_channel_id and thread.thread_ts:
                add(thread.thread_channel_id, thread.thread_ts, False)  # the on-call ping goes in the channel
                if failed:
                    add(thread.thread_channel_id, None, True)
            if thread.notify_channel_id != thread.thread_channel_id:  # the form's "Post status updates in"
                add(thread.notify_channel_id, None, failed)
        for channel in watches:
            add(channel, None, page)
        scope = self.settings.notify_scope
        if self.settings.notify_channel and (
            scope is NotifyScope.ALL
            or (scope is NotifyScope.BOT_CREATED and thread is not None)
            or (scope is NotifyScope.FAILURES and failed)
        ):
            add(self.settings.notify_channel, None, page)
        return list(found.values())
