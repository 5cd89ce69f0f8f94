"""The notifier on SQLite and PostgreSQL: the simulator drives status changes, the Slack bench receives the posts.

Most tests build a ``Notifier`` in the test's own event loop (store, Control API client and Web API client
pointed at the simulator and the bench over real HTTP) and call ``run_cycle()`` directly, so each step is
deterministic; the leader tests and one end-to-end test run the real loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from bot.control.client import ControlApiClient
from bot.control.models import DeviceStatus, Operation
from bot.domain.changes import Failure, KnownState, OperationChange, diff_operations
from bot.simulator import DOCUMENTED_SERIAL
from bot.slack.blocks import notifications as notify_blocks
from bot.slackkit import block_kit_problems
from bot.store import Store
from tests.support.databases import asyncpg_dsn
from tests.support.harness import bot_harness
from tests.support.notifier_world import (
    CHOSEN,
    INTERVAL,
    NOTIFY,
    ONCALL,
    OUTSIDE,
    THREADS,
    TOKEN,
    WATCHING,
    World,
    bot_created,
    eventually,
)
from tests.support.notifier_world import world as world  # registers the fixture here
from tests.support.slack_text import texts


def buttons(call: Any) -> list[dict[str, Any]]:
    return [e for b in call.body.get("blocks") or [] for e in b.get("elements") or [] if e.get("type") == "button"]


# ----------------------------------------------------------------------------------------------- transitions


async def test_baseline_is_silent_then_each_transition_is_told_once(world: World) -> None:
    running, finished = world.op(), world.op()
    world.force(finished, "completed")
    notifier = world.notifier()

    report = await notifier.run_cycle()
    assert report.baseline and report.ok
    assert report.operations == 2 and report.recorded == 2 and report.changes == 0
    assert world.bench.calls_to("chat.postMessage") == []

    world.force(running, "in_progress")
    report = await notifier.run_cycle()
    assert not report.baseline and report.changes == 1 and report.sent == 1
    (post,) = world.posts(NOTIFY)
    assert running in texts(post) and "Scheduled → :arrows_counterclockwise: In progress" in texts(post)
    assert "subteam" not in texts(post)  # not a failure: nobody is paged

    assert (await notifier.run_cycle()).changes == 0
    world.force(running, "completed")
    await notifier.run_cycle()
    await notifier.run_cycle()
    posts = world.posts(NOTIFY)
    assert len(posts) == 2 and "Completed" in texts(posts[1])
    assert await world.store.notification_counts() == {"sent": 2}


async def test_first_sight_after_the_baseline(world: World) -> None:
    notifier = world.notifier()
    await notifier.run_cycle()  # baseline of an empty fleet
    quiet = world.op()  # scheduled: nothing to say yet
    finished = world.op()
    world.force(finished, "completed")  # created and finished between two polls: must not be missed
    report = await notifier.run_cycle()
    assert report.changes == 1
    (post,) = world.posts(NOTIFY)
    assert finished in texts(post) and "unknown (first seen)" in texts(post) and quiet not in texts(post)


async def test_device_offline_and_back_for_an_unfinished_operation(world: World) -> None:
    serial = world.serials()[0]
    op_id = world.op(serial)
    done = world.op(serial)
    world.force(done, "completed")
    notifier = world.notifier()
    await notifier.run_cycle()

    world.device(serial, False)
    report = await notifier.run_cycle()
    assert report.changes == 1  # the completed operation's device does not matter any more
    (offline,) = world.posts(NOTIFY)
    assert "went *offline*" in texts(offline) and op_id in texts(offline)

    world.device(serial, True)
    await notifier.run_cycle()
    assert "back online" in texts(world.posts(NOTIFY)[-1])
    assert len(world.posts(NOTIFY)) == 2


# ----------------------------------------------------------------------------------------------- failures


async def test_failure_mentions_oncall_with_serial_type_time_device_and_a_refresh_button(world: World) -> None:
    op_id = world.op(kind="configuration_update")
    notifier = world.notifier()
    await notifier.run_cycle()
    world.force(op_id, "failed")
    await notifier.run_cycle()
    (post,) = world.posts(NOTIFY)
    text = texts(post)
    assert post.body["text"].startswith(f"<!subteam^{ONCALL}>")
    assert f"<!subteam^{ONCALL}>" in text and ":rotating_light:" in text
    assert DOCUMENTED_SERIAL in text and "configuration_update" in text
    assert "*Scheduled* <!date^" in text and "*Last device status* :large_green_circle: online" in text
    assert "firmware `1.2.3`" in text
    (refresh,) = buttons(post)
    assert refresh["action_id"] == "refresh_operation" and refresh["value"] == op_id


async def test_expiry_and_offline_at_the_scheduled_time_are_failures_reported_once(world: World) -> None:
    serial = world.serials()[1]
    late = world.op(serial, minutes=30)
    expiring = world.op()
    notifier = world.notifier()
    await notifier.run_cycle()

    world.device(serial, False)
    world.clock.advance(31 * 60)  # the notifier's clock passes the scheduled time; the device is offline
    world.force(expiring, "expired")
    report = await notifier.run_cycle()
    assert report.changes == 2
    posts = [texts(p) for p in world.posts(NOTIFY)]
    assert len(posts) == 2
    offline = next(t for t in posts if late in t)
    assert "Device offline at its scheduled time" in offline and f"<!subteam^{ONCALL}>" in offline
    assert ":red_circle: offline" in offline
    expired = next(t for t in posts if expiring in t)
    assert "expired" in expired and f"<!subteam^{ONCALL}>" in expired

    world.clock.advance(60)
    await notifier.run_cycle()
    assert len(world.posts(NOTIFY)) == 2  # still offline, still late: already reported


async def test_api_text_is_escaped(world: World) -> None:
    op_id = world.op(kind="<!channel> & <@U123>")
    notifier = world.notifier()
    await notifier.run_cycle()
    world.force(op_id, "failed <!here>")
    await notifier.run_cycle()
    (post,) = world.posts(NOTIFY)
    blocks_text = "\n".join(b["text"]["text"] for b in post.body["blocks"] if isinstance(b.get("text"), dict))
    assert "<!channel>" not in blocks_text and "<!here>" not in blocks_text and "<@U123>" not in blocks_text
    assert "&lt;!channel&gt; &amp; &lt;@U123&gt;" in blocks_text


# ----------------------------------------------------------------------------------------------- routing


async def test_bot_created_thread_reply_then_failure_in_the_thread_and_the_channel(world: World) -> None:
    op_id = world.op()
    thread_ts = await bot_created(world, op_id, chosen=CHOSEN)
    notifier = world.notifier(notify_channel=None)
    await notifier.run_cycle()

    world.force(op_id, "in_progress")
    await notifier.run_cycle()
    (reply,) = world.posts(THREADS)
    assert reply.body["thread_ts"] == thread_ts and "In progress" in texts(reply)
    (chosen,) = world.posts(CHOSEN)  # the request's "Post status updates in" channel
    assert "thread_ts" not in chosen.body

    world.force(op_id, "failed")
    await notifier.run_cycle()
    in_threads = world.posts(THREADS)
    assert len(in_threads) == 3
    failure_reply = next(p for p in in_threads[1:] if p.body.get("thread_ts") == thread_ts)
    channel_message = next(p for p in in_threads[1:] if not p.body.get("thread_ts"))
    assert "subteam" not in texts(failure_reply)  # the channel message pages, the thread reply does not
    assert f"<!subteam^{ONCALL}>" in texts(channel_message) and buttons(channel_message)
    assert len(world.posts(CHOSEN)) == 2 and f"<!subteam^{ONCALL}>" in texts(world.posts(CHOSEN)[-1])
    assert world.posts(NOTIFY) == []


async def test_watches_get_the_changes_until_unwatched(world: World) -> None:
    op_id = world.op()
    await world.store.add_watch(op_id, WATCHING, "U0W", datetime.now(UTC))
    notifier = world.notifier(notify_channel=None)
    await notifier.run_cycle()
    world.force(op_id, "in_progress")
    await notifier.run_cycle()
    assert len(world.posts(WATCHING)) == 1
    await world.store.remove_watch(op_id, WATCHING)
    world.force(op_id, "completed")
    await notifier.run_cycle()
    assert len(world.posts(WATCHING)) == 1


async def test_one_message_per_channel_when_destinations_coincide(world: World) -> None:
    op_id = world.op()
    await world.store.add_watch(op_id, NOTIFY, "U0W", datetime.now(UTC))
    notifier = world.notifier()
    await notifier.run_cycle()
    world.force(op_id, "failed")
    await notifier.run_cycle()
    assert len(world.posts(NOTIFY)) == 1


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("all", {"mine:in_progress", "theirs:in_progress", "theirs:failed"}),
        ("bot-created", {"mine:in_progress"}),
        ("failures", {"theirs:failed"}),
    ],
)
async def test_notify_scope(world: World, scope: str, expected: set[str]) -> None:
    mine, theirs = world.op(), world.op()
    await bot_created(world, mine, thread=False)
    notifier = world.notifier(notify_scope=scope)
    await notifier.run_cycle()
    world.force(mine, "in_progress")
    world.force(theirs, "in_progress")
    await notifier.run_cycle()
    world.force(theirs, "failed")
    await notifier.run_cycle()
    names = {mine: "mine", theirs: "theirs"}
    seen = set()
    for post in world.posts(NOTIFY):
        op_id = next(op for op in names if op in texts(post))
        seen.add(f"{names[op_id]}:{'failed' if 'subteam' in texts(post) else 'in_progress'}")
    assert seen == expected
    assert len(world.posts(NOTIFY)) == len(expected)


# ----------------------------------------------------------------------------------------------- once each


async def test_crash_before_the_commit_loses_nothing(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    op_id = world.op()
    first = world.notifier()
    await first.run_cycle()
    world.force(op_id, "in_progress")

    async def crash(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("killed before the commit")

    monkeypatch.setattr(world.store, "record_notifier_cycle", crash)
    with pytest.raises(RuntimeError):
        await first.run_cycle()
    monkeypatch.undo()
    assert world.posts() == []

    restarted = world.notifier()
    await restarted.run_cycle()
    await restarted.run_cycle()
    assert len(world.posts(NOTIFY)) == 1


async def test_crash_between_commit_and_post_delivers_after_restart(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    op_id = world.op()
    first = world.notifier()
    await first.run_cycle()
    world.force(op_id, "in_progress")

    async def crash(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("killed before posting")

    monkeypatch.setattr(first, "deliver", crash)
    with pytest.raises(RuntimeError):
        await first.run_cycle()
    assert world.posts() == [] and await world.store.notification_counts() == {"pending": 1}

    restarted = world.notifier()
    report = await restarted.run_cycle()
    assert report.changes == 0 and report.sent == 1  # the change was recorded: not found again, just delivered
    await restarted.run_cycle()
    assert len(world.posts(NOTIFY)) == 1


async def test_crash_between_post_and_mark_resends_at_most_that_row(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_op, second_op = world.op(), world.op()
    first = world.notifier()
    await first.run_cycle()
    world.force(first_op, "in_progress")
    world.force(second_op, "in_progress")
    real_finish = world.store.finish_notifications

    async def crash_after_first_post(*_args: Any, **_kwargs: Any) -> int:
        raise RuntimeError("killed after Slack accepted the post")

    monkeypatch.setattr(world.store, "finish_notifications", crash_after_first_post)
    with pytest.raises(RuntimeError):
        await first.run_cycle()
    monkeypatch.setattr(world.store, "finish_notifications", real_finish)
    assert len(world.posts(NOTIFY)) == 1  # delivery stopped at the crash

    restarted = world.notifier()
    await restarted.run_cycle()
    await restarted.run_cycle()
    posts = [texts(p) for p in world.posts(NOTIFY)]
    assert len(posts) == 3  # the unrecorded post once more, then the second operation's
    assert sum(first_op in t for t in posts) == 2 and sum(second_op in t for t in posts) == 1
    assert await world.store.notification_counts() == {"sent": 2}


async def test_a_second_notifier_computing_the_same_change_inserts_nothing(world: World) -> None:
    op_id = world.op()
    notifier = world.notifier()
    await notifier.run_cycle()
    world.force(op_id, "in_progress")
    known = await world.store.operation_states()
    operations = await notifier.control.list_operations()
    diff = diff_operations(operations, known, now=world.clock(), baseline=False)
    notes = await notifier.route(diff.changes)
    for _ in range(2):  # two replicas that both saw the old state
        await world.store.record_notifier_cycle(states=diff.states, notifications=notes, at=world.clock())
    await notifier.deliver()
    assert len(world.posts(NOTIFY)) == 1


# ----------------------------------------------------------------------------------------------- digest


async def test_more_changes_than_the_threshold_make_one_digest(world: World) -> None:
    ids = [world.op(serial) for serial in world.serials()[:6]]
    notifier = world.notifier(digest_threshold=4)
    await notifier.run_cycle()
    for op_id in ids[:5]:
        world.force(op_id, "in_progress")
    world.force(ids[5], "failed")
    report = await notifier.run_cycle()
    assert report.digests == 1 and report.posts == 1 and report.sent == 6
    (digest,) = world.posts(NOTIFY)
    text = texts(digest)
    assert "6 operation changes" in text and "1 failure" in text and f"<!subteam^{ONCALL}>" in text
    assert all(op_id in text for op_id in ids)
    assert text.index(ids[5]) < text.index(ids[0])  # failures first
    assert await world.store.notification_counts() == {"sent": 6}

    world.force(ids[0], "completed")
    await notifier.run_cycle()
    assert "Completed" in texts(world.posts(NOTIFY)[-1]) and len(world.posts(NOTIFY)) == 2  # back to single posts


def test_a_huge_digest_stays_within_block_kit_limits() -> None:
    now = datetime.now(UTC)
    changes = [
        OperationChange(
            operation_id=f"txn_{n}", device_serial=f"SN{n:09d}", operation_type="firmware_update" * 3,
            scheduled_time=now, status="failed" if n % 7 == 0 else "completed", old_status="in_progress",
            device_online=True, last_seen=now, firmware_version="1.0", version=2,
            failure=Failure.STATUS if n % 7 == 0 else None,
        )
        for n in range(5000)
    ]  # fmt: skip
    message = notify_blocks.digest_message(changes, oncall_group=ONCALL)
    assert block_kit_problems(message, surface="message") == []
    assert len(message["blocks"]) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in message["blocks"] if b["type"] == "section")
    assert "more." in message["blocks"][-2]["text"]["text"]
    shown = sum(texts({"blocks": [b]}).count("• ") for b in message["blocks"])
    more = int(message["blocks"][-2]["text"]["text"].split()[1])
    assert shown + more == 5000


def test_single_messages_stay_within_block_kit_limits() -> None:
    now = datetime.now(UTC)
    base = {
        "operation_id": "txn_1", "device_serial": "SN1", "operation_type": "reboot", "scheduled_time": now,
        "device_online": None, "last_seen": None, "firmware_version": None, "version": 1,
    }  # fmt: skip
    for change in (
        OperationChange(**base, status="x" * 5000, old_status=None, failure=Failure.STATUS),
        OperationChange(**base, status="pending", old_status="pending", device_change="offline"),
        OperationChange(**base, status="pending", old_status="scheduled", failure=Failure.OFFLINE_AT_SCHEDULED_TIME),
    ):
        assert block_kit_problems(notify_blocks.change_message(change, oncall_group=ONCALL, mention_oncall=True),
                                  surface="message") == []  # fmt: skip
    for message in (notify_blocks.outage_message(now, "<b>"), notify_blocks.recovery_message(now, now)):
        assert block_kit_problems(message, surface="message") == []


# ----------------------------------------------------------------------------------------------- Slack errors


async def test_rate_limit_is_honoured_with_retry_after(world: World) -> None:
    op_id = world.op()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    notifier = world.notifier(sleep=sleep)
    await notifier.run_cycle()
    world.force(op_id, "in_progress")
    world.bench.rate_limit("chat.postMessage", retry_after=1)
    report = await notifier.run_cycle()
    assert waits == [1.0] and report.rate_limited == 1 and report.sent == 1
    limited, accepted = world.bench.calls_to("chat.postMessage")
    assert limited.status == 429 and accepted.response["ok"]
    assert accepted.at - limited.at >= 0.9
    assert len(world.posts(NOTIFY)) == 1


async def test_a_channel_the_bot_is_not_in_is_logged_once_and_skipped(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = world.op(), world.op()
    for op_id in (first, second):
        await world.store.add_watch(op_id, OUTSIDE, "U0W", datetime.now(UTC))
    notifier = world.notifier()
    await notifier.run_cycle()
    caplog.set_level(logging.WARNING, logger="bot.notifier")
    world.force(first, "in_progress")
    world.force(second, "in_progress")
    report = await notifier.run_cycle()
    world.force(first, "completed")
    again = await notifier.run_cycle()
    refused = [c for c in world.bench.calls_to("chat.postMessage") if c.body["channel"] == OUTSIDE]
    assert len(refused) == 1 and refused[0].response["error"] == "not_in_channel"  # tried once, not forever
    assert report.skipped == 2 and again.skipped == 1
    assert len(world.posts(NOTIFY)) == 3  # the other channel is not held up
    lines = [r.getMessage() for r in caplog.records if OUTSIDE in r.getMessage()]
    assert len(lines) == 1 and "not_in_channel" in lines[0]
    assert world.bench.bot_token not in caplog.text
    assert (await world.store.notification_counts()) == {"sent": 3, "skipped": 3}


async def test_slack_server_errors_leave_rows_pending_then_give_up(world: World) -> None:
    op_id = world.op()
    notifier = world.notifier(max_attempts=3)
    await notifier.run_cycle()
    world.force(op_id, "in_progress")
    world.bench.server_error("chat.postMessage", times=1)
    report = await notifier.run_cycle()
    assert report.deferred == 1 and await world.store.notification_counts() == {"pending": 1}
    report = await notifier.run_cycle()
    assert report.sent == 1 and len(world.posts(NOTIFY)) == 1

    world.force(op_id, "completed")
    world.bench.server_error("chat.postMessage", times=None)
    for _ in range(3):
        await notifier.run_cycle()
    assert await world.store.notification_counts() == {"sent": 1, "skipped": 1}
    world.bench.clear_faults()
    await notifier.run_cycle()
    assert len(world.posts(NOTIFY)) == 1


# ----------------------------------------------------------------------------------------------- outages


async def test_outage_alert_once_and_recovery_once_across_a_restart(world: World) -> None:
    op_id = world.op()
    notifier = world.notifier()
    await notifier.run_cycle()
    world.sim.faults.error_rate = 1.0

    first = await notifier.run_cycle()
    assert not first.ok and "500" in (first.error or "")
    assert world.posts() == []  # one failed poll is not an outage yet
    await asyncio.sleep(INTERVAL)
    await notifier.run_cycle()
    (alert,) = world.posts(NOTIFY)
    assert "Control API unreachable since" in texts(alert) and "HTTP 500" in texts(alert)
    await notifier.run_cycle()

    restarted = world.notifier()
    await restarted.run_cycle()
    assert len(world.posts(NOTIFY)) == 1

    world.force(op_id, "in_progress")  # changed during the outage
    world.sim.faults.error_rate = 0.0
    report = await restarted.run_cycle()
    assert report.ok
    alert, recovery, change = world.posts(NOTIFY)
    assert "answering again after" in texts(recovery)
    assert op_id in texts(change)
    await restarted.run_cycle()
    assert len(world.posts(NOTIFY)) == 3
    assert set(await world.store.notifier_meta()) - {"states_writer"} == {"baseline_done"}  # outage flags cleared


async def test_a_short_blip_is_not_announced(world: World) -> None:
    notifier = world.notifier()
    await notifier.run_cycle()
    world.sim.faults.error_rate = 1.0
    await notifier.run_cycle()
    world.sim.faults.error_rate = 0.0
    await notifier.run_cycle()
    assert world.posts() == []
    assert set(await world.store.notifier_meta()) == {"baseline_done"}


async def test_a_rejected_token_is_an_outage_too(world: World) -> None:
    notifier = world.notifier(notify_scope="failures")
    await notifier.run_cycle()
    world.sim.faults.reject_token = True
    await notifier.run_cycle()
    await asyncio.sleep(INTERVAL)
    report = await notifier.run_cycle()
    assert not report.ok
    (alert,) = world.posts(NOTIFY)
    assert "rejects the bot's token" in texts(alert) and TOKEN not in texts(alert)


async def test_the_loop_backs_off_exponentially_and_caps(world: World) -> None:
    requests: list[str] = []
    notifier = world.notifier(observer=lambda kind, outcome, seconds: requests.append(kind))
    notifier.max_backoff = 1.0
    assert [notifier.next_delay(n) for n in range(5)] == [INTERVAL, 0.4, 0.8, 1.0, 1.0]
    world.sim.faults.error_rate = 1.0
    notifier.start()
    await asyncio.sleep(2.0)
    await notifier.stop()
    polls = requests.count("list")
    assert 3 <= polls <= 5  # 0, 0.4, 1.2, 2.0 … instead of every 0.2 s (10 polls)
    assert requests.count("health") >= 2  # meanwhile one small probe per interval (see test_notifier_first_use.py)
    assert world.sim.hits["GET"] == len(requests)
    assert len(world.posts(NOTIFY)) == 1  # the one outage alert


async def test_polls_use_the_list_endpoint_only(world: World) -> None:
    for serial in world.serials():
        world.op(serial)
    notifier = world.notifier()
    await notifier.run_cycle()
    await notifier.run_cycle()
    assert world.sim.hits == {"GET": 2}  # one list request per cycle, whatever the fleet's size


# ----------------------------------------------------------------------------------------------- replicas


async def _terminate(url: str, pid: int) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(url.split("?")[0]), timeout=5)
    try:
        await connection.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await connection.close()


async def test_one_leader_polls_and_another_takes_over_when_it_dies(world: World) -> None:
    if world.store.dialect != "postgresql":
        pytest.skip("leader election is a PostgreSQL feature (SQLite: one process)")
    other_store = Store(world.url)
    await other_store.connect()
    world.extras.append(other_store)
    op_id = world.op()
    first, second = world.notifier(), world.notifier(store=other_store)
    first.start()
    await eventually(lambda: first.cycles >= 1, what="the first notifier's baseline")
    second.start()
    await asyncio.sleep(4 * INTERVAL)
    assert first.is_leader and not second.is_leader and second.cycles == 0

    leader_pid = first._lease.pid if first._lease else None
    assert leader_pid
    task = first._task
    first._task = None
    assert task is not None
    task.cancel()
    await _terminate(world.url, leader_pid)
    died = time.monotonic()
    await eventually(lambda: second.is_leader, timeout=5, what="the takeover")
    assert time.monotonic() - died <= INTERVAL + 1.0  # within about one poll interval

    world.force(op_id, "in_progress")
    await eventually(lambda: world.posts(NOTIFY), what="the new leader's post")
    await asyncio.sleep(3 * INTERVAL)
    assert len(world.posts(NOTIFY)) == 1


async def test_a_leader_that_loses_its_lock_connection_stops_polling(world: World) -> None:
    if world.store.dialect != "postgresql":
        pytest.skip("PostgreSQL only")
    notifier = world.notifier()
    notifier.start()
    await eventually(lambda: notifier.is_leader and notifier.cycles >= 1, what="leadership")
    lease = notifier._lease
    assert lease is not None and lease.pid
    await _terminate(world.url, lease.pid)
    await eventually(lambda: notifier._lease is not lease, what="the lost lock to be noticed")
    await eventually(lambda: notifier.is_leader, what="the lock taken again (nobody else wants it)")


async def test_sqlite_one_process_polls(world: World) -> None:
    if world.store.dialect != "sqlite":
        pytest.skip("SQLite only")
    other = Store(world.url)  # a second process on the same file, by mistake
    await other.connect()
    world.extras.append(other)
    lease = await world.store.notifier_lease()
    assert lease is not None and lease.connection is None and await lease.alive()
    assert await other.notifier_lease() is None
    await lease.release()
    second = await other.notifier_lease()
    assert second is not None
    await second.release()
    memory = Store("sqlite+aiosqlite:///:memory:")
    await memory.connect()
    world.extras.append(memory)
    assert await memory.notifier_lease() is not None


# ----------------------------------------------------------------------------------------------- pure diff


def _op(op_id: str, status: str, *, online: bool | None = True, minutes: float = 60) -> Operation:
    return Operation(
        id=op_id, device_serial="SN1", operation_type="reboot", status=status,
        scheduled_time=datetime(2030, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes),
        device_status=DeviceStatus(online=online),
    )  # fmt: skip


def test_diff_rules() -> None:
    now = datetime(2030, 1, 1, 0, 30, tzinfo=UTC)
    known = {
        "same": KnownState("in_progress", True, False, 3),
        "moved": KnownState("in_progress", True, False, 3),
        "flapped": KnownState("in_progress", True, False, 1),
        "ended_flap": KnownState("completed", True, False, 1),
        "late": KnownState("scheduled", True, False, 1),
    }
    operations = [
        _op("same", "in_progress"),
        _op("moved", "completed"),
        _op("flapped", "in_progress", online=False),
        _op("ended_flap", "completed", online=False),
        _op("late", "scheduled", online=False, minutes=-5),
        _op("new_quiet", "scheduled"),
        _op("new_done", "failed"),
    ]
    diff = diff_operations(operations, known, now=now, baseline=False)
    by_id = {change.operation_id: change for change in diff.changes}
    assert set(by_id) == {"moved", "flapped", "late", "new_done"}
    assert by_id["moved"].version == 4 and by_id["moved"].old_status == "in_progress" and by_id["moved"].failure is None
    assert by_id["flapped"].device_change == "offline" and by_id["flapped"].kind == "device"
    assert by_id["late"].failure is Failure.OFFLINE_AT_SCHEDULED_TIME
    assert by_id["new_done"].failure is Failure.STATUS and by_id["new_done"].old_status is None
    assert {row["operation_id"] for row in diff.states} == {"moved", "flapped", "late", "new_quiet", "new_done"}

    baseline = diff_operations(operations, {}, now=now, baseline=True)
    assert baseline.changes == [] and len(baseline.states) == len(operations)
    late_row = next(row for row in baseline.states if row["operation_id"] == "late")
    assert late_row["offline_reported"] is True  # a baseline does not page about the past either


def test_dedupe_keys_differ_per_change_and_destination() -> None:
    change = diff_operations([_op("a", "failed")], {"a": KnownState("in_progress", True, False, 1)},
                             now=datetime(2030, 1, 1, tzinfo=UTC), baseline=False).changes[0]  # fmt: skip
    keys = {change.dedupe_key("C1", None), change.dedupe_key("C1", "1.2"), change.dedupe_key("C2", None)}
    assert len(keys) == 3
    assert OperationChange.from_payload(change.to_payload()) == change
    long = OperationChange.from_payload({**change.to_payload(), "operation_id": "x" * 300})
    assert len(long.dedupe_key("C1", None)) <= 255


# ----------------------------------------------------------------------------------------------- forgetting

DAY = 24 * 3600.0


async def test_an_operation_gone_from_the_list_is_marked_cleared_when_back_and_forgotten_later(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone, kept = world.op(), world.op()
    writes: list[dict[str, Any]] = []
    note_missing = world.store.note_missing_operations

    async def recorded(**kwargs: Any) -> tuple[int, int, int]:
        writes.append(kwargs)
        return await note_missing(**kwargs)

    monkeypatch.setattr(world.store, "note_missing_operations", recorded)
    await world.store.add_watch(gone, WATCHING, "U0W", world.clock())
    notifier = world.notifier()
    assert notifier.forget_after == timedelta(days=7)  # NOTIFIER_FORGET_AFTER_DAYS' default
    await notifier.run_cycle()
    assert await world.store.missing_operations() == {}

    world.sim.remove_operation(gone)
    report = await notifier.run_cycle()
    assert report.complete and report.missing == 1 and report.changes == 0
    first_missed = notifier.last_cycle_at
    assert await world.store.missing_operations() == {gone: first_missed}
    assert [(w["missing"], w["listed_again"], w["forget_before"]) for w in writes] == [([gone], [], None)]
    world.clock.advance(60)
    report = await notifier.run_cycle()
    assert report.missing == 0 and len(writes) == 1  # already marked: nothing written
    assert await world.store.missing_operations() == {gone: first_missed}

    world.sim.restore_operation(gone)
    report = await notifier.run_cycle()
    assert report.listed_again == 1 and report.changes == 0
    assert writes[-1]["missing"] == [] and writes[-1]["listed_again"] == [gone]  # that row only
    assert await world.store.missing_operations() == {}
    assert (await notifier.run_cycle()).listed_again == 0 and len(writes) == 2

    world.sim.remove_operation(gone)
    await notifier.run_cycle()
    since = (await world.store.missing_operations())[gone]
    world.clock.advance(7 * DAY - 60)  # not quite the retention yet
    report = await notifier.run_cycle()
    assert report.forgotten == 0 and gone in await world.store.operation_states()
    world.clock.advance(120)
    report = await notifier.run_cycle()
    assert notifier.last_cycle_at is not None and notifier.last_cycle_at - since > timedelta(days=7)
    assert report.forgotten == 1
    states = await world.store.operation_states()
    assert gone not in states and kept in states  # its row only: the rest of the fleet is untouched
    assert await world.store.missing_operations() == {}
    assert await world.store.watches_for([gone]) != []  # and nothing else about it is deleted
    assert (await notifier.run_cycle()).forgotten == 0

    world.sim.restore_operation(gone)  # listed again after being forgotten: a first sighting like any other
    report = await notifier.run_cycle()
    assert report.changes == 0 and report.missing == 0 and report.listed_again == 0
    assert (await world.store.operation_states())[gone].version == 1
    assert world.posts() == []


async def test_a_forgotten_operation_listed_again_is_not_news(world: World) -> None:
    old, fresh = world.op(), world.op()
    notifier = world.notifier(notify_scope="failures")
    await notifier.run_cycle()
    world.sim.remove_operation(old)
    await notifier.run_cycle()
    world.clock.advance(8 * DAY)  # forgotten; and it was scheduled before the retention
    assert (await notifier.run_cycle()).forgotten == 1

    world.sim.restore_operation(old)
    world.force(old, "failed")  # its old failure is history: nobody is paged about it
    report = await notifier.run_cycle()
    assert report.changes == 0 and old in await world.store.operation_states()
    assert world.posts() == []

    world.force(fresh, "failed")  # a change of a known operation is news, however old it is
    assert (await notifier.run_cycle()).changes == 1
    assert fresh in texts(world.posts(NOTIFY)[0])


async def test_an_incomplete_poll_marks_nothing_missing(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    gone, unreadable, other = world.op(), world.op(), world.op()
    notifier = world.notifier()
    await notifier.run_cycle()
    world.sim.remove_operation(gone)

    world.sim.faults.error_rate = 1.0  # the API fails
    report = await notifier.run_cycle()
    assert not report.ok and not report.complete
    world.sim.faults.error_rate = 0.0

    render = world.sim.render
    rendered: list[str] = []

    def second_page_fails(op: Any, *args: Any) -> dict[str, Any]:
        rendered.append(op.id)
        if len(rendered) > 1:
            raise RuntimeError("the second page breaks")  # the simulator answers HTTP 500
        return render(op, *args)

    paged = world.notifier()
    await paged.control.aclose()
    paged.control = ControlApiClient(f"{world.sim_url}/api/v1", TOKEN, timeout=3, max_retries=0)
    world.sim.config.page_size = 1  # two operations listed: two pages, the second fails
    monkeypatch.setattr(world.sim, "render", second_page_fails)
    report = await paged.run_cycle()
    assert not report.ok and report.pages == 1 and not report.complete
    monkeypatch.setattr(world.sim, "render", render)
    world.sim.config.page_size = None

    def without_an_id(op: Any, *args: Any) -> dict[str, Any]:
        record = render(op, *args)
        if op.id == unreadable:
            record.pop("id")  # a record nobody can name: the list is not complete
            record["scheduled_time"] = "garbage"
        return record

    monkeypatch.setattr(world.sim, "render", without_an_id)
    report = await notifier.run_cycle()
    assert report.ok and report.operations == 1 and not report.complete
    assert await world.store.missing_operations() == {}  # nothing was marked by any of these polls

    def unreadable_with_its_id(op: Any, *args: Any) -> dict[str, Any]:
        record = render(op, *args)
        if op.id == unreadable:
            record["scheduled_time"] = "garbage"  # listed, only unreadable: not missing
        return record

    monkeypatch.setattr(world.sim, "render", unreadable_with_its_id)
    report = await notifier.run_cycle()
    assert report.complete and report.missing == 1
    assert set(await world.store.missing_operations()) == {gone}
    assert {gone, unreadable, other} <= set(await world.store.operation_states())


def test_first_sightings_scheduled_before_the_retention_are_history() -> None:
    now = datetime(2030, 1, 8, tzinfo=UTC)
    operations = [_op("old_failure", "failed"), _op("recent_failure", "failed", minutes=7 * 24 * 60)]
    cutoff = now - timedelta(days=7)  # 2030-01-01 00:00; old_failure was scheduled at 01:00 that day
    diff = diff_operations(operations, {}, now=now, baseline=False, history_before=cutoff + timedelta(minutes=61))
    assert [c.operation_id for c in diff.changes] == ["recent_failure"] and diff.history == 1
    assert {row["operation_id"] for row in diff.states} == {"old_failure", "recent_failure"}
    assert len(diff_operations(operations, {}, now=now, baseline=False, history_before=cutoff).changes) == 2
    assert len(diff_operations(operations, {}, now=now, baseline=False).changes) == 2
    known = {"old_failure": KnownState("in_progress", True, False, 1)}
    diff = diff_operations(operations[:1], known, now=now, baseline=False, history_before=now)
    assert diff.history == 0 and [c.failure for c in diff.changes] == [Failure.STATUS]  # known: always news


# ----------------------------------------------------------------------------------------------- end to end


def test_the_running_bot_notifies_and_reports_leadership_in_healthz(tmp_path: Any) -> None:
    with bot_harness(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}", notify_channel="C0NOTIFY",
        oncall_group=ONCALL, poll_interval_seconds=1,
    ) as h:  # fmt: skip
        notifier = h.runtime.notifier
        assert notifier is not None
        deadline = time.monotonic() + 10
        while notifier.cycles < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        op = h.sim_state.create_operation(DOCUMENTED_SERIAL, "reboot", h.sim_state.now() + timedelta(hours=1))
        h.sim_state.force_status(op.id, "failed")
        (post,) = h.bench.wait_for("chat.postMessage", timeout=10)
        assert post.body["channel"] == "C0NOTIFY" and op.id in texts(post) and f"<!subteam^{ONCALL}>" in texts(post)
        health = h.get("/healthz").json()
        assert health["notifier"]["leader"] is True and health["notifier"]["running"] is True
        assert h.metric("headless_bot_notifier_notifications_total", outcome="sent") >= 1
