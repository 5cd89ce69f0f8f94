"""The world of a crash test: the simulator and the Slack stand-in in this process, the bot as a real process
(``BotProcess``) configured to reach them, on the test's database; the bot is stopped at the end."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.simulator import SimulatorState, create_app
from bot.slackkit import SlackBench
from bot.slackkit.servers import serve_asgi
from tests.support.harness import APPROVAL_CHANNEL, APPROVER, CONTROL_TOKEN, SIGNING_SECRET, _people_and_channels
from tests.support.processes import BotProcess


@contextmanager
def crash_world(state: SimulatorState, database_url: str, tmp_path: Path, **env: str) -> Iterator[dict[str, Any]]:
    """``{"sim", "bench", "bot", "url", "tmp"}``; ``env`` adds or overrides the bot's settings."""
    with serve_asgi(create_app(state=state)) as sim, SlackBench() as bench:
        _people_and_channels(bench)
        values = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CONTROL_", "HEADLESS_BOT_"))}
        values.update(
            SLACK_BOT_TOKEN=bench.bot_token, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=bench.api_url,
            CONTROL_API_URL=f"{sim.url}/api/v1", CONTROL_API_TOKEN=CONTROL_TOKEN, DATABASE_URL=database_url,
            APPROVAL_CHANNEL=APPROVAL_CHANNEL, APPROVERS=APPROVER, CONTROL_API_TIMEOUT_SECONDS="2",
            RECONCILE_AFTER_SECONDS="3", MAINTENANCE_INTERVAL_SECONDS="0.3",
            REQUEST_LEASE_SECONDS="2",  # the killed process's lease runs out quickly
            LOG_LEVEL="INFO", PYTHONUNBUFFERED="1",
        )  # fmt: skip
        values.update(env)
        bot = BotProcess(values, tmp_path / "bot.log")
        try:
            yield {"sim": state, "bench": bench, "bot": bot, "url": database_url, "tmp": tmp_path}
        finally:
            bot.stop()


__all__ = ["crash_world"]
