"""What each command runs (``Parts``) and the notifier process's HTTP side (``create_notifier_app``), in process on
real sockets. The processes themselves, side by side and killed: tests/crash/test_notifier_process.py."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from bot.app import Parts, build_runtime
from bot.server import create_notifier_app, missing_settings
from bot.settings import Settings
from bot.simulator import SimulatorConfig, SimulatorState, create_app
from bot.slackkit import SlackBench
from bot.slackkit.servers import LoopServer, serve_asgi
from tests.support.harness import CONTROL_TOKEN, SIGNING_SECRET, default_settings


def offline_settings(**overrides: object) -> Settings:
    """Settings of a bot that is built, never started (nothing to reach)."""
    values: dict[str, object] = {
        "slack_bot_token": "xoxb-parts-test", "slack_signing_secret": SIGNING_SECRET,
        "control_api_token": CONTROL_TOKEN, "database_url": "sqlite+aiosqlite:///:memory:",
    }  # fmt: skip
    return Settings(_env_file=None, **{**values, **overrides})  # type: ignore[call-arg, arg-type]


@pytest.mark.parametrize(
    ("enabled", "no_notifier", "expected"),
    [
        (True, False, Parts(slack=True, notifier=True)),  # serve, as small teams run it
        (False, False, Parts(slack=True, notifier=False)),  # NOTIFIER_ENABLED=false
        (True, True, Parts(slack=True, notifier=False)),  # serve --no-notifier wins over NOTIFIER_ENABLED=true
        (False, True, Parts(slack=True, notifier=False)),
    ],
)
def test_what_serve_runs(enabled: bool, no_notifier: bool, expected: Parts) -> None:
    settings = offline_settings(notifier_enabled=enabled)
    assert Parts.serve(settings, notifier=not no_notifier) == expected
    if not no_notifier:
        assert build_runtime(settings).parts == expected, "build_runtime's default is serve's"


def test_the_notifier_command_runs_the_notifier_whatever_notifier_enabled_says() -> None:
    assert Parts.notifier_only() == Parts(slack=False, notifier=True)


def test_a_notifier_process_needs_no_signing_secret() -> None:
    settings = offline_settings(slack_signing_secret=None, slack_bot_token=None)
    assert missing_settings(settings, slack_events=False) == [
        "SLACK_BOT_TOKEN: required (an xoxb-… bot token; OAuth & Permissions)"
    ]
    assert [line.split(":")[0] for line in missing_settings(settings, slack_events=True)] == [
        "SLACK_SIGNING_SECRET",
        "SLACK_BOT_TOKEN",
    ]


async def test_the_notifier_app_answers_healthz_and_metrics_only(tmp_path: Path) -> None:
    """``/healthz`` is 200 while the notifier loop goes (leading here: it is alone) and 503 once it has ended (the
    process is then of no use: an orchestrator should replace it); ``/metrics`` answers; nothing else does."""
    state = SimulatorState(SimulatorConfig(token=CONTROL_TOKEN))
    with serve_asgi(create_app(state=state)) as sim, SlackBench() as bench:
        settings = default_settings(
            bench, sim.url, database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}", poll_interval_seconds=1
        )
        runtime = build_runtime(settings, parts=Parts.notifier_only())
        server = await LoopServer(create_notifier_app(runtime)).start()
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
                for _ in range(200):
                    health = (await client.get("/healthz")).json()
                    if health["notifier"]["leader"]:
                        break
                    await asyncio.sleep(0.05)
                response = await client.get("/healthz")
                assert response.status_code == 200
                assert response.json()["runs"] == {"slack": False, "notifier": True}
                assert response.json()["notifier"]["leader"] is True
                metrics = await client.get("/metrics")
                assert metrics.status_code == 200 and "headless_bot_notifier_leader 1.0" in metrics.text
                assert (await client.get("/readyz")).status_code == 404
                assert (await client.post("/slack/events", content=b"{}")).status_code == 404
                assert bench.calls_to("auth.test") == [], "no Slack side: no warm-up, no maintenance loop"

                await runtime.notifier.stop()  # the loop is over (as if it had died)
                response = await client.get("/healthz")
                assert response.status_code == 503
                assert response.json()["notifier"]["running"] is False
        finally:
            await server.stop()
