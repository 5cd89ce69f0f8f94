"""The pretend workspace behind the Slack Web API stand-in: users, channels, user groups, messages, views and
trigger ids, and the look-ups Slack's methods share (which channel a reference names, who is in it)."""

from __future__ import annotations

import copy
import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .records import SlackApiFailure


@dataclass
class User:
    id: str
    name: str
    real_name: str
    tz: str = "UTC"
    tz_label: str | None = None
    tz_offset: int | None = None
    locale: str = "en-US"
    is_bot: bool = False
    deleted: bool = False
    email: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self, team_id: str, *, include_locale: bool) -> dict[str, Any]:
        now = datetime.now(ZoneInfo(self.tz))
        offset = self.tz_offset if self.tz_offset is not None else int(now.utcoffset().total_seconds())  # type: ignore[union-attr]
        data: dict[str, Any] = {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "deleted": self.deleted,
            "color": "9f69e7",
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": self.tz_label or now.tzname() or self.tz,
            "tz_offset": offset,
            "profile": {
                "real_name": self.real_name,
                "real_name_normalized": self.real_name,
                "display_name": self.name,
                "display_name_normalized": self.name,
                "email": self.email or f"{self.name}@example.com",
                "team": team_id,
                "image_72": "https://example.com/avatar_72.png",
            },
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1502138686,
            "has_2fa": False,
        }
        if include_locale:
            data["locale"] = self.locale
        data.update(copy.deepcopy(self.extra))
        return data


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_member: bool = True  # is the bot in it
    is_archived: bool = False
    members: list[str] | None = None  # None: every user the bench knows
    topic: str = ""
    purpose: str = ""
    is_im: bool = False
    user: str | None = None  # the other party of a DM

    def to_json(self, *, num_members: int | None = None) -> dict[str, Any]:
        if self.is_im:
            return {
                "id": self.id,
                "is_im": True,
                "user": self.user,
                "created": 1449252889,
                "is_org_shared": False,
            }
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "created": 1449252889,
            "creator": "W012A3BCD",
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": self.name == "general",
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
            "is_member": self.is_member,
            "unlinked": 0,
            "pending_shared": [],
            "previous_names": [],
            "topic": {"value": self.topic, "creator": "", "last_set": 0},
            "purpose": {"value": self.purpose, "creator": "", "last_set": 0},
        }
        if num_members is not None:
            data["num_members"] = num_members
        return data


@dataclass
class Trigger:
    issued_at: float
    lifetime: float
    view_id: str | None
    used: bool = False


