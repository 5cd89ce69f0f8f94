"""The one place that builds the object graph: settings → clients → services → Slack app.

``serve``, ``serve --socket``, the console and the tests all build the bot through ``build_runtime``, passing local
stand-ins (a Web API client pointed at a test bench, a Control API client pointed at the simulator, a clock) where
they need them, so every front end runs the same listeners and services.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import __version__
from bot.clock import Clock, utcnow
from bot.control.client import ControlApiClient
from bot.control.errors import ControlApiError
from bot.domain.requests import RequestState
from bot.metrics import Metrics
from bot.services.notifier import Notifier
from bot.services.operations import OperationsService
from bot.services.people import Directory
from bot.services.scheduling import SchedulingService
from bot.settings import Settings
from bot.stalls import LoopWatch
from bot.store import Store, StoreUnavailable

log = logging.getLogger("bot.runtime")

HEALTH_CACHE_SECONDS = 15.0
HEALTH_CHECK_SECONDS = 3.0  # per dependency, checked concurrently


@dataclass
class BotRuntime:
    """Everything one bot process holds; ``start()`` before serving, ``stop()`` on the way out."""

    settings: Settings
    control: ControlApiClient
    web_client: AsyncWebClient
    operations: OperationsService
    metrics: Metrics
    clock: Clock
    store: Store
    directory: Directory
    scheduling: SchedulingService
    app: AsyncApp = field(init=False)
    notifier: Notifier | None = None
    workflow: Any = field(init=False)
    command_handlers: dict[str, Any] = field(default_factory=dict)
    maintenance_interval: float = field(init=False)  # from MAINTENANCE_INTERVAL_SECONDS; tests may shorten it
    ready: bool = False
    _health: tuple[float, str] | None = None
    _background: set[asyncio.Task[Any]] = field(default_factory=set)
    _loops: list[asyncio.Task[Any]] = field(default_factory=list)
    loop_watch: LoopWatch = field(init=False)
    http_session: aiohttp.ClientSession | None = None  # Slack's Web API and response_urls, kept alive (start/stop)
    _slack_warm: bool = False
    freeze_after_start: bool = False  # ``serve`` sets it (see ``start``)

    def __post_init__(self) -> None:
        self.maintenance_interval = self.settings.maintenance_interval_seconds
        self.loop_watch = LoopWatch(observe=self.metrics.loop_lag.observe)

    async def start(self) -> None:
        """Migrate the database, load what the first person must not wait for, start the background loops."""
        from bot.when import warm_up

        await self.store.connect()
        # One pooled session for every Slack call (slack_sdk and bolt's respond() otherwise open a new connection,
        # with its TLS handshake, per call).
        self.http_session = aiohttp.ClientSession(trust_env=False)
        if getattr(self.web_client, "session", None) is None:
            self.web_client.session = self.http_session
        await asyncio.to_thread(warm_up, tuple(self.settings.when_languages))
        await self.warm_up_slack()
        self.loop_watch.start()
        self._loops.append(asyncio.ensure_future(self._maintenance_loop()))
        if self.notifier is not None and self.settings.notifier_enabled:
            self.notifier.start()
        if self.freeze_after_start:
            # Everything loaded so far (modules, the time parser's tables, the app) lives as long as the process:
            # out of the collector's reach, a full collection under load does not walk it again each time. Only for
            # a process that runs one bot (``serve``): frozen objects are never collected.
            gc.collect()
            gc.freeze()
        self.ready = True
        self.metrics.ready.set(1)
        log.info("headless-bot %s ready", __version__)

    async def stop(self) -> None:
        """Stop taking work, let background work finish briefly, close the clients and the database."""
        self.ready = False
        self.metrics.ready.set(0)
        if self.notifier is not None:
            await self.notifier.stop()  # releases the notifier lock at once, so another replica takes over
        for loop in self._loops:
            loop.cancel()
        if self._loops:
            await asyncio.wait(self._loops, timeout=5)
        if self._background:
            await asyncio.wait(self._background, timeout=5)
        await self.loop_watch.stop()
        await self.control.aclose()
        if self.http_session is not None:
            if self.web_client.session is self.http_session:
                self.web_client.session = None
            await self.http_session.close()
            self.http_session = None
        await self.store.close()

    async def _maintenance_loop(self) -> None:
        """Expire, reconcile, resume and re-post, forever; one failing pass never stops the next."""
        database_down = False
        while True:
            try:
                await self.maintain()
            except asyncio.CancelledError:
                raise
            except StoreUnavailable as exc:  # an outage: one line when it starts, one when it ends
                if not database_down:
                    log.warning("maintenance paused: %s; retrying every %.0f s", exc, self.maintenance_interval)
                database_down = True
            except Exception as exc:
                log.error("maintenance pass failed", exc_info=exc)
            else:
                if database_down:
                    log.warning("maintenance resumed: the database is reachable again")
                database_down = False
            await asyncio.sleep(self.maintenance_interval)

    async def warm_up_slack(self) -> None:
        """bolt's ``auth.test`` before the first request (never blocks start for more than a few seconds)."""
        from bot.slack.app import warm_up_authorization

        if not self._slack_warm:
            try:
                self._slack_warm = await asyncio.wait_for(warm_up_authorization(self.app), timeout=5)
            except TimeoutError:
                log.warning("Slack auth.test took over 5 s; will try again")

    async def maintain(self) -> None:
        """One pass: nothing is left in a state from which nobody can move it."""
        await self.warm_up_slack()
        workflow = self.workflow
        for record in await self.scheduling.expire_due():
            await workflow.show_outcome(record)
        try:
            await self.scheduling.reconcile()
        except ControlApiError as exc:
            log.warning("reconciliation postponed: %s", exc)
        # Oldest first, and only what needs it: a long queue of newer requests never starves an old one.
        for record in await self.store.list_requests([RequestState.APPROVED], limit=200, oldest_first=True):
            await workflow.resume(record)
        unposted = await self.store.list_requests(
            [RequestState.PENDING_APPROVAL], limit=200, unposted=True, oldest_first=True
        )
        for record in unposted:
            await workflow.post_approval(record)

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        """Run ``coro`` in the background, keeping a reference so it is not garbage-collected mid-flight."""
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        """A background task ended: forget it, and log what escaped it (otherwise only seen at garbage collection)."""
        self._background.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("background work failed", exc_info=exc)

    async def audit(self, actor_id: str, action: str, subject: str, *, channel_id: str | None) -> None:
        """An audit entry that is not about a schedule request (watch, unwatch)."""
        await self.store.audit(actor_id, action, subject, outcome="ok", channel_id=channel_id, at=self.clock())

    async def control_health(self) -> str:
        """``ok`` / ``unauthorized`` / ``unavailable``, cached briefly so health probes do not load the API."""
        now = time.monotonic()
        if self._health is not None and now - self._health[0] < HEALTH_CACHE_SECONDS:
            return self._health[1]
        try:
            state = await asyncio.wait_for(self.control.health(), timeout=HEALTH_CHECK_SECONDS)
        except TimeoutError:
            state = "unavailable"
        self._health = (now, state)
        return state

    async def health(self) -> dict[str, Any]:
        """For ``/healthz``: both dependencies checked at once, each within ``HEALTH_CHECK_SECONDS``, so the answer
        comes inside the Docker HEALTHCHECK's timeout (5 s) whatever they do."""
        database_ok, control_api = await asyncio.gather(
            self.store.ping(seconds=HEALTH_CHECK_SECONDS), self.control_health()
        )
        return {
            "status": "ok",
            "version": __version__,
            "ready": self.ready,
            "control_api": control_api,
            "database": "ok" if database_ok else "unavailable",
            "notifier": self.notifier.health() if self.notifier is not None else None,
        }


