"""Events API bodies (``event_callback``, ``app_mention``, ``url_verification``) and Socket Mode envelopes: the
part of ``SlackPayloadFactory`` that is not a slash command or an interaction."""

from __future__ import annotations

import copy
import json
import secrets
import time
import uuid
from typing import TYPE_CHECKING, Any

from .request import INTERACTIVE_KINDS, JSON, SlackRequest

if TYPE_CHECKING:
    from .webapi import SlackWebApiStub


class EventPayloads:
    """A mixin of ``SlackPayloadFactory`` (which sets these attributes)."""

    bench: SlackWebApiStub | None
    verification_token: str
    team_id: str
    enterprise_id: str | None
    api_app_id: str
    user_id: str
    channel_id: str

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

    def app_home_opened(
        self, *, user_id: str | None = None, tab: str = "home", view: dict[str, Any] | None = None
    ) -> SlackRequest:
        """The person opened the app's Home (or Messages) tab. As Slack does, the event carries the Home view the
        person is shown (with its ``hash``) once one was published: ``view``, else the one the bench holds."""
        uid = user_id or self.user_id
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": uid,
            "channel": f"D{uid[1:]}"[:20],
            "tab": tab,
            "event_ts": f"{time.time():.6f}",
        }
        held = view if view is not None else (self.bench.home_views.get(uid) if self.bench is not None else None)
        if held is not None:
            event["view"] = copy.deepcopy(held)
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
