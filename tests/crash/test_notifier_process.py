"""The notifier as its own process (``headless-bot notifier``) beside web replicas (``serve --no-notifier``).

Real processes against the Control API simulator and the Slack stand-in over HTTP: one notifier tells a status
change; a web replica polls nothing while a notifier process does; of two notifier processes on PostgreSQL exactly
one leads, and when it is SIGKILLed (or stopped with SIGTERM) the other takes over within two poll intervals and
tells the next change once.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.simulator import DOCUMENTED_SERIAL, SimulatorConfig, SimulatorState, create_app
from bot.simulator.state import SimOperation
from bot.slackkit import SlackBench
from bot.slackkit.servers import serve_asgi
from tests.support.harness import CONTROL_TOKEN, SIGNING_SECRET, _people_and_channels
from tests.support.processes import BotProcess

NOTIFY = "C0NOTIFY"
POLL_INTERVAL = 1.0
# The contract (issue #14): when the leader dies, another notifier process polls within two poll intervals. A
# waiting process tries the lock once per interval, and PostgreSQL frees it the moment the leader's connection ends.
TAKEOVER_BUDGET = 2 * POLL_INTERVAL
# After a graceful shutdown uvicorn re-raises the signal it caught (as ``serve`` does): killed by SIGTERM, as an
# orchestrator expects of a process it asked to stop. A crash during shutdown would exit 1 instead.
SHUT_DOWN_ON_SIGTERM = -signal.SIGTERM


@dataclass
class World:
    sim: SimulatorState
    bench: SlackBench
    env: dict[str, str]
    tmp: Path
    processes: list[BotProcess]

    def process(self, name: str, *command: str, bench: SlackBench | None = None) -> BotProcess:
        """A bot process (not started); ``bench``: another Slack stand-in for it to talk to."""
        env = dict(self.env)
        if bench is not None:
            env.update(SLACK_BOT_TOKEN=bench.bot_token, SLACK_API_URL=bench.api_url)
        ready = "/healthz" if command[0] == "notifier" else "/readyz"
        process = BotProcess(env, self.tmp / f"{name}.log", command=command, ready=ready)
        self.processes.append(process)
        return process

    def operation(self) -> SimOperation:
        return self.sim.create_operation(DOCUMENTED_SERIAL, "reboot", self.sim.now() + timedelta(days=1), {})


@contextmanager
def a_world(database_url: str, tmp_path: Path) -> Iterator[World]:
    """The simulator, the Slack stand-in, and the environment of bot processes on ``database_url`` (they are
    stopped before the database, a PostgreSQL schema, is dropped)."""
    state = SimulatorState(SimulatorConfig(token=CONTROL_TOKEN, refresh_delay=0.2))
    with serve_asgi(create_app(state=state)) as sim, SlackBench() as bench:
        _people_and_channels(bench)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CONTROL_", "HEADLESS_BOT_"))}
        env.pop("NOTIFIER_ENABLED", None)
        env.update(
            SLACK_BOT_TOKEN=bench.bot_token, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=bench.api_url,
            CONTROL_API_URL=f"{sim.url}/api/v1", CONTROL_API_TOKEN=CONTROL_TOKEN, CONTROL_API_TIMEOUT_SECONDS="2",
            DATABASE_URL=database_url,
            NOTIFY_CHANNEL=NOTIFY, POLL_INTERVAL_SECONDS=str(POLL_INTERVAL), LOG_LEVEL="INFO", PYTHONUNBUFFERED="1",
        )  # fmt: skip
        world = World(state, bench, env, tmp_path, [])
        try:
            yield world
        finally:
            for process in world.processes:
                process.stop()


@pytest.fixture
def sqlite_world(sqlite_database_url: str, tmp_path: Path) -> Iterator[World]:
    with a_world(sqlite_database_url, tmp_path) as world:
        yield world


@pytest.fixture
def postgres_world(postgres_database_url: str, tmp_path: Path) -> Iterator[World]:
    with a_world(postgres_database_url, tmp_path) as world:
        yield world


def posts_about(bench: SlackBench, operation_id: str) -> list[Any]:
    return [
        c for c in bench.calls_to("chat.postMessage")
        if c.ok and c.body.get("channel") == NOTIFY and operation_id in json.dumps(c.body)
    ]  # fmt: skip


def leads(health: dict[str, Any]) -> bool:
    return bool(health["notifier"]["leader"])


def polled(health: dict[str, Any]) -> bool:
    """A leader that has finished a cycle (the first one records the silent baseline)."""
    return leads(health) and health["notifier"]["last_cycle_at"] is not None


def wait_for_cycles(process: BotProcess, cycles: int) -> None:
    """Until ``process`` has finished ``cycles`` more polling cycles (each has its own ``last_cycle_at``)."""
    for _ in range(cycles):
        before = process.health()["notifier"]["last_cycle_at"]
        process.wait_until("another cycle", lambda h, before=before: h["notifier"]["last_cycle_at"] != before)


def wait_for_post(world: World, process: BotProcess, operation_id: str) -> None:
    process.wait_until("the change told", lambda _h: len(posts_about(world.bench, operation_id)) >= 1)


def leader_gauge(process: BotProcess) -> float:
    """``headless_bot_notifier_leader`` from the process's ``/metrics``."""
    response = httpx.get(f"{process.url}/metrics", timeout=5)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    (line,) = [ln for ln in response.text.splitlines() if ln.startswith("headless_bot_notifier_leader ")]
    return float(line.split()[1])


