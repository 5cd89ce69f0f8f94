"""The notifier as a new user meets it (issue #12): what it says about operations the bot itself created, how
often a poll full of failures pages on-call, and how soon it says the Control API answers again.

Same world as ``tests/integration/test_notifier.py`` (``tests/support/notifier_world.py``: simulator over real HTTP,
the Slack bench, SQLite and PostgreSQL); the operations "created by the bot" here are created by the real
``SchedulingService`` through real POSTs.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.control.client import ControlApiClient
from bot.control.models import CreateOperationRequest
from bot.domain.requests import NewScheduleRequest, RequestState
from bot.services.scheduling import SchedulingService
from bot.simulator import DOCUMENTED_SERIAL
from bot.store import Store
from tests.support.notifier_world import CHOSEN, INTERVAL, NOTIFY, ONCALL, THREADS, TOKEN, World, eventually
from tests.support.notifier_world import world as world  # the fixture: simulator, Slack bench and a store, per database
from tests.support.slack_text import texts

PING = f"<!subteam^{ONCALL}>"
IN_PROGRESS = "Scheduled → :arrows_counterclockwise: In progress"


async def bot_request(
    world: World, serials: list[str], *, store: Store | None = None, chosen: str | None = None, lost: int = 0
) -> tuple[list[str], str]:
    """An approved request for ``serials`` whose operations the bot creates (real POSTs), with its approval message
    in THREADS as the thread of every item; returns the operation ids and the thread's ts.

    ``store``: the bot process (replica) that creates them. ``lost``: that many items' POSTs land but their answer
    is lost (the process died after the POST), so reconciliation finds and completes them."""
    store = store or world.store
    record = await store.create_request(
        NewScheduleRequest(
            requester_id="U0REQ", team_id="T111", device_serials=serials, operation_type="reboot",
            scheduled_time=world.sim.now() + timedelta(hours=1), notify_channel_id=chosen,
            state=RequestState.PENDING_APPROVAL,
        )
    )  # fmt: skip
    now = world.clock()
    await store.transition(record.id, from_states=["pending_approval"], to_state="approved", by="U0A", at=now)
    control = ControlApiClient(f"{world.sim_url}/api/v1", TOKEN, timeout=3, max_retries=0)
    world.extras.append(_Closing(control))
    scheduling = SchedulingService(world.settings(), store, control, clock=world.clock)
    for item in record.items[:lost]:
        assert await store.claim_item(item.id, at=now)
        await control.create_operation(
            CreateOperationRequest(
                device_serial=item.device_serial, operation_type=record.operation_type,
                scheduled_time=record.scheduled_time, parameters=record.parameters,
            )
        )  # fmt: skip
    await scheduling.create_operations(record.id)
    if lost:
        assert await scheduling.reconcile(older_than=timedelta(0)) == [record.id]
    web = AsyncWebClient(token=world.bench.bot_token, base_url=world.bench.api_url)
    ts = str((await web.chat_postMessage(channel=THREADS, text="approval request"))["ts"])
    done = await store.get_request(record.id)
    assert done is not None
    for item in done.items:
        await store.set_item_thread(item.id, THREADS, ts)
    world.bench.clear()
    ops = [item.operation_id for item in done.items]
    assert all(ops)
    return [str(op) for op in ops], ts


class _Closing:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def close(self) -> None:
        await self.client.aclose()


def in_thread(world: World, ts: str) -> list[Any]:
    return [post for post in world.posts(THREADS) if post.body.get("thread_ts") == ts]


def in_channel(world: World, channel: str) -> list[Any]:
    return [post for post in world.posts(channel) if not post.body.get("thread_ts")]


def pings(posts: list[Any]) -> int:
    """How many of ``posts`` page on-call (a message mentions the group in its text and its blocks)."""
    return sum(1 for post in posts if PING in texts(post))


# ----------------------------------------------------------------------------------------------- item 5


async def test_a_bot_created_operation_is_told_from_scheduled_not_as_first_seen(world: World) -> None:
    await world.notifier().run_cycle()  # the baseline, before anything exists
    (mine,), ts = await bot_request(world, [DOCUMENTED_SERIAL])
    stranger = world.op(world.serials()[0])  # created elsewhere: the bot never knew it
    world.force(mine, "in_progress")
    world.force(stranger, "in_progress")

    report = await world.notifier().run_cycle()  # a restarted process: the knowledge is in the database
    assert report.changes == 2
    (reply,) = in_thread(world, ts)
    assert mine in texts(reply) and IN_PROGRESS in texts(reply) and "first seen" not in texts(reply)
    told = {op: texts(post) for post in world.posts(NOTIFY) for op in (mine, stranger) if op in texts(post)}
    assert IN_PROGRESS in told[mine] and "first seen" not in told[mine]
    assert "unknown (first seen) → :arrows_counterclockwise: In progress" in told[stranger]


async def test_bot_created_operations_first_seen_by_the_very_first_poll_are_told_too(world: World) -> None:
    replica = Store(world.url)  # another replica creates them; this one polls
    await replica.connect()
    world.extras.append(replica)
    ops, ts = await bot_request(world, world.serials()[:2], store=replica, lost=1)  # one found by reconciliation
    quiet = world.op(world.serials()[2])
    for op_id in (*ops, quiet):
        world.force(op_id, "in_progress")

    report = await world.notifier().run_cycle()
    assert report.baseline and report.changes == 2  # the fleet's history stays silent, the bot's own is news
    replies = in_thread(world, ts)
    assert len(replies) == 2 and all(IN_PROGRESS in texts(reply) for reply in replies)
    assert {op for op in ops for reply in replies if op in texts(reply)} == set(ops)
    assert not any(quiet in texts(post) for post in world.posts())
    assert (await world.notifier().run_cycle()).changes == 0


# ----------------------------------------------------------------------------------------------- item 15: on-call


@pytest.mark.parametrize("threshold", [10, 2], ids=["messages", "digests"])
async def test_several_failures_in_one_poll_page_oncall_once_per_channel(world: World, threshold: int) -> None:
    notifier = world.notifier(digest_threshold=threshold)
    await notifier.run_cycle()
    ops, ts = await bot_request(world, world.serials()[:3], chosen=CHOSEN)
    for op_id in ops:
        world.force(op_id, "failed")
    await notifier.run_cycle()

    per_destination = 3 if threshold == 10 else 1
    replies, channel = in_thread(world, ts), in_channel(world, THREADS)
    assert len(replies) == len(channel) == per_destination
    assert pings(replies) == 0  # the thread is told; the page goes to the channel, once
    for posts in (channel, in_channel(world, CHOSEN), in_channel(world, NOTIFY)):
        assert len(posts) == per_destination and pings(posts) == 1
        assert all(op in " ".join(texts(post) for post in posts) for op in ops)

    stranger = world.op(world.serials()[3])
    await notifier.run_cycle()
    world.force(stranger, "failed")
    await notifier.run_cycle()  # the next poll's failure pages again, as a single failure does
    assert pings(in_channel(world, NOTIFY)[per_destination:]) == 1


# ----------------------------------------------------------------------------------------------- item 15: recovery


async def test_recovery_is_told_within_one_poll_interval_however_long_the_back_off(world: World) -> None:
    """The loop runs for real with a virtual wait: each wait moves the notifier's clock by what was asked and
    returns at once, so the test reads in virtual seconds how long the notifier waited between list polls."""
    events: list[tuple[str, Any]] = []

    def observe(kind: str, outcome: str, seconds: float) -> None:
        events.append((kind, outcome))

    async def wait(seconds: float) -> None:
        failed_polls = sum(1 for kind, outcome in events if kind == "list" and outcome != "ok")
        if failed_polls >= 4 and world.sim.faults.error_rate:
            world.sim.faults.error_rate = 0.0  # the API comes back while the notifier waits
            events.append(("healed", None))
        events.append(("wait", seconds))
        world.clock.advance(seconds)
        await asyncio.sleep(0.01)

    notifier = world.notifier(wait=wait, observer=observe, max_backoff=3600.0)
    await notifier.run_cycle()  # baseline
    events.clear()
    world.sim.faults.error_rate = 1.0
    notifier.start()
    await eventually(lambda: len(world.posts(NOTIFY)) == 2, timeout=20, what="the recovery message")
    await notifier.stop()

    alert, recovery = world.posts(NOTIFY)
    assert "Control API unreachable since" in texts(alert) and "answering again after" in texts(recovery)
    lists = [n for n, (kind, _) in enumerate(events) if kind == "list"]
    waited = [sum(s for kind, s in events[a:b] if kind == "wait") for a, b in pairwise(lists)]
    assert waited[:3] == pytest.approx([2 * INTERVAL, 4 * INTERVAL, 8 * INTERVAL])  # the list still backs off
    healed = events.index(("healed", None))
    recovered = next(n for n in lists if n > healed)
    assert events[recovered][1] == "ok"
    assert sum(s for kind, s in events[healed:recovered] if kind == "wait") <= INTERVAL + 1e-9
    assert any(kind == "health" for kind, _ in events[:healed])  # probed, one small request, meanwhile
