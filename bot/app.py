"""The composition root: settings → clients → store → services → Slack deps → AsyncApp. No rules live here.

``serve``, ``serve --socket``, ``notifier``, the console and the tests all build the bot through ``build_runtime``,
passing local stand-ins (a Web API client pointed at a test bench, a Control API client pointed at the simulator, a
clock) where they need them, so every front end runs the same listeners and services. ``BotRuntime`` holds what one
process runs and starts / stops it; ``Parts`` says which of its parts that process runs (``serve``: the Slack side
and the notifier; ``serve --no-notifier``: the Slack side; ``notifier``: the notifier). The work itself is the
services' (``bot.services``) and the listeners' (``bot.slack.listeners``).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import __version__
from bot.clock import Clock, utcnow
from bot.control.client import ControlApiClient
from bot.domain.access import AccessRules
from bot.metrics import Metrics
from bot.services.access import AccessControl, load_access_rules
from bot.services.approvals import Approvals
from bot.services.home import HomeChanges, HomeService
from bot.services.inventory import InventoryFile
from bot.services.languages import Languages
from bot.services.maintenance import Maintenance
from bot.services.notifier import Notifier
from bot.services.operation_types import OperationRules, load_operations
from bot.services.operations import OperationsService
from bot.services.rollouts import RolloutsService
from bot.services.scheduling import SchedulingService
from bot.services.watches import WatchService
from bot.settings import Settings
from bot.slack.app import Authorization, build_app
from bot.slack.delivery import SlackDelivery
from bot.slack.deps import SlackDeps
from bot.slack.directory import SlackDirectory
from bot.slack.home import HomePublisher
from bot.slack.messenger import SlackMessenger
from bot.slack.rollout_messenger import SlackRolloutMessenger
from bot.slack.web import SlackWeb
from bot.stalls import LoopWatch
from bot.store import Store
from bot.tasks import Foreground, Tasks

log = logging.getLogger("bot.runtime")

HEALTH_CACHE_SECONDS = 15.0
HEALTH_CHECK_SECONDS = 3.0  # per dependency, checked concurrently


@dataclass(frozen=True)
class Parts:
    """Which parts of the bot one process runs.

    ``slack``: the Slack side, what answers people (the bolt app behind ``/slack/events`` or Socket Mode, the
    maintenance loop that expires, reconciles and re-posts requests, the time parser loaded before the first
    request). ``notifier``: the loop that polls the Control API and posts what changed (one process at a time
    polls, whatever the number running it: see ``bot.services.notifier``).
    """

    slack: bool = True
    notifier: bool = True

    @classmethod
    def serve(cls, settings: Settings, *, notifier: bool = True) -> Parts:
        """``headless-bot serve``: the Slack side, and the notifier unless ``NOTIFIER_ENABLED=false`` or
        ``--no-notifier`` (``notifier=False``) says otherwise."""
        return cls(slack=True, notifier=notifier and settings.notifier_enabled)

    @classmethod
    def notifier_only(cls) -> Parts:
        """``headless-bot notifier``: the notifier alone. The command is the request, so ``NOTIFIER_ENABLED``
        (which may be ``false`` in an environment shared with web replicas) does not turn it off."""
        return cls(slack=False, notifier=True)


@dataclass
class BotRuntime:
    """Everything one bot process holds, built by ``build_runtime``; ``start()`` before serving, ``stop()`` on the
    way out."""

    settings: Settings
    control: ControlApiClient
    store: Store
    metrics: Metrics
    deps: SlackDeps
    authorization: Authorization
    app: AsyncApp
    maintenance: Maintenance
    notifier: Notifier
    parts: Parts = field(default_factory=Parts)
    foreground: Foreground = field(default_factory=Foreground)  # Slack requests in flight (``bot.server``)
    ready: bool = False
    freeze_after_start: bool = False  # ``serve`` sets it (see ``start``)
    loop_watch: LoopWatch = field(init=False)
    _health: tuple[float, str] | None = None
    _loops: list[asyncio.Task[Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.loop_watch = LoopWatch(observe=self.metrics.loop_lag.observe)

    # What the tests, the console and the benchmarks reach for, by the names they have always had.
    @property
    def web_client(self) -> AsyncWebClient:
        return self.deps.web.client

    @property
    def clock(self) -> Clock:
        return self.deps.clock

    @property
    def directory(self) -> SlackDirectory:
        directory = self.deps.directory
        assert isinstance(directory, SlackDirectory)
        return directory

    @property
    def operations(self) -> OperationsService:
        return self.deps.operations

    @property
    def home(self) -> HomePublisher:
        """The App Home's publisher (``bot.slack.home``)."""
        assert self.deps.home is not None
        return self.deps.home

    @property
    def scheduling(self) -> SchedulingService:
        return self.deps.scheduling

    @property
    def approvals(self) -> Approvals:
        return self.deps.approvals

    @property
    def inventory(self) -> InventoryFile | None:
        return self.deps.inventory

    def readiness(self) -> dict[str, Any]:
        """For ``/readyz``: ready or not, and the inventory in force (with the problem of a refused new file)."""
        details: dict[str, Any] = {"ready": self.ready}
        if self.inventory is not None:
            details["inventory"] = self.inventory.health()
        return details

    @property
    def tasks(self) -> Tasks:
        return self.deps.tasks

    @property
    def _background(self) -> set[asyncio.Task[Any]]:
        return self.deps.tasks.running

    @property
    def maintenance_interval(self) -> float:
        return self.maintenance.interval

    @maintenance_interval.setter
    def maintenance_interval(self, seconds: float) -> None:  # tests and the console shorten it
        self.maintenance.interval = seconds

    async def maintain(self) -> None:
        """One maintenance pass now (the console's ``tick``, tests)."""
        await self.maintenance.run_pass()

    async def start(self) -> None:
        """Migrate the database, load what the first person must not wait for, start the background loops."""
        from bot.when import warm_up

        await self.store.connect()
        await self.deps.web.open()  # the notifier posts through it too
        if self.parts.slack:
            log.info(self.deps.access.startup_line())
            await asyncio.to_thread(warm_up, tuple(self.settings.when_languages))
            await self.authorization.warm_up()
        self.loop_watch.start()
        if self.parts.slack:
            self._loops.append(asyncio.ensure_future(self.maintenance.run_forever()))
            if self.inventory is not None:
                self._loops.append(asyncio.ensure_future(self.inventory.run_forever()))
        if self.parts.notifier:
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
        await self.notifier.stop()  # releases the notifier lock at once, so another replica takes over
        for loop in self._loops:
            loop.cancel()
        if self._loops:
            await asyncio.wait(self._loops, timeout=5)
        await self.maintenance.stop()  # a paced creation resumed in the background; the next start resumes it
        self.home.stop()  # throttled App Home publishes not yet due are dropped (the next open publishes again)
        await self.deps.tasks.wait(timeout=5)
        await self.loop_watch.stop()
        await self.control.aclose()
        await self.deps.web.close()
        await self.store.close()

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
            "runs": {"slack": self.parts.slack, "notifier": self.parts.notifier},
            "notifier": self.notifier.health(),
            **({"inventory": self.inventory.health()} if self.inventory is not None else {}),
        }

    @property
    def notifier_working(self) -> bool:
        """A notifier process's liveness: started and its loop still going (leading or waiting to lead). The
        Control API or the database being down does not count: the loop waits them out."""
        return self.ready and self.notifier.running


