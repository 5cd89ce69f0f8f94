"""Slack on a terminal: messages as a person would read them (mrkdwn, dates in their zone, names for ids, emoji),
buttons as numbered choices to press; the console's own words and the dates in the viewer's language (their Slack
locale, as the bot reads it)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.text import Text

from bot.i18n import DEFAULT_LANGUAGE, _, babel_locale, language_of_locale, use_language
from bot.slackkit import SlackWebApiStub, User

from .workspace import BOT_NAME, CHANNEL


@dataclass
class ShownButton:
    """A button printed as ``[number] label``: what ``/press`` needs to click it as Slack would."""

    number: int
    label: str
    action_id: str
    value: str
    block_id: str
    channel: str
    message: dict[str, Any] = field(repr=False)
    message_ts: str | None
    response_url: str | None
    ephemeral: bool
    view_id: str | None = None  # a button on a view (the App Home), not on a message


class Renderer:
    """Slack's mrkdwn, as a person in the viewer's zone would read it, on a terminal. People and channel names
    come from the workspace the Slack stand-in holds; the buttons shown so far are numbered across the session."""

    def __init__(self, console: Console, workspace: SlackWebApiStub, viewer: Callable[[], User]) -> None:
        self.console = console
        self.workspace = workspace
        self.viewer = viewer
        self.buttons: list[ShownButton] = []

    def language(self) -> str:
        """The viewer's language: the one the bot speaks to them (from their Slack locale)."""
        return language_of_locale(self.viewer().locale)

    @contextmanager
    def speaking(self) -> Iterator[None]:
        """The console's own words inside are in the viewer's language."""
        with use_language(self.language()):
            yield

    def mrkdwn(self, text: str) -> str:
        viewer = self.viewer()
        zone = ZoneInfo(viewer.tz)
        language = language_of_locale(viewer.locale)

        def date(match: re.Match[str]) -> str:
            moment = datetime.fromtimestamp(int(match.group(1)), UTC).astimezone(zone)
            if language == DEFAULT_LANGUAGE:
                return moment.strftime("%a %d %b %H:%M %Z")
            from babel.dates import format_datetime

            shown = format_datetime(moment, "EEE dd MMM HH:mm", tzinfo=zone, locale=babel_locale(language))
            return f"{shown} {moment.strftime('%Z')}"

        text = re.sub(r"<!date\^(\d+)\^[^|>]*\|[^>]*>", date, text)
        text = re.sub(r"<@([UW][A-Z0-9]+)>", lambda m: "@" + self._name(m.group(1)), text)
        text = re.sub(r"<#([CGD][A-Z0-9]+)(?:\|[^>]*)?>", lambda m: "#" + self._channel(m.group(1)), text)
        text = re.sub(r"<!subteam\^([A-Z0-9]+)(?:\|[^>]*)?>", lambda m: f"@{m.group(1).lower()}-group", text)
        text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2 (\1)", text)
        text = re.sub(r":([a-z0-9_+-]+):", lambda m: EMOJI.get(m.group(1), m.group(0)), text)
        text = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"\1", text)  # *bold* reads fine without the stars
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def _name(self, user_id: str) -> str:
        person = self.workspace.users.get(user_id)
        return person.name if person else user_id

    def _channel(self, channel_id: str) -> str:
        channel = self.workspace.channels.get(channel_id)
        return channel.name if channel else channel_id

    def where(self, channel_id: str) -> str:
        """How a conversation is shown: ``#approvals``, or ``DM @you`` (by the DM's id or the person's)."""
        channel = self.workspace.channels.get(channel_id)
        person = channel.user if channel is not None and channel.is_im else channel_id
        if person in self.workspace.users:
            with self.speaking():
                return _("DM @{name}").format(name=self._name(str(person)))
        return "#" + self._channel(channel_id)

    def message(self, where: str, message: dict[str, Any], *, ephemeral: bool = False, thread: str | None = None,
                edited: bool = False, ts: str | None = None, response_url: str | None = None,
                channel: str = CHANNEL, view_id: str | None = None) -> None:  # fmt: skip
        label = Text()
        label.append(f"[{where}] ", style="bold cyan")
        with self.speaking():
            if thread:
                label.append("↳ " + _("in thread") + " ", style="magenta")
            label.append(BOT_NAME, style="bold green")
            if ephemeral:
                label.append(" " + _("(only you can see this)"), style="dim")
            if view_id is not None:
                label.append(" " + _("(your App Home)"), style="dim")
            if edited:
                label.append(" " + _("(updated)"), style="yellow")
        self.console.print(label)
        body = self._blocks_text(message) or str(message.get("text") or "")
        for line in self.mrkdwn(body).splitlines():
            self.console.print("  " + line, markup=False, highlight=False)
        where = {"channel": channel, "ts": ts, "response_url": response_url, "ephemeral": ephemeral, "view_id": view_id}
        for button in self._buttons(message, **where):
            self.console.print(f"  [{button.number}] {button.label}", markup=False, style="bold")

    def _blocks_text(self, message: dict[str, Any]) -> str:
        lines = []
        for block in message.get("blocks") or []:
            text = block.get("text")
            if block.get("type") == "header" and isinstance(text, dict):
                lines.append(f"== {text.get('text', '')} ==")
            elif isinstance(text, dict):
                lines.append(str(text.get("text", "")))
            if block.get("type") == "context":
                lines.extend(str(e.get("text", "")) for e in block.get("elements") or [] if isinstance(e, dict))
        return "\n".join(lines)

    def _buttons(self, message: dict[str, Any], **where: Any) -> list[ShownButton]:
        shown = []
        for block in message.get("blocks") or []:
            accessory = [block["accessory"]] if isinstance(block.get("accessory"), dict) else []
            for element in [*(block.get("elements") or []), *accessory]:
                if element.get("type") != "button":
                    continue
                button = ShownButton(
                    number=len(self.buttons) + 1,
                    label=str(element["text"]["text"]),
                    action_id=str(element["action_id"]),
                    value=str(element.get("value", "")),
                    block_id=str(block.get("block_id", "actions")),
                    channel=where["channel"],
                    message=message,
                    message_ts=where["ts"],
                    response_url=where["response_url"],
                    ephemeral=where["ephemeral"],
                    view_id=where.get("view_id"),
                )
                self.buttons.append(button)
                shown.append(button)
        return shown

    def find_button(self, which: str) -> ShownButton | None:
        """Button ``[N]``, or the latest one labelled ``which`` (any case)."""
        if which.isdigit():
            number = int(which)
            return next((b for b in self.buttons if b.number == number), None)
        wanted = which.lower()
        return next((b for b in reversed(self.buttons) if b.label.lower() == wanted), None)

    def note(self, text: str, style: str = "dim") -> None:
        self.console.print(text, style=style, markup=False, highlight=False)


EMOJI = {
    "white_check_mark": "✅", "x": "❌", "warning": "⚠️", "calendar": "📅", "hourglass_flowing_sand": "⏳",
    "hourglass": "⌛", "arrows_counterclockwise": "🔄", "alarm_clock": "⏰", "no_entry_sign": "🚫", "no_entry": "⛔",
    "raised_hand": "✋", "mag": "🔍", "lock": "🔒", "electric_plug": "🔌", "satellite_antenna": "📡",
    "large_green_circle": "🟢", "red_circle": "🔴", "white_circle": "⚪", "information_source": "ℹ️",
    "rotating_light": "🚨", "rocket": "🚀", "outbox_tray": "📤", "recycle": "♻️", "eyes": "👀", "mute": "🔇",
    "ledger": "📒", "thinking_face": "🤔", "clock3": "🕒", "memo": "📝", "grey_question": "❔", "construction": "🚧",
    "tada": "🎉", "white_large_square": "⬜",
}  # fmt: skip
