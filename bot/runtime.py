"""The one place that builds the object graph: settings → clients → services → Slack app.

``serve``, ``serve --socket``, the console and the tests all build the bot through ``build_runtime``, passing local
stand-ins (a Web API client pointed at a test bench, a Control API client pointed at the simulator, a clock) where
they need them, so every front end runs the same listeners and services.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import __version__
from bot.clock import Clock, utcnow
from bot.control.client import ControlApiClient
from bot.metrics import Metrics
from bot.services.operations import OperationsService
from bot.settings import Settings

log = logging.getLogger("bot.runtime")

HEALTH_CACHE_SECONDS = 15.0


@dataclass
class BotRuntime:
    """Everything one bot process holds; ``start()`` before serving, ``stop()`` on the way out."""

    settings: Settings
    control: ControlApiClient
    web_client: AsyncWebClient
    operations: OperationsService
    metrics: Metrics
    clock: Clock
    app: AsyncApp = field(init=False)
    ready: bool = False
    _health: tuple[float, str] | None = None
    _background: set[asyncio.Task[Any]] = field(default_factory=set)

    async def start(self) -> None:
        """Load what the first person must not wait for, then declare the bot ready."""
        from bot.when import warm_up

        await asyncio.to_thread(warm_up, tuple(self.settings.when_languages))
        self.ready = True
        self.metrics.ready.set(1)
        log.info("headless-bot %s ready", __version__)

    async def stop(self) -> None:
        """Stop taking work, let background work finish briefly, close the clients."""
        self.ready = False
        self.metrics.ready.set(0)
        if self._background:
            await asyncio.wait(self._background, timeout=5)
        await self.control.aclose()

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        """Run ``coro`` in the background, keeping a reference so it is not garbage-collected mid-flight."""
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def control_health(self) -> str:
        """``ok`` / ``unauthorized`` / ``unavailable``, cached briefly so health probes do not load the API."""
        now = time.monotonic()
        if self._health is not None and now - self._health[0] < HEALTH_CACHE_SECONDS:
            return self._health[1]
        try:
            state = await asyncio.wait_for(self.control.health(), timeout=5)
        except TimeoutError:
            state = "unavailable"
        self._health = (now, state)
        return state

    async def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "version": __version__,
            "ready": self.ready,
            "control_api": await self.control_health(),
            "database": "not_configured",
        }


def build_runtime(
    settings: Settings,
    *,
    web_client: AsyncWebClient | None = None,
    control: ControlApiClient | None = None,
    clock: Clock = utcnow,
    socket_mode: bool = False,
) -> BotRuntime:
    """Build the bot from ``settings``; pass stand-ins to replace the real Slack or Control API clients."""
    from bot.slack.app import build_app

    metrics = Metrics()
    if control is None:
        token = settings.control_api_token.get_secret_value() if settings.control_api_token else ""
        control = ControlApiClient(
            settings.control_api_url,
            token,
            timeout=settings.control_api_timeout_seconds,
            refresh_timeout=settings.control_api_refresh_timeout_seconds,
            observer=metrics.observe_control,
        )
    if web_client is None:
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        web_client = AsyncWebClient(token=token, base_url=settings.slack_api_url)
    operations = OperationsService(control, clock=clock, refresh_cooldown=settings.refresh_cooldown_seconds)
    runtime = BotRuntime(
        settings=settings,
        control=control,
        web_client=web_client,
        operations=operations,
        metrics=metrics,
        clock=clock,
    )
    runtime.app = build_app(runtime, socket_mode=socket_mode)
    return runtime
