"""App Home: render and publish 100 people's homes after one change, against the Slack stand-in.

A Control API simulator with ``--operations`` operations (a share failing), one notifier cycle recorded into the
bot's database (so "next 24 hours" and "failures" are full), ``--requests`` pending requests, and ``--people``
people who opened their home. Each round signals one change (as a service does: ``HomeChanges.changed()``) and
waits until every person's home was published again; it prints the medians (a round; one home's render; one
publish) and asserts that no round made a Control API call (the simulator counts every request it gets).

    .venv/bin/python benchmarks/bench_home.py [--people 100] [--rounds 5] [--operations 2000] [--requests 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import BotRuntime, build_runtime
from bot.domain.requests import NewScheduleRequest, RequestState
from bot.settings import Settings
from bot.simulator import SimulatorConfig, SimulatorState, create_app
from bot.slackkit import SlackBench
from bot.slackkit.servers import serve_asgi

TOKEN = "bench-control-token"  # noqa: S105
APPROVERS = 10  # of the people, the first ten approve


def people(count: int) -> list[str]:
    return [f"U{n:08d}" for n in range(count)]


def build(bench: SlackBench, api_url: str, database_url: str, users: list[str]) -> BotRuntime:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        control_api_url=api_url, control_api_token=TOKEN, slack_api_url=bench.api_url,
        slack_bot_token=bench.bot_token, database_url=database_url, approval_channel="C0APPROVE",
        approvers=users[:APPROVERS], notifier_enabled=False, maintenance_windows="Sat,Sun 02:00-06:00 UTC",
    )  # fmt: skip
    return build_runtime(settings)


async def seed(runtime: BotRuntime, users: list[str], requests: int) -> None:
    """The notifier's view of the fleet (one cycle), pending requests, and everyone having opened their home."""
    store = runtime.store
    report = await runtime.notifier.run_cycle()
    print(f"notifier cycle: {report.operations:,} operations listed, {report.recorded:,} states recorded")
    now = datetime.now(UTC)
    for n in range(requests):
        await store.create_request(
            NewScheduleRequest(
                requester_id=users[n % len(users)], team_id="T111", device_serials=[f"SN{n:09d}"],
                operation_type="reboot", scheduled_time=now + timedelta(hours=3), state=RequestState.PENDING_APPROVAL,
            )
        )  # fmt: skip
    for user in users:
        await store.home_opened(user, at=now)


async def round_once(runtime: BotRuntime, bench: SlackBench, users: list[str]) -> float:
    home = runtime.home
    home._last.clear()  # each round: nobody published within the throttle (that is what is measured)
    before = home.published
    started = time.perf_counter()
    runtime.scheduling.home.changed()
    while home.published < before + len(users):  # noqa: ASYNC110 - polls a counter the publisher keeps
        await asyncio.sleep(0.005)
    return time.perf_counter() - started


async def main(args: argparse.Namespace) -> None:
    users = people(args.people)
    config = SimulatorConfig(token=TOKEN, extra_devices=500, preseed_operations=args.operations, failure_rate=0.1)
    state = SimulatorState(config)
    with SlackBench() as bench, serve_asgi(create_app(state=state)) as sim, tempfile.TemporaryDirectory() as tmp:
        for user in users:
            bench.add_user(user, real_name=user, tz="Europe/Madrid" if int(user[1:]) % 2 else "America/Chicago")
        runtime = build(bench, f"{sim.url}/api/v1", f"sqlite:///{Path(tmp) / 'home.sqlite3'}", users)
        await runtime.store.connect()
        await runtime.deps.web.open()
        try:
            await seed(runtime, users, args.requests)
            renders, sizes = [], []
            for user in users:  # one render each (also warms the directory's cache, as people opening it do)
                started = time.perf_counter()
                view = await runtime.home.render(user)
                renders.append(time.perf_counter() - started)
                sizes.append(len(view["blocks"]))
            print(f"a home: {min(sizes)}–{max(sizes)} blocks (an approver's is the largest); render (first, per "
                  f"person): median {statistics.median(renders) * 1000:.1f} ms")  # fmt: skip
            hits = sum(state.hits.values())
            shared = runtime.home.service.shared_reads
            rounds = [await round_once(runtime, bench, users) for _ in range(args.rounds)]
            calls = sum(state.hits.values()) - hits
            publishes = [c for c in bench.calls_to("views.publish")]
            assert all(c.ok for c in publishes), [c.response for c in publishes if not c.ok][:1]
            print(f"{args.people} homes after one change: median {statistics.median(rounds) * 1000:.0f} ms a round "
                  f"({statistics.median(rounds) / args.people * 1000:.1f} ms a home), rounds: "
                  f"{', '.join(f'{r * 1000:.0f}' for r in rounds)} ms")  # fmt: skip
            reads = runtime.home.service.shared_reads - shared
            print(f"views.publish calls: {len(publishes)}; shared sections read {reads} time(s) for {args.rounds} "
                  f"rounds; Control API calls during the rounds: {calls}")  # fmt: skip
            assert calls == 0, f"rendering homes made {calls} Control API calls"
        finally:
            await runtime.deps.tasks.wait(timeout=5)
            await runtime.deps.web.close()
            await runtime.store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--operations", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=30)
    asyncio.run(main(parser.parse_args()))
