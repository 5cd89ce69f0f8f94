"""The maintenance pass: nothing is left in a state from which nobody can move it.

Every ``MAINTENANCE_INTERVAL_SECONDS`` (and in every replica): expire the undecided requests whose time came too
close, reconcile creations whose answer was lost, resume approved requests whose creation was interrupted, and
post the approval requests that could not be posted. One failing pass never stops the next; a database outage is
one log line when it starts and one when it ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.control.errors import ControlApiError
from bot.domain.requests import RequestState, ScheduleRecord
from bot.services.approvals import Approvals
from bot.services.rollouts import RolloutsService
from bot.services.scheduling import SchedulingService
from bot.store import Store, StoreUnavailable

log = logging.getLogger("bot.runtime")

BATCH = 200  # requests resumed / posted per pass, oldest first
RESUME_INLINE_SECONDS = 10.0  # a resumption taking longer goes on in the background


class Maintenance:
    """``run_pass`` once, or ``run_forever`` every ``interval`` seconds (tests may shorten it)."""

    def __init__(
        self,
        store: Store,
        scheduling: SchedulingService,
        approvals: Approvals,
        *,
        interval: float,
        before_pass: Callable[[], Awaitable[object]] | None = None,
        rollouts: RolloutsService | None = None,
    ) -> None:
        self.store = store
        self.scheduling = scheduling
        self.approvals = approvals
        self.interval = interval
        self._before_pass = before_pass  # the front end's own chores (the Slack app: its auth.test until it works)
        self._background: set[asyncio.Task[None]] = set()
        self.rollouts = rollouts  # each pass moves the active rollouts on one step

    async def run_pass(self) -> None:
        """One pass: nothing is left in a state from which nobody can move it."""
        if self._before_pass is not None:
            await self._before_pass()
        approvals = self.approvals
        for record in await self.scheduling.expire_due():
            await approvals.show_outcome(record)
        try:
            await self.scheduling.reconcile()
        except ControlApiError as exc:
            log.warning("reconciliation postponed: %s", exc)
        # Oldest first, and only what needs it: a long queue of newer requests never starves an old one.
        for record in await self.store.list_requests([RequestState.APPROVED], limit=BATCH, oldest_first=True):
            await self._resume(record)
        unposted = await self.store.list_requests(
            [RequestState.PENDING_APPROVAL], limit=BATCH, unposted=True, oldest_first=True
        )
        for record in unposted:
            await approvals.post_approval(record)
        if self.rollouts is not None:
            await self.rollouts.run_pass()

    async def _resume(self, record: ScheduleRecord) -> None:
        """Resume one request; a creation still going after ``RESUME_INLINE_SECONDS`` (a fleet request paced at
        ``CREATE_RATE_PER_MINUTE`` takes minutes) goes on in the background, so this pass moves on to the others;
        the next pass finds the request busy in this process and leaves it be."""
        task = asyncio.ensure_future(self.approvals.resume(record))
        done, _ = await asyncio.wait({task}, timeout=RESUME_INLINE_SECONDS)
        if task in done:
            task.result()  # its error is this pass's, as before
            return
        self._background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("resuming a request in the background failed", exc_info=error)

    async def stop(self) -> None:
        """Cancel the creations still going on in the background (a restart resumes them)."""
        if self.rollouts is not None:
            await self.rollouts.stop()
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def run_forever(self) -> None:
        """Expire, reconcile, resume and re-post, forever; one failing pass never stops the next."""
        database_down = False
        while True:
            try:
                await self.run_pass()
            except asyncio.CancelledError:
                raise
            except StoreUnavailable as exc:  # an outage: one line when it starts, one when it ends
                if not database_down:
                    log.warning("maintenance paused: %s; retrying every %.0f s", exc, self.interval)
                database_down = True
            except Exception as exc:
                log.error("maintenance pass failed", exc_info=exc)
            else:
                if database_down:
                    log.warning("maintenance resumed: the database is reachable again")
                database_down = False
            await asyncio.sleep(self.interval)