class Workspace:
    """The workspace part of ``SlackWebApiStub`` (a mixin: the stub's ``__init__`` sets these attributes)."""

    team_id: str
    bot_user_id: str
    trigger_lifetime: float
    users: dict[str, User]
    usergroups: dict[str, list[str]]
    channels: dict[str, Channel]
    messages: dict[tuple[str, str], dict[str, Any]]
    _lock: threading.RLock
    _triggers: dict[str, Trigger]
    wall_clock_ts: bool
    threads_before_start: bool
    _ts_counter: itertools.count[int]
    _id_counter: itertools.count[int]
    _last_micros: int
    _started_micros: int

    # -- setup

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        tz: str = "UTC",
        tz_label: str | None = None,
        tz_offset: int | None = None,
        locale: str = "en-US",
        is_bot: bool = False,
        deleted: bool = False,
        email: str | None = None,
        **extra: Any,
    ) -> User:
        """Make ``users.info`` know ``user_id``; ``tz_offset``/``tz_label`` follow ``tz`` as of now."""
        ZoneInfo(tz)  # fail early on a typo
        name = name or user_id.lower()
        user = User(user_id, name, real_name or name, tz, tz_label, tz_offset, locale, is_bot, deleted, email, extra)
        with self._lock:
            self.users[user_id] = user
        return user

    def add_usergroup(self, group_id: str, user_ids: list[str]) -> None:
        """``usergroups.users.list`` of ``group_id`` (``S…``) answers ``user_ids``."""
        with self._lock:
            self.usergroups[group_id] = list(user_ids)

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        is_member: bool = True,
        is_archived: bool = False,
        members: list[str] | None = None,
        topic: str = "",
        purpose: str = "",
    ) -> Channel:
        """A channel. ``is_member`` says whether the bot is in it: if not, posting answers ``not_in_channel``
        (public) or ``channel_not_found`` (private), as Slack does."""
        channel = Channel(channel_id, name, is_private, is_member, is_archived, members, topic, purpose)
        with self._lock:
            self.channels[channel_id] = channel
        return channel

    def issue_trigger_id(self, *, lifetime: float | None = None, view_id: str | None = None) -> str:
        """A trigger_id ``views.open``/``views.push`` accept once, within ``lifetime`` seconds (default
        ``trigger_lifetime``). ``view_id``: the modal the interaction came from (``views.push`` stacks on it).
        """
        n = next(self._id_counter)
        trigger_id = f"{1_000_000 + n}.{self.team_id.lstrip('T') or '111'}.{secrets.token_hex(16)}"
        with self._lock:
            self._triggers[trigger_id] = Trigger(
                time.monotonic(), self.trigger_lifetime if lifetime is None else lifetime, view_id
            )
        return trigger_id

    # -- look-ups

    def _next_ts(self) -> str:
        if self.wall_clock_ts:
            self._last_micros = max(time.time_ns() // 1000, self._last_micros + 1)
            seconds, micros = divmod(self._last_micros, 1_000_000)
            return f"{seconds}.{micros:06d}"
        micros = next(self._ts_counter) * 100
        return f"{1_700_000_000 + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _thread_exists(self, channel_id: str, thread_ts: str) -> bool:
        """The parent is held, or (``threads_before_start``) was posted before this stub started."""
        if (channel_id, thread_ts) in self.messages:
            return True
        if not (self.wall_clock_ts and self.threads_before_start):
            return False
        seconds, _, fraction = thread_ts.partition(".")
        if not (seconds.isdigit() and fraction.isdigit() and len(fraction) == 6):
            return False
        return int(seconds) * 1_000_000 + int(fraction) < self._started_micros

    def _resolve_channel(self, ref: Any) -> str:
        ref = str(ref or "")
        if not ref:
            raise SlackApiFailure("channel_not_found")
        if ref in self.channels:
            return ref
        if ref[0] in "UW" and ref in self.users:
            return self._open_dm(ref)
        name = ref.lstrip("#")
        for channel in self.channels.values():
            if channel.name == name and not channel.is_im:
                return channel.id
        raise SlackApiFailure("channel_not_found")

    def _open_dm(self, user_id: str) -> str:
        dm_id = "D" + user_id[1:]
        if dm_id not in self.channels:
            self.channels[dm_id] = Channel(dm_id, dm_id, is_private=True, is_im=True, user=user_id, members=[user_id])
        return dm_id

    def _postable_channel(self, ref: Any) -> Channel:
        channel = self.channels[self._resolve_channel(ref)]
        if channel.is_im:
            return channel
        if channel.is_archived:
            raise SlackApiFailure("is_archived")
        if not channel.is_member:
            raise SlackApiFailure("channel_not_found" if channel.is_private else "not_in_channel")
        return channel

    def _members(self, channel: Channel) -> list[str]:
        if channel.members is not None:
            members = list(channel.members)
        else:
            members = [u for u in self.users if u != self.bot_user_id]
        if channel.is_member and self.bot_user_id not in members:
            members.append(self.bot_user_id)
        return members

    def _visible_channel(self, ref: Any) -> Channel:
        channel = self.channels.get(str(ref or ""))
        if channel is None or (channel.is_private and not channel.is_member and not channel.is_im):
            raise SlackApiFailure("channel_not_found")
        return channel