def build_runtime(
    settings: Settings,
    *,
    web_client: AsyncWebClient | None = None,
    control: ControlApiClient | None = None,
    clock: Clock = utcnow,
    socket_mode: bool = False,
    store: Store | None = None,
) -> BotRuntime:
    """Build the bot from ``settings``; pass stand-ins to replace the real Slack or Control API clients."""
    from bot.slack.app import build_app
    from bot.slack.workflow import Workflow

    metrics = Metrics()
    if control is None:
        token = settings.control_api_token.get_secret_value() if settings.control_api_token else ""
        control = ControlApiClient(
            settings.control_api_url,
            token,
            timeout=settings.control_api_timeout_seconds,
            refresh_timeout=settings.control_api_refresh_timeout_seconds,
            observer=metrics.observe_control,
            max_connections=settings.control_api_max_connections,
        )
    if web_client is None:
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        web_client = AsyncWebClient(token=token, base_url=settings.slack_api_url)
    operations = OperationsService(
        control,
        clock=clock,
        refresh_cooldown=settings.refresh_cooldown_seconds,
        list_cache_seconds=settings.list_cache_seconds,
    )
    store = store or Store(settings.database_url, clock=clock)
    runtime = BotRuntime(
        settings=settings,
        control=control,
        web_client=web_client,
        operations=operations,
        metrics=metrics,
        clock=clock,
        store=store,
        directory=Directory(web_client, default_tz=settings.default_timezone),
        scheduling=SchedulingService(settings, store, control, clock=clock),
    )
    runtime.notifier = Notifier(settings, store, control, web_client, clock=clock, metrics=metrics)
    runtime.workflow = Workflow(runtime)
    runtime.app = build_app(runtime, socket_mode=socket_mode)
    return runtime
