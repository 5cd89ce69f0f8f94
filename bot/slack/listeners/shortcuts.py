"""Shortcuts: "Schedule an operation" from Slack's shortcut menu opens the scheduling form; on a message, "Schedule
for serials in this message" opens it prefilled with the message's serials, and "Watch this operation" follows the
message's ``txn_…`` operation(s) in that channel."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.ids import CHANNEL_ID, find_operation_ids, find_serials
from bot.slack.blocks import operations as ob
from bot.slack.blocks import scheduling as sb
from bot.slack.blocks.common import escape, text_message
from bot.slack.commands import WatchRequest
from bot.slack.deps import SlackDeps
from bot.slack.listeners.commands import run_watch
from bot.slack.modal import open_modal
from bot.slack.payloads import user_id_of
from bot.slack.respond import Respond, safe_respond

log = logging.getLogger("bot.slack.schedule")

SCHEDULE_FROM_MESSAGE = sb.SCHEDULE_FROM_MESSAGE  # "Schedule for serials in this message"
WATCH_FROM_MESSAGE = ob.WATCH_FROM_MESSAGE  # "Watch this operation"
#: The message shortcuts by name, for the console's ``/shortcut``: the issue's names, and the manifest's (Slack allows
#: 24 characters for a shortcut's name, so "Schedule for serials in this message" shows as "Schedule for serials").
MESSAGE_SHORTCUTS = {
    "Schedule for serials in this message": SCHEDULE_FROM_MESSAGE,
    "Schedule for serials": SCHEDULE_FROM_MESSAGE,
    "Watch this operation": WATCH_FROM_MESSAGE,
}
LOOKUP_SECONDS = 1.0  # the most a txn id's device lookup may take of the 3 s a trigger id lives
WATCHED_AT_ONCE = 5  # operations one "Watch this operation" follows
_TEXT_KEYS = frozenset({"text", "url", "fallback", "pretext", "title", "value"})


def register(app: AsyncApp) -> None:
    app.shortcut(sb.SCHEDULE_SHORTCUT)(handle_schedule_shortcut)
    app.shortcut(SCHEDULE_FROM_MESSAGE)(handle_schedule_from_message)
    app.shortcut(WATCH_FROM_MESSAGE)(handle_watch_from_message)


async def handle_schedule_shortcut(
    ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, deps: SlackDeps
) -> None:
    await ack()
    deps.tasks.spawn(open_modal(deps, client, str(shortcut.get("trigger_id")), user_id_of(shortcut), None))


def message_text(message: Any) -> str:
    """Everything readable in a message: its text, and every text of its blocks and attachments (rich text, fields,
    links), one per line."""
    found: list[str] = []

    def walk(value: Any, key: str = "") -> None:
        if len(found) > 2000:
            return
        if isinstance(value, str):
            if key in _TEXT_KEYS:
                found.append(value[:10_000])
        elif isinstance(value, dict):
            for name, inner in value.items():
                walk(inner, str(name))
        elif isinstance(value, list):
            for inner in value:
                walk(inner, key if key not in ("blocks", "elements", "attachments", "fields") else "")

    if isinstance(message, dict):
        walk({k: message.get(k) for k in ("text", "blocks", "attachments")})
    return "\n".join(found)


def _channel(shortcut: dict[str, Any]) -> str | None:
    channel = (shortcut.get("channel") or {}).get("id")
    return channel if isinstance(channel, str) and CHANNEL_ID.match(channel) else None


async def handle_schedule_from_message(
    ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, deps: SlackDeps
) -> None:
    """The schedule form, prefilled with the message's serials (and the devices of its ``txn_…`` operations)."""
    await ack()
    deps.tasks.spawn(schedule_from_message(deps, client, shortcut))


async def schedule_from_message(deps: SlackDeps, client: AsyncWebClient, shortcut: dict[str, Any]) -> None:
    text = message_text(shortcut.get("message"))
    serials = find_serials(text)
    operations = find_operation_ids(text)
    unknown: list[str] = []
    if operations:  # their devices, as the notifier recorded them: the bot's database, never the Control API
        try:
            known = await asyncio.wait_for(deps.watches.devices_of(operations), LOOKUP_SECONDS)
        except Exception as exc:  # slow or down: the serials found in the text still prefill the form
            log.warning("looking up the devices of %d operation(s) failed: %s", len(operations), type(exc).__name__)
            known = {}
        seen = {s.casefold() for s in serials}
        for operation_id in operations:
            serial = known.get(operation_id)
            if serial is None:
                unknown.append(operation_id)
            elif serial.casefold() not in seen:
                seen.add(serial.casefold())
                serials.append(serial)
    limit = deps.settings.max_devices_per_request
    note = _prefill_note(serials, unknown, limit)
    deps.metrics.count("message_shortcut_schedule", "found" if serials else "none")
    await open_modal(
        deps, client, str(shortcut.get("trigger_id")), user_id_of(shortcut), _channel(shortcut),
        serials="\n".join(serials[:limit]), note=note,
    )  # fmt: skip


def _prefill_note(serials: list[str], unknown: list[str], limit: int) -> str:
    if not serials:
        note = ":information_source: No device serials or known `txn_…` operations were found in that message; "
        note += "type the devices below."
    else:
        note = f":mag: {len(serials):,} device{'s' if len(serials) != 1 else ''} found in that message"
        note += f" (the first {limit:,} are filled in)." if len(serials) > limit else "; check them below."
    if unknown:
        shown = ", ".join(f"`{escape(op)}`" for op in unknown[:5])
        note += f" Not known to the bot yet (no device filled in): {shown}{' …' if len(unknown) > 5 else ''}."
    return note


async def handle_watch_from_message(
    ack: AsyncAck, shortcut: dict[str, Any], respond: Respond, context: AsyncBoltContext, deps: SlackDeps
) -> None:
    """Follow the message's ``txn_…`` operation(s) in the message's channel."""
    await ack()
    operations = find_operation_ids(message_text(shortcut.get("message")))
    channel = _channel(shortcut)
    if not operations or channel is None:
        words = (
            ":information_source: That message holds no operation id (`txn_…`) to watch."
            if channel is not None
            else ":information_source: Operations can be watched in a channel only."
        )
        deps.tasks.spawn(safe_respond(respond, text_message(words)))
        return
    user_id = user_id_of(shortcut)
    for operation_id in operations[:WATCHED_AT_ONCE]:
        request = WatchRequest(operation_id=operation_id, channel_id=channel)
        deps.tasks.spawn(run_watch(deps, respond, user_id, request, channel, context.bot_user_id))
    if len(operations) > WATCHED_AT_ONCE:
        words = f":information_source: Only the first {WATCHED_AT_ONCE} operations of that message are watched."
        deps.tasks.spawn(safe_respond(respond, text_message(words)))


__all__ = ["MESSAGE_SHORTCUTS", "SCHEDULE_FROM_MESSAGE", "WATCH_FROM_MESSAGE", "message_text", "register"]
