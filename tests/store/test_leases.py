"""Cross-replica leases: one bot process at a time acts on a schedule request (posts its approval, creates its
operations), on SQLite and PostgreSQL; a lease whose holder died runs out and another process takes over."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from bot.app import build_runtime
from bot.domain.requests import RequestState
from bot.slackkit import SlackBench
from bot.store import Store
from tests.support.harness import APPROVAL_CHANNEL, REQUESTER, default_settings
from tests.support.records import T0, new_request


async def test_one_holder_at_a_time_and_a_dead_holders_lease_runs_out(database_url: str) -> None:
    async with Store(database_url) as replica_a, Store(database_url) as replica_b:
        created = await replica_a.create_request(new_request(), at=T0)
        until = T0 + timedelta(seconds=30)
        assert await replica_a.take_lease(created.id, "a", at=T0, until=until)
        assert not await replica_b.take_lease(created.id, "b", at=T0 + timedelta(seconds=5), until=until)
        assert await replica_a.take_lease(created.id, "a", at=T0 + timedelta(seconds=10), until=until)  # renewal
        # "a" died: once its lease has run out, "b" takes over; "a" can no longer give back what it lost.
        assert await replica_b.take_lease(
            created.id, "b", at=until + timedelta(seconds=1), until=until + timedelta(minutes=1)
        )
        await replica_a.drop_lease(created.id, "a")
        assert not await replica_a.take_lease(created.id, "a", at=until + timedelta(seconds=2), until=until)
        await replica_b.drop_lease(created.id, "b")
        assert await replica_a.take_lease(created.id, "a", at=until + timedelta(seconds=3), until=until)
        # Leases never count as a change of the request (a state transition's compare-and-set is unaffected).
        assert (await replica_b.get_request(created.id)).version == created.version


async def test_concurrent_leases_have_one_winner(database_url: str) -> None:
    async with Store(database_url) as replica_a, Store(database_url) as replica_b:
        created = await replica_a.create_request(new_request(), at=T0)
        won = await asyncio.gather(
            *(
                (replica_a if i % 2 else replica_b).take_lease(
                    created.id, f"owner-{i}", at=T0, until=T0 + timedelta(seconds=30)
                )
                for i in range(20)
            )
        )
        assert won.count(True) == 1


async def test_two_replicas_with_slow_slack_post_one_approval_message(database_url: str) -> None:
    """Both replicas' maintenance passes find the same request with no approval message at the same moment, while
    Slack takes 0.5 s to answer: exactly one message is posted (before leases, each replica posted its own)."""
    with SlackBench() as bench:
        bench.add_channel(APPROVAL_CHANNEL, "approvals", is_member=True)
        bench.add_latency(0.5, "chat.postMessage")
        settings = default_settings(
            bench, "http://127.0.0.1:9", database_url=database_url, notifier_enabled=False,
            maintenance_interval_seconds=0.2,
        )  # fmt: skip
        async with Store(database_url) as store:
            now = datetime.now(UTC)
            request = await store.create_request(
                new_request(requester_id=REQUESTER, scheduled_time=now + timedelta(days=1)), at=now
            )
        replicas = [build_runtime(settings), build_runtime(settings)]
        await asyncio.gather(*(replica.start() for replica in replicas))
        try:
            for _ in range(100):
                async with Store(database_url) as store:
                    record = await store.get_request(request.id)
                if record is not None and record.approval_ts is not None:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.5)  # several more maintenance passes on both replicas
        finally:
            await asyncio.gather(*(replica.stop() for replica in replicas))
        posts = [
            call
            for call in bench.calls_to("chat.postMessage")
            if call.body.get("channel") == APPROVAL_CHANNEL and request.id in json.dumps(call.body)
        ]
        assert record is not None and record.state is RequestState.PENDING_APPROVAL
        assert len(posts) == 1, f"{len(posts)} approval messages"
        assert record.approval_ts == posts[0].response["ts"]