def _home(
    settings: Settings,
    store: Store,
    scheduling: SchedulingService,
    rollouts: RolloutsService,
    directory: SlackDirectory,
    web: SlackWeb,
    tasks: Tasks,
    clock: Clock,
    metrics: Metrics,
    *,
    access: AccessControl,
    languages: Languages,
) -> HomePublisher:
    """The App Home: the services say when something it shows changed (``HomeChanges``, handed to them as their
    ``HomeRefresher``); the publisher re-publishes the homes of recent readers."""
    changes = HomeChanges()
    scheduling.home = changes
    service = HomeService(settings, store, scheduling, rollouts, changes, clock=clock)
    home = HomePublisher(service=service, store=store, directory=directory, settings=settings, web=web, tasks=tasks,
                         clock=clock, metrics=metrics, access=access,
                         language_of=languages.cached_for_person)  # fmt: skip
    changes.subscribe(home.changed)
    return home


def _access(
    settings: Settings,
    directory: SlackDirectory,
    store: Store,
    metrics: Metrics,
    scheduling: SchedulingService,
    *,
    clock: Clock,
    slack: bool,
) -> AccessControl:
    """ACCESS_RULES / ACCESS_FILE, read at start by a process that answers Slack (bad rules raise
    ``AccessRulesError`` here, naming the rule). ``BotRuntime.start`` logs the line that says which regime is in
    force, once the database is open (a start that fails says only why)."""
    access = AccessControl(
        load_access_rules(settings) if slack else AccessRules(),
        directory,
        audit=store,
        metrics=metrics,
        types=lambda: scheduling.rules.names,
        clock=clock,
    )
    return access


def _control_client(settings: Settings, metrics: Metrics) -> ControlApiClient:
    """The Control API client of ``CONTROL_API_URL`` / ``CONTROL_API_TOKEN``, observed by the metrics."""
    token = settings.control_api_token.get_secret_value() if settings.control_api_token else ""
    return ControlApiClient(
        settings.control_api_url,
        token,
        timeout=settings.control_api_timeout_seconds,
        refresh_timeout=settings.control_api_refresh_timeout_seconds,
        observer=metrics.observe_control,
        max_connections=settings.control_api_max_connections,
    )


