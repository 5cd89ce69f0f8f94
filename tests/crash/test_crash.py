"""Crash safety: the bot as a real process, killed with SIGKILL at chosen points, restarted on the same database.

The fault points (``bot/faultpoints.py``) make the bot stop at an exact instant — after recording its intent but
before the POST, or after the POST but before recording the answer — and the test kills it there. A new process
on the same database must then finish the job: no duplicate operation, no lost approval.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.domain.requests import ItemState, RequestState
from bot.simulator import DOCUMENTED_SERIAL, SimulatorConfig, SimulatorState
from bot.slackkit import SlackBench, SlackRequestSender
from bot.store import Store
from tests.support.crash_world import crash_world
from tests.support.harness import APPROVAL_CHANNEL, APPROVER, CONTROL_TOKEN, SIGNING_SECRET
from tests.support.processes import BotProcess
from tests.support.slack_text import texts


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    state = SimulatorState(SimulatorConfig(token=CONTROL_TOKEN, refresh_delay=0.2))
    with crash_world(state, database_url, tmp_path, NOTIFIER_ENABLED="false") as found:
        yield found


def request_state(url: str, request_id: str) -> Any:
    async def read() -> Any:
        async with Store(url) as store:
            return await store.get_request(request_id)

    return asyncio.run(read())


def ops(state: SimulatorState) -> list[Any]:
    return [op for op in state.operations.values() if op.device_serial == DOCUMENTED_SERIAL]


def request_and_confirm(world: dict[str, Any], text: str) -> tuple[str, Any]:
    """The quick form, confirmed by the requester: the request id and the approval message's post."""
    bench: SlackBench = world["bench"]
    sender = SlackRequestSender(world["bot"].url, SIGNING_SECRET, bench=bench)
    command = sender.slash_command(text)
    assert sender.send(command).status_code == 200
    (confirmation,) = bench.wait_for_response(command.response_key, timeout=15)
    request_id = next(
        e["value"] for b in confirmation["blocks"] if b["type"] == "actions" for e in b["elements"]
        if e["action_id"] == "schedule_confirm"
    )  # fmt: skip
    sender.send(sender.block_action("schedule_confirm", request_id, block_id="confirm_actions", is_ephemeral=True,
                                    response_url=command.response_url))  # fmt: skip
    post = next(c for c in bench.wait_for("chat.postMessage", timeout=15) if c.body.get("channel") == APPROVAL_CHANNEL)
    return str(request_id), post


def request_and_approve(world: dict[str, Any]) -> str:
    request_id, post = request_and_confirm(world, f"schedule {DOCUMENTED_SERIAL} reboot tomorrow at 3am")
    sender = SlackRequestSender(world["bot"].url, SIGNING_SECRET, bench=world["bench"])
    sender.send(sender.block_action("approval_approve", request_id, block_id="approval_actions", user_id=APPROVER,
                                    channel_id=APPROVAL_CHANNEL, message_ts=post.response["ts"]))  # fmt: skip
    return request_id


