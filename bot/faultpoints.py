"""Named points in the bot's riskiest steps, where crash-safety tests stop the process.

A test starts ``headless-bot serve`` with ``HEADLESS_BOT_PAUSE_AT=after_post`` (comma-separated names) and
``HEADLESS_BOT_PAUSE_MARKER=/path``; when the bot reaches that point it writes the point's name to the marker file
and waits, so the test can kill it with SIGKILL at exactly that instant and restart it on the same database.
Without the variables (production) ``reached`` returns at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

log = logging.getLogger("bot.faultpoints")

BEFORE_POST = "before_post"  # the intent is recorded, the POST not yet sent
AFTER_POST = "after_post"  # the Control API created the operation, the bot has not recorded it
NOTIFY_AFTER_POLL = "notify_after_poll"  # the notifier read the list, recorded nothing yet
NOTIFY_BEFORE_DELIVERY = "notify_before_delivery"  # states and outbox persisted, nothing posted yet
NOTIFY_AFTER_POST = "notify_after_post"  # a notification posted, not yet marked sent


async def reached(name: str) -> None:
    wanted = os.environ.get("HEADLESS_BOT_PAUSE_AT")
    if not wanted or name not in wanted.split(","):
        return
    marker = os.environ.get("HEADLESS_BOT_PAUSE_MARKER")
    log.warning("pausing at fault point %s for a crash test", name)
    if marker:
        await asyncio.to_thread(Path(marker).write_text, name)
    await asyncio.sleep(3600)