def test_the_notifier_process_tells_a_status_change(sqlite_world: World) -> None:
    """Alone, on SQLite: polls, tells the change in NOTIFY_CHANNEL, answers /healthz and /metrics (nothing else)
    on its port, and shuts down on SIGTERM. The command runs the notifier whatever NOTIFIER_ENABLED says (an
    environment shared with web replicas may turn it off)."""
    world = sqlite_world
    operation = world.operation()
    notifier = world.process("notifier", "notifier").start(NOTIFIER_ENABLED="false")
    response = httpx.get(f"{notifier.url}/healthz", timeout=5)
    assert response.status_code == 200
    body = response.json()
    assert body["runs"] == {"slack": False, "notifier": True}
    assert body["notifier"]["running"] is True
    for path, method in (("/slack/events", "POST"), ("/readyz", "GET")):
        assert httpx.request(method, f"{notifier.url}{path}", timeout=5).status_code == 404, path

    notifier.wait_until("the baseline", polled)
    assert leader_gauge(notifier) == 1.0
    assert posts_about(world.bench, operation.id) == [], "the baseline is silent"
    world.sim.force_status(operation.id, "failed")
    wait_for_post(world, notifier, operation.id)
    assert notifier.terminate() == SHUT_DOWN_ON_SIGTERM, notifier.tail()
    assert "Traceback" not in notifier.log.read_text()
    (post,) = posts_about(world.bench, operation.id)
    assert "failed" in json.dumps(post.body).lower()


def test_a_web_replica_polls_nothing_while_a_notifier_process_does(postgres_world: World) -> None:
    """``serve --no-notifier`` (started first, with NOTIFIER_ENABLED=true in its environment: the flag wins)
    neither takes the lock nor posts; the notifier process started after it leads and tells the change. The web
    replica talks to a Slack stand-in of its own, so anything it posted would show there."""
    world = postgres_world
    with SlackBench() as web_bench:
        _people_and_channels(web_bench)
        web = world.process("web", "serve", "--no-notifier", bench=web_bench)
        web.start(NOTIFIER_ENABLED="true")
        health = web.health()
        assert health["runs"] == {"slack": True, "notifier": False}
        assert health["notifier"]["running"] is False and health["notifier"]["leader"] is False

        operation = world.operation()
        notifier = world.process("notifier", "notifier").start()
        notifier.wait_until("the notifier process leads", polled)
        world.sim.force_status(operation.id, "failed")
        wait_for_post(world, notifier, operation.id)
        wait_for_cycles(notifier, 2)  # time for a web replica that polled to have posted too

        assert len(posts_about(world.bench, operation.id)) == 1
        assert web_bench.calls_to("chat.postMessage") == [], "the web replica posted"
        assert leader_gauge(web) == 0.0 and leader_gauge(notifier) == 1.0
        assert web.health()["notifier"]["running"] is False
        assert "now the notifier" not in web.log.read_text()


def test_two_notifier_processes_one_leads_the_other_takes_over(postgres_world: World) -> None:
    """Two ``headless-bot notifier`` on PostgreSQL: exactly one leads (the other waits, healthy). SIGKILL the
    leader: the other leads within two poll intervals and tells the next change once. Then SIGTERM: the leader
    shuts down, releasing the lock, and the one waiting again (the first, restarted) takes over within the same
    budget."""
    world = postgres_world
    operation = world.operation()
    first = world.process("first", "notifier").start()
    second = world.process("second", "notifier").start()
    pair = (first, second)
    first.wait_until("a leader", lambda _h: any(polled(p.health()) for p in pair))
    leader, waiting = pair if leads(first.health()) else pair[::-1]
    wait_for_cycles(leader, 2)  # the waiting one has tried the lock meanwhile, and failed
    assert [leads(p.health()) for p in (leader, waiting)] == [True, False]
    assert httpx.get(f"{waiting.url}/healthz", timeout=5).status_code == 200, "waiting to lead is healthy"
    assert waiting.health()["notifier"]["running"] is True
    assert (leader_gauge(leader), leader_gauge(waiting)) == (1.0, 0.0)

    leader.kill()
    took = waiting.wait_until("the takeover after SIGKILL", leads, budget=TAKEOVER_BUDGET)
    print(f"takeover after SIGKILL: {took:.2f} s (poll interval {POLL_INTERVAL} s)")
    assert posts_about(world.bench, operation.id) == [], "the baseline (the dead leader's) is silent"
    world.sim.force_status(operation.id, "failed")  # after the kill: only the new leader can tell it
    wait_for_post(world, waiting, operation.id)
    wait_for_cycles(waiting, 2)
    assert len(posts_about(world.bench, operation.id)) == 1, "told once"

    leader.start()  # back, and waiting: healthy, not leading
    leader.wait_until("waiting, healthy", lambda h: h["notifier"]["running"] and not leads(h))
    assert waiting.terminate() == SHUT_DOWN_ON_SIGTERM, waiting.tail()
    took = leader.wait_until("the takeover after SIGTERM", leads, budget=TAKEOVER_BUDGET)
    print(f"takeover after SIGTERM: {took:.2f} s")
    assert "Traceback" not in waiting.log.read_text()
