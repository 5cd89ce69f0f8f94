"""Realistic bodies of what Slack sends to the bot's ``/slack/events``.

``SlackPayloadFactory`` builds them modelled on Slack's own samples (``/work/shared/reference/slack/payloads/``):
slash commands as form fields, interactivity as a form field ``payload=<json>``, Events API as a JSON body
(``events.py``). Given a ``bench``, ``trigger_id`` and ``response_url`` default to ones the bench issued, so
``views.open`` works and ``respond()`` lands in the bench's response_url sink. ``signed.SlackRequestSender`` signs
and sends them; the console dispatches them to its bot in process.
"""

from __future__ import annotations

import copy
import itertools
import json
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from .events import EventPayloads
from .request import FORM, SlackRequest

if TYPE_CHECKING:
    from .webapi import SlackWebApiStub

_counter = itertools.count(1)


class SlackPayloadFactory(EventPayloads):
    """Builds ``SlackRequest``s. Defaults (team, user, channel, app) come from ``bench`` when given, else from
    Slack's sample payloads (T111 / W111 / C111 / A111)."""

    def __init__(
        self,
        *,
        bench: SlackWebApiStub | None = None,
        team_id: str | None = None,
        team_domain: str | None = None,
        enterprise_id: str | None = None,
        enterprise_name: str | None = None,
        api_app_id: str | None = None,
        user_id: str = "W111",
        user_name: str = "primary-owner",
        channel_id: str = "C111",
        channel_name: str = "general",
        verification_token: str = "verification_token",  # noqa: S107 - Slack's sample value
    ) -> None:
        self.bench = bench
        self.team_id = team_id or (bench.team_id if bench else "T111")
        self.team_domain = team_domain or (bench.team_domain if bench else "workspace-domain")
        self.enterprise_id = enterprise_id or (bench.enterprise_id if bench else None)
        self.enterprise_name = enterprise_name or ("Sandbox Org" if self.enterprise_id else None)
        self.api_app_id = api_app_id or (bench.app_id if bench else "A111")
        self.user_id, self.user_name = user_id, user_name
        self.channel_id, self.channel_name = channel_id, channel_name
        self.verification_token = verification_token

    # -- defaults

    def new_trigger_id(self, view_id: str | None = None) -> str:
        if self.bench is not None:
            return self.bench.issue_trigger_id(view_id=view_id)
        return f"{next(_counter)}.{secrets.randbelow(10**11)}.{secrets.token_hex(16)}"

    def new_response_url(self, kind: str = "commands") -> str:
        if self.bench is not None and self.bench.public_url is not None:
            return self.bench.response_url()
        return f"https://hooks.slack.com/{kind}/{self.team_id}/{secrets.randbelow(10**12)}/{secrets.token_hex(12)}"

    def _user(self, user_id: str | None, user_name: str | None) -> dict[str, Any]:
        uid = user_id or self.user_id
        name = user_name or (self.user_name if uid == self.user_id else uid.lower())
        return {"id": uid, "username": name, "name": name, "team_id": self.team_id}

    def _team(self) -> dict[str, Any]:
        team: dict[str, Any] = {"id": self.team_id, "domain": self.team_domain}
        if self.enterprise_id:
            team.update(enterprise_id=self.enterprise_id, enterprise_name=self.enterprise_name)
        return team

    def _enterprise(self) -> dict[str, Any] | None:
        return {"id": self.enterprise_id, "name": self.enterprise_name} if self.enterprise_id else None

    def _view(self, view: dict[str, Any] | str | None) -> dict[str, Any] | None:
        if view is None or isinstance(view, dict):
            return copy.deepcopy(view)
        if self.bench is not None and view in self.bench.views:
            return copy.deepcopy(self.bench.views[view])
        raise KeyError(f"view {view!r}: pass a view dict, or the id of a view the bench opened")

    @staticmethod
    def _interactive(kind: str, payload: dict[str, Any]) -> SlackRequest:
        body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()
        return SlackRequest(kind, body, FORM, payload)

    # -- slash commands

    def slash_command(
        self,
        text: str = "",
        *,
        command: str = "/headless",
        user_id: str | None = None,
        user_name: str | None = None,
        channel_id: str | None = None,
        channel_name: str | None = None,
        team_id: str | None = None,
        response_url: str | None = None,
        trigger_id: str | None = None,
        is_enterprise_install: bool = False,
    ) -> SlackRequest:
        """Form fields in the order Slack sends them."""
        uid = user_id or self.user_id
        fields: dict[str, str] = {
            "token": self.verification_token,
            "team_id": team_id or self.team_id,
            "team_domain": self.team_domain,
        }
        if self.enterprise_id:
            fields.update(enterprise_id=self.enterprise_id, enterprise_name=self.enterprise_name or "")
        fields.update(
            channel_id=channel_id or self.channel_id,
            channel_name=channel_name or self.channel_name,
            user_id=uid,
            user_name=user_name or (self.user_name if uid == self.user_id else uid.lower()),
            command=command,
            text=text,
            api_app_id=self.api_app_id,
            is_enterprise_install="true" if is_enterprise_install else "false",
            response_url=response_url or self.new_response_url("commands"),
            trigger_id=trigger_id or self.new_trigger_id(),
        )
        return SlackRequest("slash_command", urlencode(fields).encode(), FORM, fields)

    # -- interactivity

    def block_action(
        self,
        action_id: str,
        value: str | None = None,
        *,
        block_id: str = "actions",
        action_type: str = "button",
        text: str = "Button",
        selected_option: dict[str, Any] | None = None,
        action: dict[str, Any] | None = None,
        user_id: str | None = None,
        user_name: str | None = None,
        channel_id: str | None = None,
        channel_name: str | None = None,
        message_ts: str = "1700000000.000100",
        message: dict[str, Any] | None = None,
        is_ephemeral: bool = False,
        view: dict[str, Any] | str | None = None,
        state_values: dict[str, Any] | None = None,
        response_url: str | None = None,
        trigger_id: str | None = None,
    ) -> SlackRequest:
        """A click (or select) in a message, or in a modal when ``view`` (dict or bench view id) is given.

        ``action`` is merged into the action object (e.g. ``{"selected_user": "W222"}``). For a message in the
        bench, ``message`` defaults to the message as the bench holds it, as Slack sends the current message.
        """
        act: dict[str, Any] = {"action_id": action_id, "block_id": block_id, "type": action_type}
        if action_type == "button":
            act["text"] = {"type": "plain_text", "text": text, "emoji": True}
            if value is not None:
                act["value"] = value
        elif action_type in ("static_select", "external_select", "overflow", "radio_buttons"):
            option = selected_option or {"text": {"type": "plain_text", "text": text}, "value": value}
            act["selected_option"] = option
        elif value is not None:
            act["value"] = value
        act["action_ts"] = f"{time.time():.6f}"
        act.update(action or {})
        the_view = self._view(view)
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user_id, user_name),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
        }
        if the_view is not None:
            if state_values is not None:
                the_view["state"] = {"values": state_values}
            payload["container"] = {"type": "view", "view_id": the_view.get("id", "V111")}
            payload["trigger_id"] = trigger_id or self.new_trigger_id(view_id=the_view.get("id"))
            payload["team"] = self._team()
            payload["enterprise"] = self._enterprise()
            payload["is_enterprise_install"] = False
            payload["view"] = the_view
        else:
            cid = channel_id or self.channel_id
            payload["container"] = {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": cid,
                "is_ephemeral": is_ephemeral,
            }
            payload["trigger_id"] = trigger_id or self.new_trigger_id()
            payload["team"] = self._team()
            payload["enterprise"] = self._enterprise()
            payload["is_enterprise_install"] = False
            payload["channel"] = {"id": cid, "name": channel_name or self.channel_name}
            if not is_ephemeral:
                held = self.bench.message(cid, message_ts) if self.bench is not None else None
                payload["message"] = message or held or {"type": "message", "ts": message_ts, "text": "", "blocks": []}
            payload["state"] = {"values": state_values or {}}
            payload["response_url"] = response_url or self.new_response_url("actions")
        payload["actions"] = [act]
        return self._interactive("block_actions", payload)

    def view_submission(
        self,
        callback_id: str | None = None,
        state_values: dict[str, Any] | None = None,
        *,
        view: dict[str, Any] | str | None = None,
        view_id: str | None = None,
        private_metadata: str | None = None,
        title: str = "Headless",
        blocks: list[dict[str, Any]] | None = None,
        external_id: str = "",
        user_id: str | None = None,
        user_name: str | None = None,
        response_urls: list[dict[str, Any]] | None = None,
        trigger_id: str | None = None,
    ) -> SlackRequest:
        """A modal submit. ``view`` (dict, or the id of a view the bench opened) supplies
        blocks/title/metadata; ``state_values`` is ``{block_id: {action_id: {"type": ..., "value": ...}}}``
        (see ``text_value``)."""
        the_view = self._modal(view, view_id, callback_id, private_metadata, title, blocks, external_id)
        the_view["state"] = {"values": state_values or {}}
        payload = {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user(user_id, user_name),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": trigger_id or self.new_trigger_id(view_id=the_view["id"]),
            "view": the_view,
            "response_urls": response_urls or [],
            "is_enterprise_install": False,
            "enterprise": self._enterprise(),
        }
        return self._interactive("view_submission", payload)

    def view_closed(
        self,
        callback_id: str | None = None,
        *,
        view: dict[str, Any] | str | None = None,
        view_id: str | None = None,
        private_metadata: str | None = None,
        is_cleared: bool = False,
        user_id: str | None = None,
        user_name: str | None = None,
    ) -> SlackRequest:
        the_view = self._modal(view, view_id, callback_id, private_metadata, "Headless", None, "")
        payload = {
            "type": "view_closed",
            "team": self._team(),
            "user": self._user(user_id, user_name),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "view": the_view,
            "is_cleared": is_cleared,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": self._enterprise(),
        }
        return self._interactive("view_closed", payload)

    def _modal(
        self,
        view: dict[str, Any] | str | None,
        view_id: str | None,
        callback_id: str | None,
        private_metadata: str | None,
        title: str,
        blocks: list[dict[str, Any]] | None,
        external_id: str,
    ) -> dict[str, Any]:
        the_view = self._view(view)
        if the_view is None:
            vid = view_id or "V111"
            the_view = {
                "id": vid,
                "team_id": self.team_id,
                "type": "modal",
                "blocks": blocks or [],
                "private_metadata": "",
                "callback_id": "",
                "state": {"values": {}},
                "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
                "title": {"type": "plain_text", "text": title},
                "clear_on_close": False,
                "notify_on_close": False,
                "close": {"type": "plain_text", "text": "Cancel"},
                "submit": {"type": "plain_text", "text": "Submit"},
                "previous_view_id": None,
                "root_view_id": vid,
                "app_id": self.api_app_id,
                "external_id": external_id,
                "app_installed_team_id": self.team_id,
                "bot_id": self.bench.bot_id if self.bench else "B111",
            }
        elif view_id:
            the_view["id"] = view_id
        if callback_id is not None:
            the_view["callback_id"] = callback_id
        if private_metadata is not None:
            the_view["private_metadata"] = private_metadata
        return the_view

    def block_suggestion(
        self,
        action_id: str,
        value: str,
        *,
        block_id: str = "suggest",
        view: dict[str, Any] | str | None = None,
        user_id: str | None = None,
        user_name: str | None = None,
        channel_id: str | None = None,
        message_ts: str = "1700000000.000100",
    ) -> SlackRequest:
        """An external_select asking for options (``value`` is what the person typed)."""
        the_view = self._view(view)
        payload: dict[str, Any] = {
            "type": "block_suggestion",
            "user": self._user(user_id, user_name),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "action_id": action_id,
            "block_id": block_id,
            "value": value,
            "team": self._team(),
        }
        if the_view is not None:
            payload["container"] = {"type": "view", "view_id": the_view.get("id", "V111")}
            payload["view"] = the_view
        else:
            cid = channel_id or self.channel_id
            payload["container"] = {"type": "message", "message_ts": message_ts, "channel_id": cid}
            payload["channel"] = {"id": cid, "name": self.channel_name}
        return self._interactive("block_suggestion", payload)

    def shortcut(
        self,
        callback_id: str,
        *,
        user_id: str | None = None,
        user_name: str | None = None,
        trigger_id: str | None = None,
    ) -> SlackRequest:
        """A global shortcut (``type: shortcut``)."""
        user = self._user(user_id, user_name)
        payload = {
            "type": "shortcut",
            "token": self.verification_token,
            "action_ts": f"{time.time():.6f}",
            "team": self._team(),
            "user": {"id": user["id"], "username": user["username"], "team_id": self.team_id},
            "is_enterprise_install": False,
            "enterprise": self._enterprise(),
            "callback_id": callback_id,
            "trigger_id": trigger_id or self.new_trigger_id(),
        }
        return self._interactive("shortcut", payload)

    def message_shortcut(
        self,
        callback_id: str,
        *,
        message_ts: str = "1700000000.000100",
        message: dict[str, Any] | None = None,
        user_id: str | None = None,
        user_name: str | None = None,
        channel_id: str | None = None,
        trigger_id: str | None = None,
        response_url: str | None = None,
    ) -> SlackRequest:
        """A message shortcut (``type: message_action``)."""
        cid = channel_id or self.channel_id
        held = self.bench.message(cid, message_ts) if self.bench is not None else None
        payload = {
            "type": "message_action",
            "token": self.verification_token,
            "action_ts": f"{time.time():.6f}",
            "team": self._team(),
            "user": {"id": user_id or self.user_id, "name": user_name or self.user_name},
            "channel": {"id": cid, "name": self.channel_name},
            "callback_id": callback_id,
            "trigger_id": trigger_id or self.new_trigger_id(),
            "message_ts": message_ts,
            "message": message or held or {"type": "message", "ts": message_ts, "text": "", "user": self.user_id},
            "response_url": response_url or self.new_response_url("app"),
        }
        return self._interactive("message_action", payload)
