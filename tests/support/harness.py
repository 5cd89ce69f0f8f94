"""The whole bot on real sockets: Control API simulator + Slack test bench + the bot's own HTTP server.

``bot_harness()`` builds the bot exactly as ``headless-bot serve`` does (``build_runtime`` + ``create_http_app``),
with only the outside world replaced: Slack's Web API by the bench (through ``SLACK_API_URL``) and the Control API
by the simulator (through ``CONTROL_API_URL``). Tests talk to it with signed requests over HTTP.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from starlette.applications import Starlette

from bot.app import BotRuntime, build_runtime
from bot.server import create_http_app
from bot.settings import Settings
from bot.simulator import SimulatorConfig, SimulatorState, create_app
from bot.slackkit import SlackBench, SlackRequestSender
from bot.slackkit.servers import ThreadedServer, serve_asgi

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
CONTROL_TOKEN = "sim-control-token-abc123"


@dataclass
class Harness:
    sim_state: SimulatorState
    sim: ThreadedServer
    bench: SlackBench
    bot: ThreadedServer
    runtime: BotRuntime
    sender: SlackRequestSender
    settings: Settings

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.bot.url}{path}", timeout=10)

    def command(self, text: str, **kwargs: Any) -> tuple[httpx.Response, Any]:
        """Send a signed ``/headless`` command; returns the HTTP response and the request (for its response_key)."""
        request = self.sender.slash_command(text, **kwargs)
        return self.sender.send(request), request

    def responses(self, request: Any, count: int = 1, timeout: float = 10.0) -> list[Any]:
        return self.bench.wait_for_response(request.response_key, count=count, timeout=timeout)

    def metric(self, name: str, **labels: str) -> float:
        """The current value of one Prometheus sample of the bot (0 when absent)."""
        total = 0.0
        for line in self.get("/metrics").text.splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total


class OffsetClock:
    """The real clock plus an offset that tests move forward (``advance``), shared by bot and simulator."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def default_settings(bench: SlackBench, sim_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": bench.bot_token,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_app_token": bench.app_token,
        "slack_api_url": bench.api_url,
        "control_api_url": f"{sim_url}/api/v1",
        "control_api_token": CONTROL_TOKEN,
        "control_api_timeout_seconds": 3.0,
        "control_api_refresh_timeout_seconds": 5.0,
        "list_cache_seconds": 0.0,  # tests change the fleet between commands
        "database_url": "sqlite+aiosqlite:///:memory:",
        "approval_channel": "C0APPROVE",
        "approvers": ["U0APPROVER", "S0APPROVERS"],
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@contextmanager
def bot_harness(
    *,
    sim_config: dict[str, Any] | None = None,
    socket_mode: bool = False,
    bench_options: dict[str, Any] | None = None,
    clock: Any = None,
    maintenance_interval: float | None = None,
    setup_bench: Any = None,
    **settings_overrides: Any,
) -> Iterator[Harness]:
    config = SimulatorConfig(token=CONTROL_TOKEN, refresh_delay=0.2, **(sim_config or {}))
    sim_state = SimulatorState(config)
    with ExitStack() as stack:
        sim = stack.enter_context(serve_asgi(create_app(state=sim_state)))
        bench = stack.enter_context(SlackBench(**(bench_options or {})))
        _people_and_channels(bench)
        if setup_bench is not None:
            setup_bench(bench)
        settings = default_settings(bench, sim.url, **settings_overrides)
        runtime = build_runtime(settings, socket_mode=socket_mode, **({"clock": clock} if clock else {}))
        if maintenance_interval is not None:
            runtime.maintenance_interval = maintenance_interval
        bot = stack.enter_context(
            serve_asgi(create_http_app(runtime, slack_events=not socket_mode, socket_mode=socket_mode))
        )
        _wait_ready(bot.url)
        sender = SlackRequestSender(bot.url, SIGNING_SECRET, bench=bench)
        yield Harness(sim_state, sim, bench, bot, runtime, sender, settings)


REQUESTER = "W111"  # the bench's default user (America/Los_Angeles), who sends commands unless told otherwise
APPROVER = "U0APPROVER"
GROUP_APPROVER = "U0GROUPAPPR"
OUTSIDER = "U0OUTSIDER"
APPROVAL_CHANNEL = "C0APPROVE"


def _people_and_channels(bench: SlackBench) -> None:
    bench.add_user(APPROVER, real_name="Ana Approver", tz="Europe/Madrid", locale="en-GB")
    bench.add_user(GROUP_APPROVER, real_name="Gus Group", tz="America/New_York")
    bench.add_user(OUTSIDER, real_name="Olga Outsider", tz="Asia/Tokyo")
    bench.add_usergroup("S0APPROVERS", [GROUP_APPROVER])
    bench.add_channel(APPROVAL_CHANNEL, "approvals", is_member=True)
    bench.add_channel("C0NOTIFY", "ops-notify", is_member=True)


def _wait_ready(url: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
            return
        time.sleep(0.02)
    raise AssertionError("the bot never became ready")


@contextmanager
def serve_simulator(token: str) -> Iterator[tuple[Starlette, ThreadedServer]]:
    """A Control API simulator on a real socket, accepting ``token``: its app (to swap state) and its server."""
    app = create_app(SimulatorConfig(token=token))
    with serve_asgi(app) as server:
        yield app, server
