"""The Slack Web API methods the stand-in models (``auth.test``, ``chat.*``, ``reactions.add``, ``views.*``,
``users.info``, ``usergroups.users.list``, ``conversations.*``), answered with the shapes and errors Slack answers
with (modelled on ``/work/shared/reference/slack/payloads/web_api_responses/``)."""

from __future__ import annotations

import copy
import secrets
import time
from typing import Any

from .blockkit import block_kit_problems
from .records import TRUE_VALUES, RecordedCall, SlackApiFailure, paginate
from .workspace import Trigger, Workspace


class WebApiMethods(Workspace):
    """``_m_<method with dots as underscores>(call) -> answer``; a method raises ``SlackApiFailure`` to answer
    ``{"ok": false, "error": ...}``. A mixin of ``SlackWebApiStub``, which dispatches to these under its lock."""

    app_id: str
    bot_id: str
    bot_name: str
    team_name: str
    team_domain: str
    socket_mode_url: str
    ephemeral: list[dict[str, Any]]
    views: dict[str, dict[str, Any]]
    home_views: dict[str, dict[str, Any]]
    reject_invalid_blocks: bool
    _view_stacks: dict[str, list[str]]

    def _strict_blocks(self, payload: dict[str, Any], surface: str) -> None:
        if not self.reject_invalid_blocks:
            return
        problems = block_kit_problems(payload, surface=surface)
        if problems:
            if surface == "message":
                raise SlackApiFailure("invalid_blocks", errors=problems, response_metadata={"messages": problems})
            raise SlackApiFailure("invalid_arguments", response_metadata={"messages": problems})

    def _m_auth_test(self, call: RecordedCall) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _m_api_test(self, call: RecordedCall) -> dict[str, Any]:
        return {"ok": True, "args": {k: v for k, v in call.raw_body.items() if k != "token"}}

    def _m_apps_connections_open(self, call: RecordedCall) -> dict[str, Any]:
        return {"ok": True, "url": self.socket_mode_url}

    # -- chat
    @staticmethod
    def _require_content(body: dict[str, Any]) -> None:
        if not any(body.get(k) for k in ("text", "blocks", "attachments", "markdown_text")):
            raise SlackApiFailure("no_text")

    def _message_from(self, body: dict[str, Any], ts: str) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "text": body.get("text", ""),
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "ts": ts,
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata", "username", "icon_emoji", "icon_url"):
            if body.get(key) is not None:
                msg[key] = copy.deepcopy(body[key])
        return msg

    def _m_chat_postMessage(self, call: RecordedCall) -> dict[str, Any]:
        body = call.body
        channel = self._postable_channel(body.get("channel"))
        self._require_content(body)
        self._strict_blocks(body, "message")
        thread_ts = body.get("thread_ts")
        if thread_ts and not self._thread_exists(channel.id, str(thread_ts)):
            raise SlackApiFailure("thread_not_found")
        ts = self._next_ts()
        message = self._message_from(body, ts)
        self.messages[(channel.id, ts)] = message
        return {"ok": True, "channel": channel.id, "ts": ts, "message": copy.deepcopy(message)}

    def _m_chat_postEphemeral(self, call: RecordedCall) -> dict[str, Any]:
        body = call.body
        channel = self._postable_channel(body.get("channel"))
        user = str(body.get("user") or "")
        if user not in self.users:
            raise SlackApiFailure("user_not_found")
        if user not in self._members(channel):
            raise SlackApiFailure("user_not_in_channel")
        self._require_content(body)
        self._strict_blocks(body, "message")
        ts = self._next_ts()
        self.ephemeral.append({**self._message_from(body, ts), "channel": channel.id, "to_user": user})
        return {"ok": True, "message_ts": ts}

    def _existing_message(self, body: dict[str, Any]) -> tuple[str, str]:
        channel_id = self._resolve_channel(body.get("channel"))
        ts = str(body.get("ts") or "")
        if (channel_id, ts) not in self.messages:
            raise SlackApiFailure("message_not_found")
        return channel_id, ts

    def _m_chat_update(self, call: RecordedCall) -> dict[str, Any]:
        body = call.body
        channel_id, ts = self._existing_message(body)
        self._require_content(body)
        self._strict_blocks(body, "message")
        message = self.messages[(channel_id, ts)]
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in body:
                message[key] = copy.deepcopy(body[key])
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        answer_message = {k: copy.deepcopy(v) for k, v in message.items() if k in ("text", "blocks", "attachments")}
        answer_message["user"] = self.bot_user_id
        return {
            "ok": True,
            "channel": channel_id,
            "ts": ts,
            "text": message.get("text", ""),
            "message": answer_message,
        }

    def _m_chat_delete(self, call: RecordedCall) -> dict[str, Any]:
        channel_id, ts = self._existing_message(call.body)
        del self.messages[(channel_id, ts)]
        return {"ok": True, "channel": channel_id, "ts": ts}

    def _m_chat_getPermalink(self, call: RecordedCall) -> dict[str, Any]:
        channel_id, ts = self._existing_message(
            {"channel": call.body.get("channel"), "ts": call.body.get("message_ts")}
        )
        link = f"https://{self.team_domain}.slack.com/archives/{channel_id}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel_id, "permalink": link}

    def _m_reactions_add(self, call: RecordedCall) -> dict[str, Any]:
        channel_id, ts = self._existing_message({"channel": call.body.get("channel"), "ts": call.body.get("timestamp")})
        name = str(call.body.get("name") or "")
        if not name:
            raise SlackApiFailure("invalid_name")
        reactions = self.messages[(channel_id, ts)].setdefault("reactions", [])
        if any(r["name"] == name for r in reactions):
            raise SlackApiFailure("already_reacted")
        reactions.append({"name": name, "users": [self.bot_user_id], "count": 1})
        return {"ok": True}

    # -- views

    def _consume_trigger(self, trigger_id: Any) -> Trigger:
        trigger = self._triggers.get(str(trigger_id or ""))
        if trigger is None:
            raise SlackApiFailure("invalid_trigger_id")
        if trigger.used:
            raise SlackApiFailure("exchanged_trigger_id")
        if time.monotonic() - trigger.issued_at > trigger.lifetime:
            raise SlackApiFailure("expired_trigger_id")
        trigger.used = True
        return trigger

    def _view_arg(self, call: RecordedCall, surface: str) -> dict[str, Any]:
        view = call.body.get("view")
        if not isinstance(view, dict):
            raise SlackApiFailure("invalid_arguments", response_metadata={"messages": ["missing required field: view"]})
        if view.get("type") != surface:
            msg = f"invalid `type`: expected {surface}"
            raise SlackApiFailure("invalid_arguments", response_metadata={"messages": [msg]})
        if surface == "modal" and not isinstance(view.get("title"), dict):
            raise SlackApiFailure(
                "invalid_arguments", response_metadata={"messages": ["missing required field: title"]}
            )
        self._strict_blocks(view, surface)
        external_id = view.get("external_id")
        if call.method in ("views.open", "views.push") and external_id:
            if any(v.get("external_id") == external_id for v in self.views.values()):
                raise SlackApiFailure("duplicate_external_id")
        return view

    def _new_view_id(self) -> str:
        return f"V{0x0123ABC0 + next(self._id_counter):08X}"

    def _store_view(self, view: dict[str, Any], *, view_id: str, root_view_id: str, previous: str | None) -> dict:
        stored: dict[str, Any] = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type", "modal"),
            "blocks": copy.deepcopy(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": copy.deepcopy(view.get("title")),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": copy.deepcopy(view.get("close")),
            "submit": copy.deepcopy(view.get("submit")),
            "previous_view_id": previous,
            "root_view_id": root_view_id,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        for key, value in view.items():  # anything else submitted (e.g. submit_disabled) is echoed
            stored.setdefault(key, copy.deepcopy(value))
        self.views[view_id] = stored
        return copy.deepcopy(stored)

    def _m_views_open(self, call: RecordedCall) -> dict[str, Any]:
        view = self._view_arg(call, "modal")
        self._consume_trigger(call.body.get("trigger_id") or call.body.get("interactivity_pointer"))
        view_id = self._new_view_id()
        self._view_stacks[view_id] = [view_id]
        return {
            "ok": True,
            "view": self._store_view(view, view_id=view_id, root_view_id=view_id, previous=None),
        }

    def _m_views_push(self, call: RecordedCall) -> dict[str, Any]:
        view = self._view_arg(call, "modal")
        trigger = self._consume_trigger(call.body.get("trigger_id") or call.body.get("interactivity_pointer"))
        view_id = self._new_view_id()
        source = self.views.get(trigger.view_id or "")
        root = source["root_view_id"] if source else view_id
        stack = self._view_stacks.setdefault(root, [])
        if len(stack) >= 3:
            raise SlackApiFailure("push_limit_reached")
        previous = stack[-1] if stack else None
        stack.append(view_id)
        return {
            "ok": True,
            "view": self._store_view(view, view_id=view_id, root_view_id=root, previous=previous),
        }

    def _m_views_update(self, call: RecordedCall) -> dict[str, Any]:
        body = call.body
        view_id, external_id = body.get("view_id"), body.get("external_id")
        if not view_id and not external_id:
            msg = "either view_id or external_id is required"
            raise SlackApiFailure("invalid_arguments", response_metadata={"messages": [msg]})
        current = self.views.get(str(view_id)) if view_id else None
        if current is None and external_id:
            current = next((v for v in self.views.values() if v.get("external_id") == external_id), None)
        if current is None:
            raise SlackApiFailure("not_found")
        if body.get("hash") and body["hash"] != current["hash"]:
            raise SlackApiFailure("hash_conflict")
        view = self._view_arg(call, current["type"])
        if "external_id" not in view:  # an update without external_id keeps the one the view has
            view = {**view, "external_id": current.get("external_id", "")}
        return {
            "ok": True,
            "view": self._store_view(
                view,
                view_id=current["id"],
                root_view_id=current["root_view_id"],
                previous=current["previous_view_id"],
            ),
        }

    def _m_views_publish(self, call: RecordedCall) -> dict[str, Any]:
        user_id = str(call.body.get("user_id") or "")
        if user_id not in self.users:
            raise SlackApiFailure("invalid_arguments", response_metadata={"messages": ["invalid `user_id`"]})
        view = self._view_arg(call, "home")
        current = self.home_views.get(user_id)
        if call.body.get("hash") and current is not None and call.body["hash"] != current["hash"]:
            raise SlackApiFailure("hash_conflict")
        view_id = current["id"] if current else self._new_view_id()
        stored = self._store_view(view, view_id=view_id, root_view_id=view_id, previous=None)
        self.home_views[user_id] = stored
        return {"ok": True, "view": stored}

    # -- users, groups, conversations

    def _m_users_info(self, call: RecordedCall) -> dict[str, Any]:
        user = self.users.get(str(call.body.get("user") or ""))
        if user is None:
            raise SlackApiFailure("user_not_found")
        include_locale = call.body.get("include_locale") in TRUE_VALUES
        return {"ok": True, "user": user.to_json(self.team_id, include_locale=include_locale)}

    def _m_usergroups_users_list(self, call: RecordedCall) -> dict[str, Any]:
        group = str(call.body.get("usergroup") or "")
        if group not in self.usergroups:
            raise SlackApiFailure("no_such_subteam")
        return {"ok": True, "users": list(self.usergroups[group])}

    def _m_conversations_info(self, call: RecordedCall) -> dict[str, Any]:
        channel = self._visible_channel(call.body.get("channel"))
        num = len(self._members(channel)) if call.body.get("include_num_members") in TRUE_VALUES else None
        data = channel.to_json(num_members=num)
        if call.body.get("include_locale") in TRUE_VALUES:
            data["locale"] = "en-US"
        return {"ok": True, "channel": data}

    def _m_conversations_join(self, call: RecordedCall) -> dict[str, Any]:
        channel = self._visible_channel(call.body.get("channel"))
        if channel.is_private or channel.is_im:
            raise SlackApiFailure("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise SlackApiFailure("is_archived")
        answer: dict[str, Any] = {"ok": True}
        if channel.is_member:
            answer.update(warning="already_in_channel", response_metadata={"warnings": ["already_in_channel"]})
        channel.is_member = True
        answer["channel"] = channel.to_json()
        return answer

    def _m_conversations_open(self, call: RecordedCall) -> dict[str, Any]:
        users = [u for u in str(call.body.get("users") or "").split(",") if u]
        if not users:
            raise SlackApiFailure("users_list_not_supplied")
        if len(users) > 1:
            raise SlackApiFailure("method_not_supported_for_channel_type")
        if users[0] not in self.users:
            raise SlackApiFailure("user_not_found")
        return {"ok": True, "channel": {"id": self._open_dm(users[0])}}

    def _m_conversations_members(self, call: RecordedCall) -> dict[str, Any]:
        channel = self._visible_channel(call.body.get("channel"))
        page, cursor = paginate(self._members(channel), call.body)
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": cursor}}

    def _m_conversations_list(self, call: RecordedCall) -> dict[str, Any]:
        types = set(str(call.body.get("types") or "public_channel").split(","))
        exclude_archived = call.body.get("exclude_archived") in TRUE_VALUES
        selected = []
        for channel in self.channels.values():
            if channel.is_im:
                kind = "im"
            elif channel.is_private:
                kind = "private_channel"
                if not channel.is_member:
                    continue
            else:
                kind = "public_channel"
            if kind in types and not (exclude_archived and channel.is_archived):
                selected.append(channel.to_json(num_members=None if channel.is_im else len(self._members(channel))))
        page, cursor = paginate(selected, call.body)
        return {"ok": True, "channels": page, "response_metadata": {"next_cursor": cursor}}

    def _m_conversations_history(self, call: RecordedCall) -> dict[str, Any]:
        channel = self._visible_channel(call.body.get("channel"))
        if not channel.is_member and not channel.is_im:
            raise SlackApiFailure("not_in_channel")
        msgs = [m for (ch, _), m in sorted(self.messages.items(), reverse=True) if ch == channel.id]
        page, cursor = paginate([copy.deepcopy(m) for m in msgs], call.body)
        return {
            "ok": True,
            "messages": page,
            "has_more": bool(cursor),
            "pin_count": 0,
            "response_metadata": {"next_cursor": cursor},
        }
