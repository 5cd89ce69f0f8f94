"""Requests as Slack sends them to the bot's ``/slack/events``: realistic payloads, signed with the signing
secret.

``SlackPayloadFactory`` builds bodies modelled on Slack's own samples
(``/work/shared/reference/slack/payloads/``): slash commands as form fields, interactivity as a form field
``payload=<json>``, Events API as a JSON body. ``SlackRequestSender`` (a factory too) signs them with
``slack_sdk.signature.SignatureVerifier`` and POSTs them with httpx, sync or async; it can also send them
wrongly on purpose: bad or missing signature, stale timestamp, a replay of an earlier request, Slack's retry
headers.

Given a ``bench``, ``trigger_id`` and ``response_url`` default to ones the bench issued, so ``views.open``
works and ``respond()`` lands in the bench's response_url sink.
"""

from __future__ import annotations

import copy
import itertools
import json
import secrets
import ssl
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypedDict, Unpack
from urllib.parse import urlencode, urlparse

import httpx
from slack_sdk.signature import SignatureVerifier

if TYPE_CHECKING:
    from .webapi import SlackWebApiStub

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
STALE_SECONDS = 6 * 60  # Slack's (and bolt's) window is 5 minutes
SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
INTERACTIVE_KINDS = frozenset(
    {"block_actions", "view_submission", "view_closed", "shortcut", "message_action", "block_suggestion"}
)
Signature = Literal["valid", "bad", "missing"]


@dataclass(frozen=True)
class SlackRequest:
    """A body ready to POST: ``kind`` (``slash_command``, ``block_actions``, ``event_callback`` ...), the
    exact bytes, their content type, and ``payload`` (the form fields / the interactivity payload / the event
    JSON).
    """

    kind: str
    body: bytes
    content_type: str
    payload: dict[str, Any]

    @property
    def response_url(self) -> str | None:
        return self.payload.get("response_url")

    @property
    def trigger_id(self) -> str | None:
        return self.payload.get("trigger_id")

    @property
    def response_key(self) -> str | None:
        """The bench sink key of ``response_url`` (for ``bench.responses_for``), if it is a bench URL."""
        url = self.response_url
        return url.rstrip("/").rsplit("/response/", 1)[-1] if url and "/response/" in url else None


_counter = itertools.count(1)


