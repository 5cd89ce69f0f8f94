"""The notifier's world: the Control API simulator and the Slack bench over real HTTP, and a store, per database.

``world`` (a fixture, SQLite and PostgreSQL) starts them; ``World.notifier()`` builds a ``Notifier`` on them in
the test's own event loop, so a test calls ``run_cycle()`` step by step. Shared by the notifier tests.
Register the fixture in a test module with ``from tests.support.notifier_world import world as world``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.control.client import ControlApiClient
from bot.domain.requests import NewScheduleRequest, RequestState
from bot.services.notifier import Notifier
from bot.settings import Settings
from bot.simulator import DOCUMENTED_SERIAL, SimulatorConfig, SimulatorState, create_app
from bot.slack.delivery import SlackDelivery
from bot.slack.web import SlackWeb
from bot.slackkit import SlackBench
from bot.slackkit.servers import serve_asgi
from bot.store import Store
from tests.support.harness import OffsetClock

TOKEN = "sim-token-notifier-0123"
NOTIFY = "C0NOTIFY"
WATCHING = "C0WATCH"
THREADS = "C0THREADS"
CHOSEN = "C0CHOSEN"
OUTSIDE = "C0OUTSIDE"  # the bot is not a member: Slack answers not_in_channel
ONCALL = "S0ONCALL"
INTERVAL = 0.2


@dataclass
class World:
    sim: SimulatorState
    sim_url: str
    bench: SlackBench
    url: str
    store: Store
    clock: OffsetClock = field(default_factory=OffsetClock)
    notifiers: list[Notifier] = field(default_factory=list)
    extras: list[Any] = field(default_factory=list)

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {"notify_channel": NOTIFY, "oncall_group": ONCALL, "database_url": self.url}
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    def notifier(self, store: Store | None = None, **overrides: Any) -> Notifier:
        options = {key: overrides.pop(key) for key in list(overrides) if key in ("sleep", "max_attempts", "wait",
                                                                                 "max_backoff")}  # fmt: skip
        observer = overrides.pop("observer", None)  # sees every Control API request: (kind, outcome, seconds)
        control = ControlApiClient(f"{self.sim_url}/api/v1", TOKEN, timeout=3, max_retries=0, backoff_base=0.01,
                                   observer=observer)  # fmt: skip
        web = AsyncWebClient(token=self.bench.bot_token, base_url=self.bench.api_url)
        settings = self.settings(**overrides)
        sleep = options.pop("sleep", asyncio.sleep)
        sink = SlackDelivery(SlackWeb(web, sleep=sleep), oncall_group=settings.oncall_group)
        notifier = Notifier(
            settings, store or self.store, control, sink, clock=self.clock, poll_interval=INTERVAL, **options,
        )  # fmt: skip
        self.notifiers.append(notifier)
        return notifier

    def op(self, serial: str = DOCUMENTED_SERIAL, kind: str = "firmware_update", minutes: float = 60) -> str:
        scheduled = self.sim.now() + timedelta(minutes=minutes)
        return self.sim.create_operation(serial, kind, scheduled, {"target_version": "2.0.0"}).id

    def force(self, op_id: str, status: str) -> None:
        self.sim.force_status(op_id, status)

    def device(self, serial: str, online: bool) -> None:
        self.sim.set_device_online(serial, online)
        self.sim.refresh_device(serial)  # what the API reports now (its own poll would get there later)

    def posts(self, channel: str | None = None, *, ok: bool = True) -> list[Any]:
        calls = self.bench.calls_to("chat.postMessage")
        return [
            c
            for c in calls
            if (channel is None or c.body.get("channel") == channel) and (not ok or c.response.get("ok"))
        ]

    def serials(self) -> list[str]:
        return [serial for serial in self.sim.devices if serial != DOCUMENTED_SERIAL]


async def bot_created(
    world: World, op_id: str, *more: str, thread: bool = True, chosen: str | None = None
) -> str | None:
    """Record ``op_id`` (and ``more``: one request, one item each) as created by the bot (an approved request whose
    items got them), with its approval message in THREADS as the thread; returns the thread's ts."""
    now = datetime.now(UTC)
    op_ids = [op_id, *more]
    serials = [DOCUMENTED_SERIAL, *world.serials()][: len(op_ids)]
    record = await world.store.create_request(
        NewScheduleRequest(
            requester_id="U0REQ", team_id="T111", device_serials=serials, operation_type="reboot",
            scheduled_time=now + timedelta(hours=1), notify_channel_id=chosen, state=RequestState.PENDING_APPROVAL,
        )
    )  # fmt: skip
    await world.store.transition(record.id, from_states=["pending_approval"], to_state="approved", by="U0A", at=now)
    for item, created in zip(record.items, op_ids, strict=True):
        assert await world.store.claim_item(item.id, at=now)
        await world.store.complete_item(item.id, operation_id=created, at=now)
    if not thread:
        return None
    web = AsyncWebClient(token=world.bench.bot_token, base_url=world.bench.api_url)
    answer = await web.chat_postMessage(channel=THREADS, text="approval request")
    for item in record.items:
        await world.store.set_item_thread(item.id, THREADS, str(answer["ts"]))
    world.bench.clear()
    return str(answer["ts"])


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    config = SimulatorConfig(token=TOKEN, offline_rate=0.0, extra_devices=8, refresh_delay=0.0)
    state = SimulatorState(config)
    with serve_asgi(create_app(state=state)) as sim, SlackBench() as bench:
        for channel, name in ((NOTIFY, "ops"), (WATCHING, "watchers"), (THREADS, "approvals"), (CHOSEN, "team")):
            bench.add_channel(channel, name)
        bench.add_channel(OUTSIDE, "elsewhere", is_member=False)
        store = Store(database_url)
        await store.connect()
        world = World(state, sim.url, bench, database_url, store)
        try:
            yield world
        finally:
            for notifier in world.notifiers:
                await notifier.stop()
                await notifier.control.aclose()
            for extra in world.extras:
                await extra.close()
            await store.close()


async def eventually(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")