def _inventory(settings: Settings) -> InventoryFile | None:
    """``INVENTORY_FILE``, read now (a bad file raises ``InventoryError`` before anything starts); ``None`` unset."""
    if not settings.inventory_file:
        return None
    inventory = InventoryFile(settings.inventory_file, interval=settings.inventory_reload_seconds)
    inventory.load()
    return inventory


def build_runtime(
    settings: Settings,
    *,
    web_client: AsyncWebClient | None = None,
    control: ControlApiClient | None = None,
    clock: Clock = utcnow,
    socket_mode: bool = False,
    store: Store | None = None,
    parts: Parts | None = None,
) -> BotRuntime:
    """Build the bot from ``settings``; pass stand-ins to replace the real Slack or Control API clients.

    ``parts``: what the process runs (default ``Parts.serve(settings)``: everything ``NOTIFIER_ENABLED`` allows).
    The whole graph is built whatever it says (it is cheap, and one graph is simpler than several); only what
    ``start()`` runs differs, and the inventory (``INVENTORY_FILE``) is read only by a process that answers Slack:
    a bad file raises ``InventoryError`` here, before anything starts; so does ``OPERATIONS_FILE``
    (``OperationsFileError``)."""
    metrics = Metrics()
    control = control or _control_client(settings, metrics)
    if web_client is None:
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        web_client = AsyncWebClient(token=token, base_url=settings.slack_api_url)
    parts = parts or Parts.serve(settings)
    inventory = _inventory(settings) if parts.slack else None
    # OPERATIONS_FILE: read at start by a process that answers Slack (a bad file raises OperationsFileError here).
    catalogue = load_operations(settings) if parts.slack else None
    store = store or Store(settings.database_url, clock=clock)
    web = SlackWeb(web_client)
    directory = SlackDirectory(
        web_client, default_tz=settings.default_timezone, group_ttl=settings.access_group_cache_seconds
    )
    languages = Languages(settings, directory, store)  # channel posts in CHANNEL_LANGUAGES', DMs in the reader's
    messenger = SlackMessenger(web, self_approval=settings.allow_self_approval, language_of=languages.for_destination)
    scheduling = SchedulingService(
        settings, store, control, clock=clock, rules=OperationRules(settings, catalogue),
        inventory=lambda: inventory.current if inventory is not None else None,
    )  # fmt: skip
    approvals = Approvals(settings, store, scheduling, messenger)
    rollout_messenger = SlackRolloutMessenger(
        web,
        self_approval=settings.allow_self_approval,
        oncall_group=settings.oncall_group,
        language=languages.for_channel(settings.approval_channel),
    )
    rollouts = RolloutsService(settings, store, scheduling, rollout_messenger, clock=clock, metrics=metrics)
    authorization = Authorization(web_client)
    access = _access(settings, directory, store, metrics, scheduling, clock=clock, slack=parts.slack)
    tasks = Tasks()
    home = _home(
        settings, store, scheduling, rollouts, directory, web, tasks, clock, metrics, access=access,
        languages=languages,
    )  # fmt: skip
    deps = SlackDeps(
        settings=settings,
        operations=OperationsService(
            control,
            clock=clock,
            refresh_cooldown=settings.refresh_cooldown_seconds,
            list_cache_seconds=settings.list_cache_seconds,
        ),
        scheduling=scheduling,
        approvals=approvals,
        watches=WatchService(store, clock=clock),
        directory=directory,
        metrics=metrics,
        tasks=tasks,
        web=web,
        messenger=messenger,
        clock=clock,
        inventory=inventory,
        rollouts=rollouts,
        access=access,
        languages=languages,
        home=home,
    )
    delivery = SlackDelivery(web, oncall_group=settings.oncall_group, language_of=languages.for_destination)
    foreground = Foreground()  # the acks in flight, which the notifier's work steps aside for
    notifier = Notifier(settings, store, control, delivery, clock=clock, metrics=metrics, foreground=foreground)
    notifier.home = scheduling.home
    return BotRuntime(
        settings=settings,
        control=control,
        store=store,
        metrics=metrics,
        deps=deps,
        authorization=authorization,
        app=build_app(deps, authorization, socket_mode=socket_mode),
        maintenance=Maintenance(
            store,
            scheduling,
            approvals,
            interval=settings.maintenance_interval_seconds,
            before_pass=authorization.warm_up,
            rollouts=rollouts,
        ),
        notifier=notifier,
        foreground=foreground,
        parts=parts,
    )
