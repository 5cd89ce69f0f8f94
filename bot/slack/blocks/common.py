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
    word = escape(status.replace("_", " ").strip() or "unknown").capitalize()
    return f"{emoji} {word}"


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def slack_date(moment: datetime) -> str:
    """Each reader sees ``moment`` in their own zone; the fallback (and the UTC suffix) is UTC.

    The suffix carries its own day (``(Sat 7 Mar 02:00 UTC)``): the bot cannot know each reader's day, and an
    evening in the Americas is already tomorrow in UTC.
    """
    epoch = int(moment.timestamp())
    fallback = utc_text(moment)
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{fallback}> ({format_local(moment, 'UTC')})"


def device_text(status: DeviceStatus | None) -> str:
    if status is None:
        return "device status unknown"
    parts = []
    if status.online is True:
        parts.append(":large_green_circle: online")
    elif status.online is False:
        parts.append(":red_circle: offline")
    else:
        parts.append(":white_circle: connectivity unknown")
    if status.last_seen is not None:
        parts.append(f"last seen {slack_date(status.last_seen)}")
    if status.firmware_version:
        parts.append(f"firmware `{escape(status.firmware_version)}`")
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
