"""Publishing the bot's App Home: ``views.publish`` of each reader's home, with the view ``hash``, throttled.

Who gets a home: whoever opened it (``app_home_opened``) in the last 24 hours, remembered in the database
(``home_views``) so a restart or another replica keeps refreshing them. When something a home shows changes
(``HomeChanges.changed()``, called by the services), every such reader's home is rendered again from the bot's own
database — no Control API call — at most once per ``min_interval`` seconds per person: a burst of changes becomes
one render, made after the last of them.

Each publish carries the hash of the view last published to that person (stored with it): if another render landed
in between (another replica, a quicker publish), Slack answers ``hash_conflict`` and this one, possibly older, is
dropped in favour of a render with the newer hash, read again. So an older render never overwrites a newer one.
The throttle is per process (in memory); the hash keeps replicas from undoing each other.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bot.clock import Clock
from bot.domain.access import DM
from bot.i18n import DEFAULT_LANGUAGE, use_language
from bot.metrics import Metrics
from bot.services.access import AccessControl
from bot.services.home import HomeService
from bot.services.ports import Directory
from bot.settings import Settings
from bot.slack.blocks.home import home_view
from bot.slack.web import UPDATE, SlackWeb
from bot.store import Store
from bot.tasks import Tasks

log = logging.getLogger("bot.slack.home")

MIN_INTERVAL_SECONDS = 10.0  # one publish per person per 10 s at most
READERS_FOR = timedelta(hours=24)  # re-published only for people who opened it this recently
CONFLICT_RETRIES = 2


class HomePublisher:
    """Renders and publishes App Homes; ``changed()`` is the ``HomeChanges`` subscriber."""

    def __init__(
        self,
        *,
        service: HomeService,
        store: Store,
        directory: Directory,
        settings: Settings,
        web: SlackWeb,
        tasks: Tasks,
        clock: Clock,
        metrics: Metrics,
        access: AccessControl,
        min_interval: float = MIN_INTERVAL_SECONDS,
        language_of: Callable[[str], str] | None = None,
    ) -> None:
        self.language_of = language_of or (lambda _user: DEFAULT_LANGUAGE)  # the reader's (a Home is theirs)
        self.service = service
        self.store = store
        self.directory = directory
        self.settings = settings
        self.web = web
        self.tasks = tasks
        self.clock = clock
        self.metrics = metrics
        self.access = access
        self.min_interval = min_interval
        self.published = 0  # views.publish calls Slack took (tests, the benchmark)
        self._last: dict[str, float] = {}  # person → time.monotonic() of their last publish
        self._pending: set[str] = set()  # people with a publish scheduled (it reads the data when it runs)
        self._timers: dict[str, asyncio.TimerHandle] = {}  # the later ones (a timer, not a task: stop need not wait)
        self._stopped = False
        self._locks: dict[str, asyncio.Lock] = {}
        self._fanout_due = False
        self._fanout: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ triggers

    def changed(self) -> None:
        """Something shown changed: every recent reader's home is published again (throttled). Returns at once."""
        self._fanout_due = True
        if self._fanout is None or self._fanout.done():
            self._fanout = self.tasks.spawn(self._fan_out())

    async def _fan_out(self) -> None:
        while self._fanout_due:
            self._fanout_due = False
            try:
                readers = await self.store.home_readers(self.clock() - READERS_FOR)
            except Exception as exc:  # the database is down: the next change (or open) tries again
                log.warning("could not read the App Home readers: %s", type(exc).__name__)
                return
            for user_id in readers:
                self.request(user_id)

    async def opened(self, user_id: str, view_hash: str | None) -> None:
        """``user_id`` opened the Home tab (Slack sends the hash of the view it shows): remember them, publish."""
        await self.store.home_opened(user_id, at=self.clock(), view_hash=view_hash)
        self.request(user_id)

    def request(self, user_id: str) -> None:
        """Publish ``user_id``'s home now, or ``min_interval`` after their last publish; one pending per person."""
        if user_id in self._pending or self._stopped:
            return  # the publish already scheduled reads the data when it runs
        self._pending.add(user_id)
        wait = self._last.get(user_id, -1e9) + self.min_interval - time.monotonic()
        if wait <= 0:
            self.tasks.spawn(self._publish_now(user_id))
            return
        self._timers[user_id] = asyncio.get_running_loop().call_later(wait, self._due, user_id)

    def _due(self, user_id: str) -> None:
        self._timers.pop(user_id, None)
        if not self._stopped:
            self.tasks.spawn(self._publish_now(user_id))

    def stop(self) -> None:
        """No more publishing (the process stops): the throttled publishes not yet due are dropped."""
        self._stopped = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    async def _publish_now(self, user_id: str) -> None:
        self._pending.discard(user_id)
        try:
            await self.publish(user_id)
        except Exception as exc:  # a home is a view: log, the next change publishes it again
            log.warning("App Home of %s not published: %s", user_id, type(exc).__name__)
            self.metrics.count("home_publish", "error")

    # ------------------------------------------------------------------ rendering and publishing

    async def render(self, user_id: str) -> dict[str, Any]:
        """``user_id``'s home as a view, from the database only (no Control API call). Under access rules it shows
        what the person may do on the Home (a place with no channel: ``dm``), and only the buttons they may use."""
        person = await self.directory.person(user_id)
        is_approver = await self.directory.is_approver(user_id, self.settings.approvers)
        access = self.access
        allowed = await access.permitted(user_id, DM) if access.restricted else None
        approve_types = set(await access.allowed_types(user_id, "approve", DM)) if access.restricted else None
        facts = await self.service.facts(
            user_id, is_approver=is_approver, approve_types=approve_types,
            may_promote=allowed is None or "rollout.promote" in allowed,
        )  # fmt: skip
        with use_language(self.language_of(user_id)):
            return home_view(facts, tz=person.tz, allowed=allowed)

    async def publish(self, user_id: str) -> bool:
        """Render and publish now (no throttle), with the stored hash; True when Slack took it."""
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            self._last[user_id] = time.monotonic()
            for _ in range(1 + CONFLICT_RETRIES):
                expected = await self.store.home_hash(user_id)
                view = await self.render(user_id)  # read after the hash: it shows at least what that view showed
                arguments: dict[str, Any] = {"user_id": user_id, "view": view}
                if expected:
                    arguments["hash"] = expected
                result = await self.web.call("views_publish", UPDATE, **arguments)
                if result.ok:
                    new_hash = str((result.data.get("view") or {}).get("hash") or "")
                    if new_hash:
                        await self.store.home_published(user_id, expected=expected, view_hash=new_hash, at=self.clock())
                    self.published += 1
                    self.metrics.count("home_publish", "ok")
                    return True
                if result.error != "hash_conflict":
                    log.warning("views.publish for %s refused: %s", user_id, result.error)
                    self.metrics.count("home_publish", "refused")
                    return False
                if await self.store.home_hash(user_id) == expected:
                    break  # nobody recorded a newer view: ours is stale until they open the tab again
            log.info("App Home of %s not published: a newer view is shown (hash_conflict)", user_id)
            self.metrics.count("home_publish", "conflict")
            return False


__all__ = ["MIN_INTERVAL_SECONDS", "READERS_FOR", "HomePublisher"]
