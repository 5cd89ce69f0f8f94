"""The console's Slack: the kit's Web API stand-in, served on the console's own loop, shown on the terminal.

The bot talks to it over real HTTP exactly as it talks to Slack (``SLACK_API_URL``). Each call it makes is
recorded by the stand-in and, through its observer hook, rendered here: posts and updates as messages (with their
buttons numbered), ``response_url`` answers as the replies only you see; opened modals are noted so the session
can ask for them as forms. What you do goes the other way as the payloads Slack would send, built by the kit's
``SlackPayloadFactory`` (trigger ids and ``response_url``s issued by the same stand-in).
"""

from __future__ import annotations

import time
from typing import Any

from bot.slackkit import RecordedCall, RecordedResponse, SlackPayloadFactory, SlackRequest, SlackWebApiStub
from bot.slackkit.servers import LoopServer

from .render import Renderer, ShownButton
from .workspace import CHANNEL


class ConsoleSlack:
    """The stand-in (``workspace``), its server, and the payloads of what the person at the terminal does."""

    def __init__(self, workspace: SlackWebApiStub, renderer: Renderer) -> None:
        self.workspace = workspace
        self.renderer = renderer
        self.payloads = SlackPayloadFactory(
            bench=workspace,
            channel_id=CHANNEL,
            channel_name="console",
            verification_token="console",  # noqa: S106
        )
        self.opened_views: list[str] = []
        self.home_for: str | None = None  # whose App Home to show as it is published (the console's ``/home``)
        self.homes_shown = 0
        self.last_call = 0.0  # time.monotonic() of the bot's latest call: the console waits for it to go quiet
        self._server: LoopServer | None = None
        workspace.on_call(self._show_call)
        workspace.on_response(self._show_response)

    @property
    def api_url(self) -> str:
        """The bot's ``SLACK_API_URL``."""
        if self._server is None:
            raise RuntimeError("the console's Slack is not started")
        return f"{self._server.url}/api/"

    async def start(self) -> None:
        self._server = await LoopServer(self.workspace.app).start()
        self.workspace.public_url = self._server.url

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()

    # ------------------------------------------------------------------ what the bot sends

    def _show_call(self, call: RecordedCall) -> None:
        self.last_call = time.monotonic()
        if not call.ok:  # Slack refused it: nobody would see anything
            return
        body, answer = call.body, call.response
        if call.method == "chat.postMessage":
            channel, ts = str(answer["channel"]), str(answer["ts"])
            thread = body.get("thread_ts")
            self.renderer.message(self.renderer.where(channel), body, thread=thread, ts=ts, channel=channel)
        elif call.method == "chat.postEphemeral":
            channel = str(body.get("channel"))
            ts = str(answer.get("message_ts"))
            self.renderer.message(self.renderer.where(channel), body, ephemeral=True, ts=ts, channel=channel)
        elif call.method == "chat.update":
            channel, ts = str(answer["channel"]), str(answer["ts"])
            self.renderer.message(self.renderer.where(channel), body, edited=True, ts=ts, channel=channel)
        elif call.method == "views.open":
            self.opened_views.append(str(answer["view"]["id"]))
        elif call.method == "views.publish" and body.get("user_id") == self.home_for:
            self.homes_shown += 1
            view_id = str(answer["view"]["id"])
            self.renderer.message("App Home", body["view"], channel=CHANNEL, view_id=view_id)

    def _show_response(self, posted: RecordedResponse) -> None:
        self.last_call = time.monotonic()
        body = posted.body
        ephemeral = body.get("response_type", "ephemeral") == "ephemeral"
        self.renderer.message(
            self.renderer.where(CHANNEL), body, ephemeral=ephemeral, edited=bool(body.get("replace_original")),
            response_url=self.workspace.response_url(posted.key), channel=CHANNEL,
        )  # fmt: skip

    def show_posted(self, channel: str, ts: str, message: dict[str, Any]) -> None:
        """A message posted by an earlier run (which Slack would still show): held again and shown."""
        self.workspace.put_message(channel, ts, message)
        self.renderer.message(self.renderer.where(channel), message, ts=ts, channel=channel)

    # ------------------------------------------------------------------ what the person does

    def _person(self, user_id: str) -> dict[str, str]:
        return {"user_id": user_id, "user_name": self.workspace.users[user_id].name}

    def slash_command(self, text: str, user_id: str) -> SlackRequest:
        return self.payloads.slash_command(text, **self._person(user_id))

    def press(self, button: ShownButton, user_id: str) -> SlackRequest:
        """A click on ``button`` as Slack sends it: the message as it stands now (a message Slack holds) or as shown,
        and the ``response_url`` of the answer the button came with."""
        if button.view_id is not None:  # on the App Home: Slack sends the view as it stands now
            return self.payloads.block_action(
                button.action_id, button.value, block_id=button.block_id, text=button.label, view=button.view_id,
                **self._person(user_id),
            )  # fmt: skip
        ts = button.message_ts or "0"
        held = self.workspace.message(button.channel, ts)
        channel = self.workspace.channels.get(button.channel)
        return self.payloads.block_action(
            button.action_id, button.value, block_id=button.block_id, text=button.label,
            channel_id=button.channel, channel_name=channel.name if channel else button.channel,
            message_ts=ts, message=held or {**button.message, "ts": ts}, is_ephemeral=button.ephemeral,
            response_url=button.response_url, **self._person(user_id),
        )  # fmt: skip

    def home_opened(self, user_id: str) -> SlackRequest:
        return self.payloads.app_home_opened(user_id=user_id)

    def message_shortcut(self, callback_id: str, text: str, user_id: str) -> SlackRequest:
        """A message shortcut on a message ``user_id`` just wrote in #console (held by the stand-in, as Slack would)."""
        ts = f"{time.time():.6f}"
        message = {"type": "message", "user": user_id, "ts": ts, "text": text,
                   "blocks": [{"type": "rich_text", "block_id": "m", "elements": [
                       {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}]}]}  # fmt: skip
        self.workspace.put_message(CHANNEL, ts, message)
        return self.payloads.message_shortcut(
            callback_id, message=message, message_ts=ts, channel_id=CHANNEL, **self._person(user_id)
        )

    def typed_in_form(
        self, view_id: str, block_id: str, action_id: str, values: dict[str, dict[str, Any]], user_id: str
    ) -> SlackRequest:
        """What Slack sends when a ``dispatch_action`` input of an open modal changes (the live preview)."""
        value = values[block_id][action_id]["value"]
        return self.payloads.block_action(
            action_id, value, block_id=block_id, action_type="plain_text_input", view=view_id, state_values=values,
            **self._person(user_id),
        )  # fmt: skip

    def submit_form(self, view_id: str, values: dict[str, dict[str, Any]], user_id: str) -> SlackRequest:
        return self.payloads.view_submission(view=view_id, state_values=values, **self._person(user_id))

    def new_response_url(self) -> str:
        return self.workspace.response_url()
