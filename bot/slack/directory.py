"""The ``Directory`` port on Slack: who people are (zone and locale from ``users.info``) and user-group membership,
cached.

A person's zone decides what "tomorrow at 2am" means, so it comes from their Slack profile; when Slack cannot be
asked, ``DEFAULT_TIMEZONE`` is used and the preview shows which zone was assumed. Approvers may be named by
user-group (``S…``): membership is resolved through ``usergroups.users.list`` and cached for a few minutes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.ids import users_and_groups as split_users_and_groups
from bot.domain.people import Person

log = logging.getLogger("bot.people")

PERSON_TTL_SECONDS = 3600.0
GROUP_TTL_SECONDS = 300.0
FAILURE_TTL_SECONDS = 60.0
LOOKUP_TIMEOUT_SECONDS = 2.0


class SlackDirectory:
    """Cached lookups of people and user groups through the Web API (the ``Directory`` port)."""

    def __init__(self, client: AsyncWebClient, *, default_tz: str, group_ttl: float = GROUP_TTL_SECONDS) -> None:
        self._client = client
        self._default_tz = default_tz
        self._group_ttl = group_ttl
        self._people: dict[str, tuple[float, Person]] = {}
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._failed: dict[str, float] = {}  # user id -> when users.info last failed for them
        self._lookups: dict[str, asyncio.Future[Person]] = {}

    def forget(self) -> None:
        """Drop every cached answer and remembered failure (the next look-ups ask Slack again)."""
        self._people.clear()
        self._groups.clear()
        self._failed.clear()

    def cached_person(self, user_id: str) -> Person | None:
        entry = self._people.get(user_id)
        return entry[1] if entry and time.monotonic() - entry[0] < PERSON_TTL_SECONDS else None

    async def person(self, user_id: str, *, wait: float = LOOKUP_TIMEOUT_SECONDS) -> Person:
        """The person's zone and locale; the default zone (marked ``tz_from_profile=False``) if Slack fails.

        Cached for an hour. When Slack fails, a stale entry is used if there is one, and the failure itself is
        remembered for a minute, so a Slack outage or rate limit does not cost every command another wait; people
        looked up at the same moment share one call.
        """
        cached = self.cached_person(user_id)
        if cached is not None:
            return cached
        failed_at = self._failed.get(user_id)
        if failed_at is not None and time.monotonic() - failed_at < FAILURE_TTL_SECONDS:
            return self._fallback(user_id)
        pending = self._lookups.get(user_id)
        if pending is None:
            pending = asyncio.ensure_future(self._look_up(user_id, wait))
            self._lookups[user_id] = pending
            pending.add_done_callback(lambda _f: self._lookups.pop(user_id, None))
        return await asyncio.shield(pending)

    async def _look_up(self, user_id: str, wait: float) -> Person:
        try:
            response = await asyncio.wait_for(self._client.users_info(user=user_id, include_locale=True), timeout=wait)
            user = response.get("user") or {}
            tz = str(user.get("tz") or "")
            try:
                ZoneInfo(tz)
                from_profile = True
            except (ZoneInfoNotFoundError, ValueError):
                tz, from_profile = self._default_tz, False
            person = Person(
                user_id=user_id,
                tz=tz,
                locale=user.get("locale"),
                name=user.get("real_name") or user.get("name"),
                tz_from_profile=from_profile,
            )
        except Exception as exc:  # any Slack failure falls back to the default zone
            log.warning("users.info failed for a user (%s); using %s", type(exc).__name__, self._default_tz)
            self._failed[user_id] = time.monotonic()
            if len(self._failed) > 10_000:
                self._failed.clear()
            return self._fallback(user_id)
        self._people[user_id] = (time.monotonic(), person)
        self._failed.pop(user_id, None)
        return person

    def _fallback(self, user_id: str) -> Person:
        """What we knew before (however old), else the default zone."""
        entry = self._people.get(user_id)
        if entry is not None:
            return entry[1]
        return Person(user_id=user_id, tz=self._default_tz, tz_from_profile=False)

    async def group_members(self, group_id: str) -> frozenset[str]:
        """Members of a user group; an empty set (not an error) when Slack cannot tell."""
        members = await self.membership(group_id)
        return frozenset() if members is None else members

    async def membership(self, group_id: str) -> frozenset[str] | None:
        """Members of a user group, cached ``group_ttl`` seconds (``ACCESS_GROUP_CACHE_SECONDS``); when Slack
        cannot tell, the last answer however old (a Slack blip must not lock every approver out), else ``None``:
        unknown, which the access rules read as "fail closed"."""
        entry = self._groups.get(group_id)
        if entry and time.monotonic() - entry[0] < self._group_ttl:
            return entry[1]
        try:
            response = await asyncio.wait_for(
                self._client.usergroups_users_list(usergroup=group_id), timeout=LOOKUP_TIMEOUT_SECONDS
            )
            members = frozenset(str(u) for u in response.get("users") or [])
        except Exception as exc:
            log.warning("usergroups.users.list failed for %s (%s)", group_id, type(exc).__name__)
            return entry[1] if entry else None
        self._groups[group_id] = (time.monotonic(), members)
        return members

    async def is_approver(self, user_id: str, approvers: list[str]) -> bool:
        """One of ``approvers`` (APPROVERS): a person's id — never a group's, however a payload is crafted — that
        is listed or in a listed group."""
        users, _groups = split_users_and_groups([user_id])
        return bool(users) and await self.is_member(user_id, approvers)

    async def is_member(self, user_id: str, users_and_groups: list[str]) -> bool:
        """Is ``user_id`` one of the listed users, or in one of the listed groups?"""
        users, groups = split_users_and_groups(users_and_groups)
        if user_id in users:
            return True
        for group in groups:
            if user_id in await self.group_members(group):
                return True
        return False
