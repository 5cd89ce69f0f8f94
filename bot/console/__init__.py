"""``headless-bot console``: the whole bot in a terminal, with no Slack workspace and no API token.

In the spirit of Hubot's shell adapter and Errbot's text backend, but with the real bot inside: what you type
becomes the same slash-command and interaction payloads Slack would send, dispatched to the same bolt app built by
``build_runtime`` (same listeners, services, store, notifier). The Web API calls the bot makes go over real HTTP to
the local stand-in of Slack the tests use (``bot.slackkit``), and are rendered here: messages, threads, ephemeral
notes, modals as forms to fill in, buttons as numbered choices to press. The Control API is the built-in simulator
(``--api-url`` to use a real one) and the store a SQLite file (temporary unless ``--database`` names one).

With standard input not a terminal it reads commands line by line, prints what the bot answers, and exits at the
end of input, so it can be scripted and tested.

Modules: ``session`` (the loop and the console's commands), ``slack`` (the stand-in, what the bot sends to it and
what you send to the bot), ``render`` (Slack on a terminal), ``forms`` (modals), ``workspace`` (people, channels).
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, TextIO

from rich.console import Console

from bot.domain.access import AccessRulesError
from bot.services.inventory import InventoryError
from bot.services.operation_types import OperationsFileError
from bot.settings import SettingsError
from bot.store import StoreError

from .session import ConsoleSession


async def run_console_async(
    *,
    api_url: str | None = None,
    api_token: str | None = None,
    database: str | None = None,
    tz: str | None = None,
    stdin: TextIO | None = None,
    console: Console | None = None,
) -> int:
    stdin = stdin or sys.stdin
    console = console or Console(highlight=False, soft_wrap=True)
    session = ConsoleSession(
        api_url=api_url, api_token=api_token, database=database, tz=tz, stdin=stdin, console=console
    )
    try:
        try:
            await session.start()
        except (SettingsError, StoreError, InventoryError, OperationsFileError, AccessRulesError) as exc:
            print(exc if isinstance(exc, SettingsError) else f"headless-bot console: {exc}", file=sys.stderr)
            return 2
        await session.run()
    finally:
        await session.stop()
    return 0


def run_console(**kwargs: Any) -> int:
    """``headless-bot console``: run until ``/quit`` or the end of input."""
    import logging

    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(run_console_async(**kwargs))
    except KeyboardInterrupt:
        return 130


__all__ = ["ConsoleSession", "run_console", "run_console_async"]