def wait_for_marker(marker: Path, bot: BotProcess, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        assert time.monotonic() < deadline, "the bot never reached the fault point:\n" + bot.log.read_text()[-3000:]
        time.sleep(0.05)


@pytest.mark.parametrize("point", ["before_post", "after_post"])
def test_killed_mid_creation_then_restarted_creates_exactly_once(world: dict[str, Any], point: str) -> None:
    bot: BotProcess = world["bot"]
    marker = world["tmp"] / "paused"
    bot.start(HEADLESS_BOT_PAUSE_AT=point, HEADLESS_BOT_PAUSE_MARKER=str(marker))
    request_id = request_and_approve(world)
    wait_for_marker(marker, bot)
    bot.kill()

    before = request_state(world["url"], request_id)
    assert before.state is RequestState.APPROVED, "the approval survived the crash"
    assert before.items[0].state is ItemState.CREATING, "the intent was recorded before the POST"
    assert len(ops(world["sim"])) == (1 if point == "after_post" else 0)

    bot.start()  # same database, no fault point
    deadline = time.monotonic() + 30
    while (record := request_state(world["url"], request_id)).state is not RequestState.DONE:
        assert time.monotonic() < deadline, "never finished after the restart:\n" + bot.log.read_text()[-3000:]
        time.sleep(0.2)
    created = ops(world["sim"])
    assert len(created) == 1, "exactly one operation, whatever the crash point"
    assert record.items[0].state is ItemState.CREATED
    assert record.items[0].operation_id == created[0].id
    time.sleep(1.0)
    assert len(ops(world["sim"])) == 1


def test_killed_with_a_pending_approval_keeps_it_approvable(world: dict[str, Any]) -> None:
    bot: BotProcess = world["bot"]
    marker = world["tmp"] / "paused"
    bot.start(HEADLESS_BOT_PAUSE_AT="before_post", HEADLESS_BOT_PAUSE_MARKER=str(marker))
    bench: SlackBench = world["bench"]
    request_id, post = request_and_confirm(world, f"schedule {DOCUMENTED_SERIAL} diagnostics in 5 hours")
    bot.kill()  # pending, nobody decided yet (maybe even before the bot recorded where it posted the request)
    bot.start()
    deadline = time.monotonic() + 20
    while (record := request_state(world["url"], request_id)).approval_ts is None:
        assert time.monotonic() < deadline, "the approval message was never (re-)posted"
        time.sleep(0.2)
    sender = SlackRequestSender(bot.url, SIGNING_SECRET, bench=bench)
    if record.approval_ts != post.response["ts"]:
        # The first copy was orphaned by the crash: clicking it retires it and points to the live copy.
        stale = sender.block_action("approval_approve", request_id, block_id="approval_actions", user_id=APPROVER,
                                    channel_id=APPROVAL_CHANNEL, message_ts=post.response["ts"])  # fmt: skip
        sender.send(stale)
        (answer,) = bench.wait_for_response(stale.response_key, timeout=10)
        assert "replaced by a newer message" in answer["text"] and answer["replace_original"] is True
    sender.send(sender.block_action("approval_approve", request_id, block_id="approval_actions", user_id=APPROVER,
                                    channel_id=APPROVAL_CHANNEL, message_ts=record.approval_ts))  # fmt: skip
    deadline = time.monotonic() + 20
    while request_state(world["url"], request_id).state is not RequestState.DONE:
        assert time.monotonic() < deadline, bot.log.read_text()[-3000:]
        time.sleep(0.2)
    assert len(ops(world["sim"])) == 1


# ------------------------------------------------------------------------------------------ the notifier

NOTIFY = "C0NOTIFY"


def known_operations(url: str) -> set[str]:
    async def read() -> set[str]:
        async with Store(url) as store:
            return set(await store.operation_states())

    return asyncio.run(read())


def posts_about(bench: SlackBench, operation_id: str) -> list[Any]:
    return [
        c for c in bench.calls_to("chat.postMessage")
        if c.ok and c.body.get("channel") == NOTIFY and operation_id in json.dumps(c.body)
    ]  # fmt: skip


@pytest.mark.parametrize("point", ["notify_after_poll", "notify_before_delivery", "notify_after_post"])
def test_notifier_killed_mid_cycle_then_restarted(world: dict[str, Any], point: str) -> None:
    """SIGKILL while the notifier polls (list read, nothing recorded), after it recorded the change and its outbox
    row (nothing posted), and after Slack took the post (not yet marked sent); restarted on the same database.
    The change is announced, and only the last point can repeat it: the one message Slack took but the bot had
    not recorded is sent once more (at least once; nothing else repeats)."""
    bot: BotProcess = world["bot"]
    sim: SimulatorState = world["sim"]
    bench: SlackBench = world["bench"]
    notifier = {"NOTIFIER_ENABLED": "true", "NOTIFY_CHANNEL": NOTIFY, "POLL_INTERVAL_SECONDS": "1"}
    operation = sim.create_operation(DOCUMENTED_SERIAL, "reboot", sim.now() + timedelta(days=1), {})

    bot.start(**notifier)  # the first poll records a silent baseline
    deadline = time.monotonic() + 20
    while operation.id not in known_operations(world["url"]):
        assert time.monotonic() < deadline, "no baseline:\n" + bot.log.read_text()[-3000:]
        time.sleep(0.2)
    bot.stop()
    assert posts_about(bench, operation.id) == [], "the baseline is silent"

    sim.force_status(operation.id, "failed")
    marker = world["tmp"] / "paused"
    bot.start(**notifier, HEADLESS_BOT_PAUSE_AT=point, HEADLESS_BOT_PAUSE_MARKER=str(marker))
    wait_for_marker(marker, bot)
    bot.kill()
    assert len(posts_about(bench, operation.id)) == (1 if point == "notify_after_post" else 0)

    bot.start(**notifier)
    deadline = time.monotonic() + 20
    expected = 2 if point == "notify_after_post" else 1
    while len(posts_about(bench, operation.id)) < expected:
        assert time.monotonic() < deadline, "the change was never announced:\n" + bot.log.read_text()[-3000:]
        time.sleep(0.2)
    time.sleep(3.0)  # three more polls: nothing new to say
    posts = posts_about(bench, operation.id)
    assert len(posts) == expected, [texts(p.body) for p in posts]
    assert "failed" in texts(posts[-1].body).lower()
