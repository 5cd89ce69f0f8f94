"""Shortcuts: "Schedule an operation" from Slack's shortcut menu opens the scheduling form."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.blocks import scheduling as sb
from bot.slack.deps import SlackDeps
from bot.slack.modal import open_modal
from bot.slack.payloads import user_id_of


def register(app: AsyncApp) -> None:
    app.shortcut(sb.SCHEDULE_SHORTCUT)(handle_schedule_shortcut)


async def handle_schedule_shortcut(
    ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, deps: SlackDeps
) -> None:
    await ack()
    deps.tasks.spawn(open_modal(deps, client, str(shortcut.get("trigger_id")), user_id_of(shortcut), None))
