"""The notifier's fleet-scale paths (#14), on SQLite and PostgreSQL, against the simulator over real HTTP: the list
streamed page by page with pages fetched ahead, only changed operations read in full, the in-memory prints kept
true when another notifier writes, a poll that fails part way, a list that changes while it is read, and rows the
bot seeded that no poll ever listed.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.control.client import ControlApiClient
from bot.services.notifier import poll as poll_module
from tests.support.notifier_world import NOTIFY, ONCALL, THREADS, TOKEN, World, bot_created
from tests.support.notifier_world import world as world  # registers the fixture here
from tests.support.slack_text import texts


def told(posts: list[Any]) -> str:
    return "\n".join(texts(post) for post in posts)


def paged(world: World, size: int) -> None:
    world.sim.config.page_size = size


async def test_only_new_and_changed_operations_are_read_in_full(world: World) -> None:
    ops = [world.op() for _ in range(30)]
    paged(world, 7)  # 5 pages
    notifier = world.notifier()

    baseline = await notifier.run_cycle()
    assert baseline.baseline and baseline.examined == 30 and baseline.recorded == 30 and baseline.pages == 5

    quiet = await notifier.run_cycle()
    assert quiet.ok and quiet.complete and quiet.operations == 30 and quiet.pages == 5
    assert quiet.examined == 0 and quiet.recorded == 0 and quiet.changes == 0

    for op_id in ops[:3]:
        world.force(op_id, "in_progress")
    world.force(ops[3], "failed")
    report = await notifier.run_cycle()
    assert report.examined == 4 and report.recorded == 4 and report.changes == 4
    said = told(world.posts(NOTIFY))
    assert all(op_id in said for op_id in ops[:4]) and not any(op_id in said for op_id in ops[4:])
    assert (await notifier.run_cycle()).examined == 0


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_pages_fetched_ahead_tell_what_one_page_after_the_other_tells(world: World, concurrency: int) -> None:
    ops = [world.op() for _ in range(20)]
    paged(world, 3)  # 7 pages
    notifier = world.notifier(notifier_page_concurrency=concurrency)
    await notifier.run_cycle()
    changed = ops[::4]
    for op_id in changed:
        world.force(op_id, "completed")
    report = await notifier.run_cycle()
    assert report.pages == 7 and report.complete and report.changes == len(changed)
    assert (report.pages_ahead > 0) is (concurrency > 1)  # page 1 is never ahead: it gives the count
    assert report.pages_ahead <= 6
    posts = world.posts(NOTIFY)
    assert sorted(op for op in changed if op in told(posts)) == sorted(changed) and len(posts) == len(changed)


async def test_a_change_written_by_another_notifier_is_not_hidden_by_stale_prints(world: World) -> None:
    op_id = world.op()
    first, second = world.notifier(), world.notifier()
    await first.run_cycle()  # baseline; first now holds a print of "scheduled"
    world.force(op_id, "in_progress")
    assert (await second.run_cycle()).changes == 1  # a hand-over: the second notifier tells it
    world.force(op_id, "scheduled")  # back to what the first one's print says
    report = await first.run_cycle()
    assert report.changes == 1, "the first notifier must reload what the second recorded, not trust its prints"
    assert first.poller.known.loads == 2
    assert len(world.posts(NOTIFY)) == 2
    assert (await first.run_cycle()).changes == 0 and first.poller.known.loads == 2  # its own writes: no reload


async def test_an_operation_the_bot_created_that_no_poll_lists_is_marked_missing(world: World) -> None:
    world.op()
    notifier = world.notifier()
    await notifier.run_cycle()  # baseline: the prints are loaded now
    await bot_created(world, "txn_never_listed", thread=False)  # seeded by the creation, after the load
    report = await notifier.run_cycle()
    assert report.complete and report.missing == 1
    assert set(await world.store.missing_operations()) == {"txn_never_listed"}


async def test_a_list_that_changes_while_it_is_read_marks_nothing_missing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ops = [world.op() for _ in range(6)]
    paged(world, 2)
    notifier = world.notifier(notifier_page_concurrency=1)
    await notifier.run_cycle()
    world.sim.remove_operation(ops[0])
    render = world.sim.render
    calls: list[str] = []

    def a_new_operation_arrives_during_page_two(op: Any, *args: Any) -> dict[str, Any]:
        calls.append(op.id)
        if len(calls) == 3:  # the first record of page 2: the list grows while it is read
            world.op()
        return render(op, *args)

    monkeypatch.setattr(world.sim, "render", a_new_operation_arrives_during_page_two)
    report = await notifier.run_cycle()
    assert report.ok and not report.complete and report.missing == 0
    assert await world.store.missing_operations() == {}

    monkeypatch.setattr(world.sim, "render", render)
    report = await notifier.run_cycle()  # a stable list: complete again
    assert report.complete and set(await world.store.missing_operations()) == {ops[0]}


async def test_a_poll_that_fails_part_way_keeps_what_its_first_pages_told_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ops = [world.op() for _ in range(6)]
    paged(world, 2)  # 3 pages
    notifier = world.notifier(notifier_page_concurrency=1)
    await notifier.run_cycle()
    for op_id in ops:
        world.force(op_id, "in_progress")
    render = world.sim.render
    calls: list[str] = []

    def page_two_breaks(op: Any, *args: Any) -> dict[str, Any]:
        calls.append(op.id)
        if len(calls) > 2:
            raise RuntimeError("the simulator fails from page 2 on")  # HTTP 500
        return render(op, *args)

    monkeypatch.setattr(world.sim, "render", page_two_breaks)
    broken = await notifier.run_cycle()
    assert not broken.ok and broken.pages == 1 and broken.changes == 2 and broken.sent == 2
    monkeypatch.setattr(world.sim, "render", render)
    healed = await notifier.run_cycle()
    assert healed.ok and healed.changes == 4
    mentioned = [op_id for op_id in ops for post in world.posts(NOTIFY) if op_id in texts(post)]
    assert sorted(mentioned) == sorted(ops), "each change told exactly once"


async def test_on_call_is_paged_once_per_thread_when_a_poll_writes_in_several_flushes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = world.op(), world.op()
    await bot_created(world, a, b)
    notifier = world.notifier()
    await notifier.run_cycle()
    monkeypatch.setattr(poll_module, "FLUSH_OPERATIONS", 1)  # each changed operation in its own flush
    world.force(a, "failed")
    world.force(b, "failed")
    report = await notifier.run_cycle()
    assert report.changes == 2
    in_channel = [post for post in world.posts(THREADS) if not post.body.get("thread_ts")]
    mentions = [post for post in in_channel if f"<!subteam^{ONCALL}>" in texts(post)]
    assert len(in_channel) == 2 and len(mentions) == 1


async def test_a_list_longer_than_the_page_cap_is_read_when_its_count_says_so(world: World) -> None:
    ops = [world.op() for _ in range(5)]
    paged(world, 1)
    notifier = world.notifier()
    await notifier.control.aclose()
    notifier.control = ControlApiClient(f"{world.sim_url}/api/v1", TOKEN, timeout=3, max_retries=0, page_cap=2)
    report = await notifier.run_cycle()
    assert report.ok and report.complete and report.pages == 5 and report.operations == len(ops)


async def test_unreadable_records_are_logged_once_a_poll_not_once_each(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ops = [world.op() for _ in range(5)]
    broken = set(ops[:3])
    render = world.sim.render

    def three_unreadable(op: Any, *args: Any) -> dict[str, Any]:
        record = render(op, *args)
        if op.id in broken:
            record["scheduled_time"] = "not a time"
        return record

    monkeypatch.setattr(world.sim, "render", three_unreadable)
    notifier = world.notifier()
    caplog.set_level(logging.WARNING)
    report = await notifier.run_cycle()
    assert report.ok and report.operations == 5 and report.recorded == 2  # listed, only unreadable: not missing
    per_record = [r for r in caplog.records if "cannot read" in r.getMessage()]
    summaries = [r for r in caplog.records if "could not be read as operations" in r.getMessage()]
    assert per_record == [] and len(summaries) == 1
    assert "3 listed record(s)" in summaries[0].getMessage() and "scheduled_time" in summaries[0].getMessage()
