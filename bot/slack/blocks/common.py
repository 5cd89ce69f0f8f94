"""What every Block Kit message of the bot is made of: escaping, sections, buttons, dates. Pure, no I/O.

Every message carries a plain ``text`` fallback (notifications, screen readers) and stays inside Block Kit's limits:
at most 50 blocks, 3000 characters per section text, 75 per button label, 2000 per button value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.control.models import DeviceStatus
from bot.domain.statuses import is_failure, is_terminal
from bot.i18n import DEFAULT_LANGUAGE, N_, _, babel_locale, current_language
from bot.when import format_local

Block = dict[str, Any]
Message = dict[str, Any]

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000

_STATUS_EMOJI: dict[str, str] = {
    "scheduled": ":calendar:",
    "pending": ":hourglass_flowing_sand:",
    "in_progress": ":arrows_counterclockwise:",
    "running": ":arrows_counterclockwise:",
    "completed": ":white_check_mark:",
    "succeeded": ":white_check_mark:",
    "success": ":white_check_mark:",
    "failed": ":x:",
    "error": ":x:",
    "expired": ":alarm_clock:",
    "cancelled": ":no_entry_sign:",
    "canceled": ":no_entry_sign:",
}
# The word shown for each status the bot knows (the value itself stays as the API sends it); in English exactly the
# status capitalised, as it is shown for a status the bot has never seen.
_STATUS_WORDS: dict[str, str] = {
    "scheduled": N_("Scheduled"),
    "pending": N_("Pending"),
    "in_progress": N_("In progress"),
    "running": N_("Running"),
    "completed": N_("Completed"),
    "succeeded": N_("Succeeded"),
    "success": N_("Success"),
    "failed": N_("Failed"),
    "error": N_("Error"),
    "expired": N_("Expired"),
    "cancelled": N_("Cancelled"),
    "canceled": N_("Canceled"),
}


# Bidirectional controls: embeddings, overrides and isolates, and the invisible direction marks. Echoed as they are,
# they make text read in another order than it is stored (``abc\u202edcba`` reads "abcabcd"), so an approver could
# be shown one value while another is sent.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
BIDI_SHOWN_AS = "\ufffd"
# Slack's code spans cannot escape a backtick: one in echoed text would end the span (or open one) and spill the
# rest. It is shown as the look-alike modifier letter grave accent (only shown: what is sent is what was typed).
BACKTICK_SHOWN_AS = "\u02cb"


def neutralize(text: object) -> str:
    """``text`` with every bidirectional control shown as U+FFFD: for echoes in plain text (modal errors)."""
    return _BIDI.sub(BIDI_SHOWN_AS, str(text))


def escape(text: object) -> str:
    """User text made safe to echo in mrkdwn, in or out of a code span: the three characters mrkdwn reserves are
    escaped (so it can never become a mention or a link), backticks cannot end a code span, and bidirectional
    controls cannot reorder what is shown."""
    text = neutralize(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("`", BACKTICK_SHOWN_AS)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def status_badge(status: str) -> str:
    """A consistent emoji and word for a status, including statuses the bot has never seen."""
    key = status.casefold()
    emoji = _STATUS_EMOJI.get(key)
    if emoji is None:
        emoji = ":x:" if is_failure(status) else (":grey_question:" if not is_terminal(status) else ":white_circle:")
    known = _STATUS_WORDS.get(key)
    if known is not None:
        return f"{emoji} {_(known)}"
    shown = status.replace("_", " ").strip()
    word = escape(shown).capitalize() if shown else _("Unknown")
    return f"{emoji} {word}"


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def date_fallback(moment: datetime) -> str:
    """The text a Slack client shows when it cannot render a date token: ``2026-03-07 02:00 UTC`` in English,
    Babel's writing of the same UTC moment in another language (``7 mar 2026, 02:00 UTC``)."""
    language = current_language()
    if language == DEFAULT_LANGUAGE:
        return utc_text(moment)
    from babel.dates import format_datetime  # lazily: only a process that speaks another language loads CLDR data

    return format_datetime(moment, "d MMM y, HH:mm 'UTC'", tzinfo=UTC, locale=babel_locale(language))


def slack_date(moment: datetime) -> str:
    """Each reader sees ``moment`` in their own zone; the fallback (and the UTC suffix) is UTC, written in the
    current language.

    The suffix carries its own day (``(Sat 7 Mar 02:00 UTC)``): the bot cannot know each reader's day, and an
    evening in the Americas is already tomorrow in UTC.
    """
    epoch = int(moment.timestamp())
    fallback = date_fallback(moment)
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{fallback}> ({format_local(moment, 'UTC')})"


def device_text(status: DeviceStatus | None) -> str:
    if status is None:
        return _("device status unknown")
    parts = []
    if status.online is True:
        parts.append(":large_green_circle: " + _("online"))
    elif status.online is False:
        parts.append(":red_circle: " + _("offline"))
    else:
        parts.append(":white_circle: " + _("connectivity unknown"))
    if status.last_seen is not None:
        parts.append(_("last seen {time}").format(time=slack_date(status.last_seen)))
    if status.firmware_version:
        parts.append(_("firmware `{version}`").format(version=escape(status.firmware_version)))
    return " · ".join(parts)


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION_TEXT)}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, MAX_SECTION_TEXT)}]}


def button(text: str, action_id: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": truncate(text, 75), "emoji": True},
        "action_id": action_id,
        "value": value[:2000],
    }
    if style:
        element["style"] = style
    return element


def format_age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    return f"{minutes} min {secs} s" if secs else f"{minutes} min"


def text_message(text: str) -> Message:
    """A one-section message whose ``text`` is already safe mrkdwn."""
    return {"text": text, "blocks": [section(text)]}


def parameters_text(parameters: Mapping[str, Any]) -> str:
    """Each parameter as ``key=JSON`` in a code span: its type shows (``"1.10"`` is text, ``3`` a number, ``true`` a
    boolean) and text shows as text (``é``, not ``\\u00e9``)."""
    return ", ".join(f"`{escape(k)}={escape(json.dumps(v, ensure_ascii=False))}`" for k, v in parameters.items())
