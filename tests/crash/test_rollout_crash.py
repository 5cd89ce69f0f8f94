"""A rollout survives SIGKILL: killed while its first wave is being created (after a POST the bot had not recorded)
and again between waves (soaking), then restarted on the same database: every device gets exactly one operation,
each wave is started once, each thread reply is told once, and the rollout completes."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.domain.rollouts import RolloutState
from bot.simulator import SimulatorConfig, SimulatorState
from bot.slackkit import SlackBench, SlackRequestSender
from bot.store import Store
from tests.crash.test_crash import wait_for_marker
from tests.support.crash_world import crash_world
from tests.support.harness import APPROVAL_CHANNEL, APPROVER, CONTROL_TOKEN, SIGNING_SECRET
from tests.support.processes import BotProcess
from tests.support.slack_text import texts

SERIALS = [f"RC{n:04d}" for n in range(8)]


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    inventory = tmp_path / "devices.csv"
    inventory.write_text("serial,zone,site,tags\n" + "".join(f"{s},UTC,lab,gw\n" for s in SERIALS))
    config = SimulatorConfig(token=CONTROL_TOKEN, failure_rate=0.0, run_seconds=5.0,
                             known_devices=dict.fromkeys(SERIALS))  # fmt: skip
    state = SimulatorState(config)
    for serial in SERIALS:
        state.devices[serial].always_online = True
    env = {"POLL_INTERVAL_SECONDS": "1", "INVENTORY_FILE": str(inventory), "ROLLOUT_LEAD_SECONDS": "900"}
    with crash_world(state, database_url, tmp_path, **env) as found:
        yield found


def read(url: str, work: Any) -> Any:
    async def run() -> Any:
        async with Store(url) as store:
            return await work(store)

    return asyncio.run(run())


def until(what: str, condition: Any, bot: BotProcess, timeout: float = 40.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, f"never {what}:\n" + bot.log.read_text()[-3000:]
        time.sleep(0.2)
    return found


def start_and_approve(world: dict[str, Any], text: str) -> str:
    bench: SlackBench = world["bench"]
    sender = SlackRequestSender(world["bot"].url, SIGNING_SECRET, bench=bench)
    command = sender.slash_command(text)
    assert sender.send(command).status_code == 200
    (preview,) = bench.wait_for_response(command.response_key, timeout=15)
    rollout_id = next(
        e["value"] for b in preview["blocks"] if b["type"] == "actions" for e in b["elements"]
        if e["action_id"] == "rollout_confirm"
    )  # fmt: skip
    sender.send(sender.block_action("rollout_confirm", rollout_id, block_id="rollout_actions", is_ephemeral=True,
                                    response_url=command.response_url))  # fmt: skip
    until("posted", lambda: read(world["url"], lambda s: s.get_rollout(rollout_id)).approval_ts, world["bot"])
    sender.send(sender.block_action("rollout_approve", rollout_id, block_id="rollout_actions", user_id=APPROVER,
                                    channel_id=APPROVAL_CHANNEL))  # fmt: skip
    return str(rollout_id)


def test_killed_mid_wave_and_between_waves_creates_each_operation_once(world: dict[str, Any]) -> None:
    bot: BotProcess = world["bot"]
    sim: SimulatorState = world["sim"]
    marker = world["tmp"] / "paused"
    bot.start(HEADLESS_BOT_PAUSE_AT="after_post", HEADLESS_BOT_PAUSE_MARKER=str(marker))
    rollout_id = start_and_approve(world, "rollout reboot RC* in 10 minutes waves=50,100 soak=5s rate=6000/min")
    wait_for_marker(marker, bot)
    bot.kill()  # wave 1: one operation created, not recorded; the rest waiting
    assert len(sim.order) == 1

    bot.start()
    until("wave 1 created", lambda: len(sim.order) == 4, bot)
    sim.advance(700)  # wave 1's operations run and complete
    rollout = until(
        "soaking", lambda: (r := read(world["url"], lambda s: s.get_rollout(rollout_id))).state
        is RolloutState.SOAKING and r, bot,
    )  # fmt: skip
    assert rollout.current_wave == 1
    bot.kill()  # between waves

    bot.start()
    until("wave 2 created", lambda: len(sim.order) == 8, bot)
    sim.advance(1200)
    until(
        "completed",
        lambda: read(world["url"], lambda s: s.get_rollout(rollout_id)).state is RolloutState.COMPLETED,
        bot,
    )
    serials = Counter(op.device_serial for op in sim.order)
    assert sorted(serials) == SERIALS and set(serials.values()) == {1}, "each device exactly once"
    waves = read(world["url"], lambda s: s.wave_requests(rollout_id))
    assert [w.wave for w in waves] == [1, 2]
    ts = read(world["url"], lambda s: s.get_rollout(rollout_id)).approval_ts
    replies = [texts(c.body) for c in world["bench"].calls_to("chat.postMessage") if c.body.get("thread_ts") == ts]
    started = [r for r in replies if "started" in r.lower()]
    assert len(started) == 2, replies  # each told once, across two kills


def test_two_replicas_on_postgresql_create_each_operation_once(world: dict[str, Any], database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("two replicas share one database only on PostgreSQL (SQLite: one process)")
    first: BotProcess = world["bot"]
    second = BotProcess(dict(first.env), world["tmp"] / "second.log")
    first.start()
    second.start()
    try:
        sim: SimulatorState = world["sim"]
        rollout_id = start_and_approve(world, "rollout reboot RC* in 10 minutes waves=25,100 soak=0 rate=600/min")
        until("wave 1 created", lambda: len(sim.order) == 2, first)
        sim.advance(700)
        until("wave 2 created", lambda: len(sim.order) == 8, first)
        sim.advance(1200)
        until(
            "completed",
            lambda: read(world["url"], lambda s: s.get_rollout(rollout_id)).state is RolloutState.COMPLETED,
            first,
        )
        time.sleep(1.5)  # both replicas run more passes: nothing more may happen
        serials = Counter(op.device_serial for op in sim.order)
        assert sorted(serials) == SERIALS and set(serials.values()) == {1}, "each device exactly once"
        assert [w.wave for w in read(world["url"], lambda s: s.wave_requests(rollout_id))] == [1, 2]
        ts = read(world["url"], lambda s: s.get_rollout(rollout_id)).approval_ts
        replies = [texts(c.body) for c in world["bench"].calls_to("chat.postMessage") if c.body.get("thread_ts") == ts]
        assert len([r for r in replies if "started" in r.lower()]) == 2, replies
    finally:
        second.stop()
