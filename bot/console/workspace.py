"""The console's pretend Slack workspace, held by the Slack kit's Web API stand-in (``bot.slackkit``).

You, Ana (an approver, in the on-call group) and Olga (not an approver); #console where you type, #approvals
where requests wait for a decision, #ops where the notifier reports. The stand-in is the tests' own, with two
settings for a console that may keep its store between runs (``--database``): message ts come from the real clock
(a later run never reuses the ts of a message the store remembers), and replies to an earlier run's messages
(threads Slack would still have) are accepted.
"""

from __future__ import annotations

import contextlib
import os
from zoneinfo import ZoneInfo

from bot.slackkit import SlackWebApiStub

YOU = "U0YOU"
ANA = "U0ANA"
OLGA = "U0OLGA"
SOFIA = "U0SOFIA"  # reads Slack in Spanish (es-LA): the bot answers her in Spanish
CHANNEL = "C0CONSOLE"
APPROVALS = "C0APPROVALS"
OPS = "C0OPS"
ONCALL = "S0ONCALL"
BOT_USER = "U0BOT"
BOT_NAME = "headless-ops"
BOT_TOKEN = "xoxb-console-local"  # noqa: S105 - the local stand-in's token, not a secret
TEAM_ID = "T0CONSOLE"
APP_ID = "A0CONSOLE"
# Slack gives an app 3 s to open a modal with a trigger_id; the console's person is not timed, and a busy machine
# must not turn "/headless schedule" into "expired_trigger_id".
TRIGGER_LIFETIME = 60.0


def local_zone() -> str:
    """The machine's IANA zone name (``TZ`` or ``/etc/localtime``), UTC when unknown."""
    candidate = os.environ.get("TZ", "").lstrip(":")
    if not candidate:
        with contextlib.suppress(OSError):
            target = os.readlink("/etc/localtime")
            candidate = target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else ""
    try:
        ZoneInfo(candidate)
        return candidate
    except Exception:
        return "UTC"


def local_locale() -> str:
    """Your Slack locale in the console: ``CONSOLE_LOCALE`` (``es-LA``, ``es-ES``, ``en-US``…), else ``en-US``.

    Deliberately not ``LANG``: the console's English transcript (and the tests that read it) must not change with
    the machine's locale; asking for Spanish is one variable away (``CONSOLE_LOCALE=es-LA headless-bot console``).
    """
    return os.environ.get("CONSOLE_LOCALE", "").strip() or "en-US"


def console_stand_in(zone: str, *, notify_channel: str = OPS, locale: str = "en-US") -> SlackWebApiStub:
    """The stand-in with the console's people and channels (``zone`` and ``locale`` are yours). A
    ``NOTIFY_CHANNEL`` of your own is a channel the bot is in, as the bot's settings assume."""
    stub = SlackWebApiStub(
        bot_token=BOT_TOKEN,
        team_id=TEAM_ID,
        team_name="Console",
        team_domain="console",
        app_id=APP_ID,
        bot_id="B0BOT",
        bot_user_id=BOT_USER,
        bot_name=BOT_NAME,
        trigger_lifetime=TRIGGER_LIFETIME,
        default_workspace=False,
        wall_clock_ts=True,
        threads_before_start=True,
    )
    stub.add_user(BOT_USER, name=BOT_NAME, real_name=BOT_NAME, is_bot=True)
    stub.add_user(YOU, name="you", real_name="You", tz=zone, locale=locale)
    stub.add_user(ANA, name="ana", real_name="Ana (approver)", tz="Europe/Madrid")
    stub.add_user(OLGA, name="olga", real_name="Olga (not an approver)", tz="Asia/Tokyo")
    stub.add_user(SOFIA, name="sofia", real_name="Sofía (Slack en español)", tz="America/Bogota", locale="es-LA")
    stub.add_channel(CHANNEL, "console")
    stub.add_channel(APPROVALS, "approvals")
    stub.add_channel(OPS, "ops")
    if notify_channel not in stub.channels:
        stub.add_channel(notify_channel, notify_channel)
    stub.add_usergroup(ONCALL, [ANA])
    return stub