class SlackPayloadFactory:
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

    # -- Events API

    def event_callback(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        event_time: int | None = None,
        authed_users: list[str] | None = None,
    ) -> SlackRequest:
        """``event`` wrapped as Slack's Events API sends it (JSON body)."""
        bot_user = self.bench.bot_user_id if self.bench else "U0BOT111"
        payload = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "enterprise_id": self.enterprise_id,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
            "event_time": event_time or int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": self.enterprise_id,
                    "team_id": self.team_id,
                    "user_id": bot_user,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "authed_users": authed_users or [bot_user],
        }
        return SlackRequest("event_callback", json.dumps(payload, separators=(",", ":")).encode(), JSON, payload)

    def app_mention(
        self, text: str, *, user_id: str | None = None, channel_id: str | None = None, ts: str | None = None
    ) -> SlackRequest:
        ts = ts or f"{time.time():.6f}"
        event = {
            "type": "app_mention",
            "user": user_id or self.user_id,
            "text": text,
            "ts": ts,
            "channel": channel_id or self.channel_id,
            "event_ts": ts,
        }
        return self.event_callback(event)

    def url_verification(self, challenge: str = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P") -> SlackRequest:
        payload = {"token": self.verification_token, "challenge": challenge, "type": "url_verification"}
        return SlackRequest("url_verification", json.dumps(payload).encode(), JSON, payload)

    # -- Socket Mode

    @staticmethod
    def socket_mode_envelope(request: SlackRequest) -> dict[str, Any]:
        """The request as a Socket Mode envelope (``slash_commands`` / ``interactive`` / ``events_api``)."""
        if request.kind == "slash_command":
            kind, accepts = "slash_commands", True
        elif request.kind in INTERACTIVE_KINDS:
            kind, accepts = "interactive", True
        else:
            kind, accepts = "events_api", False
        envelope: dict[str, Any] = {
            "envelope_id": str(uuid.uuid4()),
            "payload": request.payload,
            "type": kind,
            "accepts_response_payload": accepts,
        }
        if kind == "events_api":
            envelope["retry_attempt"] = 0
            envelope["retry_reason"] = ""
        return envelope


def text_value(value: str | None, *, element_type: str = "plain_text_input") -> dict[str, Any]:
    """A ``state.values[block_id][action_id]`` entry of a text input."""
    return {"type": element_type, "value": value}


def select_value(value: str | None, text: str | None = None, *, element_type: str = "static_select") -> dict:
    """A ``state.values`` entry of a single select (``None``: nothing selected)."""
    option = None if value is None else {"text": {"type": "plain_text", "text": text or value}, "value": value}
    return {"type": element_type, "selected_option": option}


class SendOptions(TypedDict, total=False):
    """How ``send`` signs and dates a request (the keyword arguments of ``headers_for``)."""

    signature: Signature
    timestamp: int | None
    stale: bool
    retry_num: int | None
    retry_reason: str | None
    headers: dict[str, str] | None


class SlackRequestSender(SlackPayloadFactory):
    """Signs and POSTs ``SlackRequest``s to the bot, like Slack does. ``bot_url`` is the bot's base URL
    (``path`` is appended) or the full events URL."""

    def __init__(
        self,
        bot_url: str,
        signing_secret: str,
        *,
        bench: SlackWebApiStub | None = None,
        path: str = "/slack/events",
        timeout: float = 10.0,
        **factory_defaults: Any,
    ) -> None:
        super().__init__(bench=bench, **factory_defaults)
        self.url = bot_url if urlparse(bot_url).path not in ("", "/") else bot_url.rstrip("/") + path
        self.signing_secret = signing_secret
        self.timeout = timeout
        self.last_sent: tuple[bytes, dict[str, str]] | None = None

    def sign(self, body: bytes, *, timestamp: int | None = None, secret: str | None = None) -> dict[str, str]:
        """``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` for ``body``."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = SignatureVerifier(secret or self.signing_secret).generate_signature(timestamp=ts, body=body)
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature or ""}

    def headers_for(
        self,
        request: SlackRequest,
        *,
        signature: Signature = "valid",
        timestamp: int | None = None,
        stale: bool = False,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, str]:
        if timestamp is None:
            timestamp = int(time.time()) - (STALE_SECONDS if stale else 0)
        out = {"Content-Type": request.content_type, "User-Agent": SLACK_USER_AGENT}
        if signature == "valid":
            out.update(self.sign(request.body, timestamp=timestamp))
        elif signature == "bad":
            out.update(self.sign(request.body, timestamp=timestamp, secret=self.signing_secret + "-wrong"))
        elif signature == "missing":
            out["X-Slack-Request-Timestamp"] = str(timestamp)
        else:
            raise ValueError(f"signature must be 'valid', 'bad' or 'missing', not {signature!r}")
        if retry_num is not None:
            out["X-Slack-Retry-Num"] = str(retry_num)
            out["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        out.update(headers or {})
        return out

    def send(self, request: SlackRequest, **options: Unpack[SendOptions]) -> httpx.Response:
        """POST ``request`` to the bot (sync), signed as ``headers_for`` says: ``stale`` dates it 6 minutes back,
        ``retry_num``/``retry_reason`` add Slack's retry headers, ``signature`` can be ``"bad"``/``"missing"``."""
        return self._post(request.body, self.headers_for(request, **options))

    async def send_async(self, request: SlackRequest, **options: Unpack[SendOptions]) -> httpx.Response:
        """``send`` with ``httpx.AsyncClient``."""
        return await self._post_async(request.body, self.headers_for(request, **options))

    def replay(
        self, previous: httpx.Response | None = None, *, extra_headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """Send the exact bytes and headers (same timestamp and signature) of ``previous`` (default: the last
        request sent) again, as an attacker replaying a captured request would."""
        body, hdrs = self._previous(previous)
        return self._post(body, {**hdrs, **(extra_headers or {})})

    async def replay_async(
        self, previous: httpx.Response | None = None, *, extra_headers: dict[str, str] | None = None
    ) -> httpx.Response:
        body, hdrs = self._previous(previous)
        return await self._post_async(body, {**hdrs, **(extra_headers or {})})

    def _previous(self, previous: httpx.Response | None) -> tuple[bytes, dict[str, str]]:
        if previous is not None:
            req = previous.request
            keep = ("content-type", "user-agent", "x-slack-request-timestamp", "x-slack-signature")
            return req.content, {k: v for k, v in req.headers.items() if k.lower() in keep}
        if self.last_sent is None:
            raise RuntimeError("nothing sent yet to replay")
        return self.last_sent

    def _post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        self.last_sent = (body, dict(headers))
        with httpx.Client(timeout=self.timeout, verify=_TLS) as client:
            return client.post(self.url, content=body, headers=headers)

    async def _post_async(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        self.last_sent = (body, dict(headers))
        async with httpx.AsyncClient(timeout=self.timeout, verify=_TLS) as client:
            return await client.post(self.url, content=body, headers=headers)


# One TLS context for every client: building one per request (httpx's default) costs ~40 ms of CPU, which would
# show up as bot latency in tests and benchmarks.
_TLS = ssl.create_default_context()
