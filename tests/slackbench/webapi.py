"""A local stand-in of the Slack Web API, as an ASGI app the real ``slack_sdk`` clients talk to.

Give ``AsyncWebClient(token=..., base_url=f"{server.url}/api/")`` and every call lands here: it is parsed
(JSON or form body, query string, ``Authorization: Bearer``), recorded, checked against Block Kit limits, and
answered with the shapes Slack answers with (modelled on
``/work/shared/reference/slack/payloads/web_api_responses/``), including Slack's errors (``invalid_auth``,
``channel_not_found``, ``not_in_channel``, ``message_not_found``, ``expired_trigger_id`` ...). Faults (429 +
``Retry-After``, 5xx, ``{"ok": false, "error": X}``, latency) can be injected per method or globally.
``/response/<key>`` is a sink for ``response_url`` POSTs.

The app is served by uvicorn in another thread (see ``tests/support/servers.py``), so all state sits behind
one lock and the ``wait_for*`` helpers poll.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import functools
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .blockkit import block_kit_problems

JSON_FIELDS = frozenset(
    {"blocks", "attachments", "view", "metadata", "unfurls", "user_auth_blocks", "options", "option_groups"}
)
MESSAGE_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.update", "chat.scheduleMessage"})
VIEW_METHODS = frozenset({"views.open", "views.push", "views.update", "views.publish"})
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
RESPONSE_URL = "response_url"  # pseudo-method name: faults and violations on the response_url sink
_TRUE = {"1", "true", "True", True}


# ----------------------------------------------------------------------------------------------------
# Records


@dataclass
class RecordedCall:
    """One Web API call as the stub received and answered it."""

    method: str  # "chat.postMessage"
    body: dict[str, Any]  # query + body fields; JSON-in-form fields (blocks, view, ...) decoded to objects
    raw_body: dict[str, Any]  # the same fields exactly as received (form values are strings)
    raw_bytes: bytes
    content_type: str  # "json" | "form" | "none" | the header value if something else
    http_method: str  # "GET" | "POST"
    headers: dict[str, str]  # plain dict, lower-case names
    token: str | None  # from Authorization: Bearer, else the `token` field
    at: float  # time.time() on arrival
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    fault: str | None = None  # which injected fault answered, if any

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))

    def __getitem__(self, key: str) -> Any:
        return self.body[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default)


@dataclass
class RecordedResponse:
    """One POST to a ``response_url`` issued by the bench."""

    key: str
    body: dict[str, Any]
    raw_bytes: bytes
    headers: dict[str, str]
    at: float
    status: int = 200
    peer: tuple[str, int] | None = None  # the sender's address: one port for many answers = a kept-alive connection

    def __getitem__(self, key: str) -> Any:
        return self.body[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default)


@dataclass(frozen=True)
class BlockKitViolation:
    source: str  # Web API method or "response_url:<key>"
    surface: str
    problem: str

    def __str__(self) -> str:
        return f"{self.source} ({self.surface}): {self.problem}"


# ----------------------------------------------------------------------------------------------------
# Workspace model


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
class _Trigger:
    issued_at: float
    lifetime: float
    view_id: str | None
    used: bool = False


@dataclass
class Fault:
    """An injected misbehaviour. ``times=None`` means until cleared."""

    method: str | None  # None: every method (and the response_url sink)
    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # latency before the answer; a pure-latency fault has body None and status 200
    times: int | None = 1
    label: str = ""

    def matches(self, method: str) -> bool:
        return self.method is None or self.method == method

    @property
    def is_latency_only(self) -> bool:
        return self.body is None and self.status == 200


class SlackApiFailure(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.payload = {"ok": False, "error": error, **extra}


# ----------------------------------------------------------------------------------------------------
# The stub


T = TypeVar("T")


def _response_timeout(key: str, count: int, timeout: float) -> Callable[[int], str]:
    return lambda got: f"{got}/{count} POSTs to response_url {key!r} after {timeout}s"


def _wait(find: Callable[[], list[T]], count: int, timeout: float, failure: Callable[[int], str]) -> list[T]:
    """Poll ``find()`` until it returns ``count`` items; ``AssertionError(failure(got))`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while len(found := find()) < count:
        if time.monotonic() >= deadline:
            raise AssertionError(failure(len(found)))
        time.sleep(0.01)
    return found


async def _wait_async(
    find: Callable[[], list[T]],
    count: int,
    timeout: float,  # noqa: ASYNC109 - a deadline for polling, not for one call
    failure: Callable[[int], str],
) -> list[T]:
    """``_wait`` without blocking the event loop."""
    deadline = time.monotonic() + timeout
    while len(found := find()) < count:
        if time.monotonic() >= deadline:
            raise AssertionError(failure(len(found)))
        await asyncio.sleep(0.01)
    return found


class SlackWebApiStub:
    """The Slack Web API stand-in. ``.app`` is the ASGI app; everything else is test-side inspection and
    setup."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-111-222-bench",  # noqa: S107 - a test token
        app_token: str = "xapp-1-A111-111-bench",  # noqa: S107 - a test token
        valid_tokens: set[str] | None = None,
        team_id: str = "T111",
        team_name: str = "Headless Bench",
        team_domain: str = "headless-bench",
        enterprise_id: str | None = None,
        app_id: str = "A111",
        bot_id: str = "B111",
        bot_user_id: str = "U0BOT111",
        bot_name: str = "headless",
        trigger_lifetime: float = 3.0,
        reject_invalid_blocks: bool = False,
        socket_mode_url: str | None = None,
        public_url: str | None = None,
        default_workspace: bool = True,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.valid_tokens: set[str] = set(valid_tokens) if valid_tokens is not None else {bot_token}
        self.app_tokens: set[str] = {app_token}
        self.team_id, self.team_name, self.team_domain = team_id, team_name, team_domain
        self.enterprise_id = enterprise_id
        self.app_id, self.bot_id, self.bot_user_id, self.bot_name = app_id, bot_id, bot_user_id, bot_name
        self.trigger_lifetime = trigger_lifetime
        self.reject_invalid_blocks = reject_invalid_blocks
        self.socket_mode_url = socket_mode_url or (
            f"wss://wss-primary.slack.com/link/?ticket={secrets.token_hex(8)}&app_id={app_id}"
        )
        self.public_url = public_url  # where the stub is served (no trailing slash); needed for response_url()

        self._lock = threading.RLock()
        self._calls: list[RecordedCall] = []
        self._responses: list[RecordedResponse] = []
        self._violations: list[BlockKitViolation] = []
        self._faults: list[Fault] = []
        self._handlers: dict[str, Callable[[RecordedCall], dict[str, Any]] | dict[str, Any]] = {}
        self.users: dict[str, User] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.channels: dict[str, Channel] = {}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) -> message
        self.ephemeral: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}  # view id -> view as last answered
        self.home_views: dict[str, dict[str, Any]] = {}  # user id -> published home view
        self._view_stacks: dict[str, list[str]] = {}  # root view id -> stack of view ids
        self._triggers: dict[str, _Trigger] = {}
        self._ts_counter = itertools.count(1)
        self._id_counter = itertools.count(1)

        if default_workspace:
            self.add_user(bot_user_id, name=bot_name, real_name="Headless Bot", is_bot=True)
            self.add_user("W111", name="primary-owner", real_name="Primary Owner", tz="America/Los_Angeles")
            self.add_channel("C111", "general")

        self.app = Starlette(
            routes=[
                Route("/api/{method:str}", self._api_endpoint, methods=["GET", "POST"]),
                Route("/response/{key:str}", self._response_endpoint, methods=["POST"]),
            ]
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

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
            self._triggers[trigger_id] = _Trigger(
                time.monotonic(), self.trigger_lifetime if lifetime is None else lifetime, view_id
            )
        return trigger_id

    def response_url(self, key: str | None = None) -> str:
        """A URL on this server whose POSTs are recorded under ``key`` (a fresh key when None)."""
        if self.public_url is None:
            raise RuntimeError("the stub is not served yet (public_url unknown); use SlackBench or set public_url")
        key = key or f"r{next(self._id_counter)}{secrets.token_hex(4)}"
        return f"{self.public_url}/response/{key}"

    def respond_with(self, method: str, answer: dict[str, Any] | Callable[[RecordedCall], dict[str, Any]]) -> None:
        """Answer ``method`` with a fixed dict or ``answer(call) -> dict``: for methods the stub does not
        model, or to override one. The call is still recorded."""
        with self._lock:
            self._handlers[method] = answer

    # -- faults

    def inject(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def rate_limit(self, method: str | None = None, *, retry_after: int = 1, times: int | None = 1) -> Fault:
        """HTTP 429 ``{"ok": false, "error": "ratelimited"}`` with ``Retry-After: retry_after``."""
        return self.inject(
            Fault(
                method,
                status=429,
                body={"ok": False, "error": "ratelimited"},
                headers={"Retry-After": str(retry_after)},
                times=times,
                label="rate_limited",
            )
        )

    def server_error(self, method: str | None = None, *, status: int = 500, times: int | None = 1) -> Fault:
        """HTTP ``status`` (5xx) with ``{"ok": false, "error": "fatal_error"}``."""
        return self.inject(
            Fault(
                method,
                status=status,
                body={"ok": False, "error": "fatal_error"},
                times=times,
                label=f"http_{status}",
            )
        )

    def fail_with(self, error: str, method: str | None = None, *, times: int | None = 1, **extra: Any) -> Fault:
        """HTTP 200 ``{"ok": false, "error": error, **extra}`` (``invalid_auth``, ``not_in_channel``)."""
        body = {"ok": False, "error": error, **extra}
        return self.inject(Fault(method, status=200, body=body, times=times, label=error))

    def add_latency(self, seconds: float, method: str | None = None, *, times: int | None = None) -> Fault:
        """Delay answers by ``seconds`` (the call still takes effect on arrival, like a slow return path)."""
        return self.inject(Fault(method, delay=seconds, times=times, label=f"latency_{seconds}"))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_faults(self, method: str) -> tuple[float, Fault | None]:
        delay, answer = 0.0, None
        with self._lock:
            for fault in list(self._faults):
                if not fault.matches(method):
                    continue
                if fault.is_latency_only:
                    delay += fault.delay
                elif answer is None:
                    answer = fault
                    delay += fault.delay
                else:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
        return delay, answer

    # -- inspection

    @property
    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._calls)

    @property
    def violations(self) -> list[BlockKitViolation]:
        with self._lock:
            return list(self._violations)

    @property
    def responses(self) -> list[RecordedResponse]:
        with self._lock:
            return list(self._responses)

    def calls_to(self, method: str) -> list[RecordedCall]:
        with self._lock:
            return [c for c in self._calls if c.method == method]

    def last(self, method: str) -> RecordedCall:
        """The latest call to ``method``; AssertionError (listing what was called) if none."""
        found = self.calls_to(method)
        if not found:
            raise AssertionError(f"no call to {method}; calls so far: {[c.method for c in self.calls]}")
        return found[-1]

    def responses_for(self, key: str) -> list[RecordedResponse]:
        key = self._key(key)
        with self._lock:
            return [r for r in self._responses if r.key == key]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The message as it stands now (after chat.update), or None if never posted / deleted."""
        with self._lock:
            msg = self.messages.get((channel, ts))
            return copy.deepcopy(msg) if msg is not None else None

    def messages_in(self, channel: str) -> list[dict[str, Any]]:
        """Messages currently in ``channel``, oldest first."""
        with self._lock:
            return [copy.deepcopy(m) for (ch, _), m in sorted(self.messages.items()) if ch == channel]

    def clear(self) -> None:
        """Forget recorded calls, response_url posts and violations (the workspace state stays)."""
        with self._lock:
            self._calls.clear()
            self._responses.clear()
            self._violations.clear()

    def reset(self) -> None:
        """``clear()`` plus faults, custom answers, messages, views and trigger ids."""
        with self._lock:
            self.clear()
            self._faults.clear()
            self._handlers.clear()
            self.messages.clear()
            self.ephemeral.clear()
            self.views.clear()
            self.home_views.clear()
            self._view_stacks.clear()
            self._triggers.clear()

    def assert_no_violations(self) -> None:
        found = self.violations
        if found:
            lines = "\n  ".join(str(v) for v in found)
            raise AssertionError(f"{len(found)} Block Kit violation(s) reached the Slack stub:\n  {lines}")

    def wait_for(self, method: str | None, count: int = 1, timeout: float = 5.0) -> list[RecordedCall]:
        """Block until ``count`` calls to ``method`` (any method when None) arrived; return them all."""
        return _wait(lambda: self._matching(method), count, timeout, self._timeout_message(method, count, timeout))

    async def wait_for_async(
        self,
        method: str | None,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - same API as wait_for
    ) -> list[RecordedCall]:
        """``wait_for`` for async tests (does not block the event loop)."""
        found = functools.partial(self._matching, method)
        return await _wait_async(found, count, timeout, self._timeout_message(method, count, timeout))

    def wait_for_response(self, key: str, count: int = 1, timeout: float = 5.0) -> list[RecordedResponse]:
        return _wait(lambda: self.responses_for(key), count, timeout, _response_timeout(key, count, timeout))

    async def wait_for_response_async(
        self,
        key: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - same API as wait_for
    ) -> list[RecordedResponse]:
        found = functools.partial(self.responses_for, key)
        return await _wait_async(found, count, timeout, _response_timeout(key, count, timeout))

    def _matching(self, method: str | None) -> list[RecordedCall]:
        return self.calls if method is None else self.calls_to(method)

    def _timeout_message(self, method: str | None, count: int, timeout: float) -> Callable[[int], str]:
        return lambda got: (
            f"waited {timeout}s for {count} call(s) to {method or 'any method'}, got {got}; "
            f"calls so far: {[c.method for c in self.calls]}"
        )

    @staticmethod
    def _key(key_or_url: str) -> str:
        return key_or_url.rstrip("/").rsplit("/response/", 1)[-1]

    # -- HTTP

    async def _api_endpoint(self, request: Request) -> Response:
        method = request.path_params["method"]
        raw = await request.body()
        ctype_header = request.headers.get("content-type", "")
        query = dict(request.query_params)
        invalid_json = False
        if not raw:
            ctype, raw_fields = "none", {}
        elif "application/json" in ctype_header:
            ctype = "json"
            try:
                raw_fields = json.loads(raw)
                if not isinstance(raw_fields, dict):
                    raw_fields, invalid_json = {}, True
            except ValueError:
                raw_fields, invalid_json = {}, True
        elif "application/x-www-form-urlencoded" in ctype_header or not ctype_header:
            ctype, raw_fields = (
                "form",
                dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)),
            )
        else:
            ctype, raw_fields = ctype_header, {}
        merged = {**query, **raw_fields}
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else merged.get("token")
        call = RecordedCall(
            method=method,
            body=_decode_json_fields(merged),
            raw_body=merged,
            raw_bytes=raw,
            content_type=ctype,
            http_method=request.method,
            headers=dict(request.headers.items()),
            token=token,
            at=time.time(),
        )
        delay, fault = self._take_faults(method)
        headers: dict[str, str] = {}
        with self._lock:
            self._check_block_kit(call)
            if fault is not None:
                call.status, call.response, call.fault = fault.status, dict(fault.body or {}), fault.label
                headers = dict(fault.headers)
            elif invalid_json:
                call.response = {"ok": False, "error": "invalid_json"}
            else:
                try:
                    call.response = self._dispatch(call)
                except SlackApiFailure as failure:
                    call.response = failure.payload
            self._calls.append(call)
        if delay:
            await asyncio.sleep(delay)
        return JSONResponse(call.response, status_code=call.status, headers=headers)

    async def _response_endpoint(self, request: Request) -> Response:
        key = request.path_params["key"]
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = _decode_json_fields(dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)))
        if not isinstance(body, dict):
            body = {"_": body}
        peer = (request.client.host, request.client.port) if request.client else None
        record = RecordedResponse(key, body, raw, dict(request.headers.items()), time.time(), peer=peer)
        delay, fault = self._take_faults(RESPONSE_URL)
        answer: dict[str, Any] = {"ok": True}
        headers: dict[str, str] = {}
        with self._lock:
            if not body.get("delete_original"):
                for problem in block_kit_problems(body, surface="message"):
                    self._violations.append(BlockKitViolation(f"response_url:{key}", "message", problem))
            if fault is not None:
                record.status, answer, headers = fault.status, dict(fault.body or {}), dict(fault.headers)
            self._responses.append(record)
        if delay:
            await asyncio.sleep(delay)
        return JSONResponse(answer, status_code=record.status, headers=headers)

    # -- checks

    def _check_block_kit(self, call: RecordedCall) -> None:
        surface, payload = None, None
        if call.method in MESSAGE_METHODS:
            surface, payload = "message", call.body
        elif call.method in VIEW_METHODS and isinstance(call.body.get("view"), dict):
            payload = call.body["view"]
            surface = "home" if call.method == "views.publish" or payload.get("type") == "home" else "modal"
        if surface is None or payload is None:
            return
        for problem in block_kit_problems(payload, surface=surface):
            self._violations.append(BlockKitViolation(call.method, surface, problem))

    def _strict_blocks(self, payload: dict[str, Any], surface: str) -> None:
        if not self.reject_invalid_blocks:
            return
        problems = block_kit_problems(payload, surface=surface)
        if problems:
            if surface == "message":
                raise SlackApiFailure("invalid_blocks", errors=problems, response_metadata={"messages": problems})
            raise SlackApiFailure("invalid_arguments", response_metadata={"messages": problems})

    # -- methods

    def _dispatch(self, call: RecordedCall) -> dict[str, Any]:
        token = call.token
        if not token:
            raise SlackApiFailure("not_authed")
        if call.method in APP_TOKEN_METHODS:
            if token in self.app_tokens:
                return self._handle(call)
            raise SlackApiFailure("not_allowed_token_type" if token in self.valid_tokens else "invalid_auth")
        if token in self.app_tokens:
            raise SlackApiFailure("not_allowed_token_type")
        if token not in self.valid_tokens:
            raise SlackApiFailure("invalid_auth")
        return self._handle(call)

    def _handle(self, call: RecordedCall) -> dict[str, Any]:
        custom = self._handlers.get(call.method)
        if custom is not None:
            return copy.deepcopy(custom) if isinstance(custom, dict) else custom(call)
        handler = getattr(self, "_m_" + call.method.replace(".", "_"), None)
        if handler is None:
            raise SlackApiFailure("unknown_method")
        return handler(call)

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

    def _next_ts(self) -> str:
        micros = next(self._ts_counter) * 100
        return f"{1_700_000_000 + micros // 1_000_000}.{micros % 1_000_000:06d}"

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
        if thread_ts and (channel.id, str(thread_ts)) not in self.messages:
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

    def _consume_trigger(self, trigger_id: Any) -> _Trigger:
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
        include_locale = call.body.get("include_locale") in _TRUE
        return {"ok": True, "user": user.to_json(self.team_id, include_locale=include_locale)}

    def _m_usergroups_users_list(self, call: RecordedCall) -> dict[str, Any]:
        group = str(call.body.get("usergroup") or "")
        if group not in self.usergroups:
            raise SlackApiFailure("no_such_subteam")
        return {"ok": True, "users": list(self.usergroups[group])}

    def _visible_channel(self, ref: Any) -> Channel:
        channel = self.channels.get(str(ref or ""))
        if channel is None or (channel.is_private and not channel.is_member and not channel.is_im):
            raise SlackApiFailure("channel_not_found")
        return channel

    def _m_conversations_info(self, call: RecordedCall) -> dict[str, Any]:
        channel = self._visible_channel(call.body.get("channel"))
        num = len(self._members(channel)) if call.body.get("include_num_members") in _TRUE else None
        data = channel.to_json(num_members=num)
        if call.body.get("include_locale") in _TRUE:
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
        page, cursor = _paginate(self._members(channel), call.body)
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": cursor}}

    def _m_conversations_list(self, call: RecordedCall) -> dict[str, Any]:
        types = set(str(call.body.get("types") or "public_channel").split(","))
        exclude_archived = call.body.get("exclude_archived") in _TRUE
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
        page, cursor = _paginate(selected, call.body)
        return {"ok": True, "channels": page, "response_metadata": {"next_cursor": cursor}}

    def _m_conversations_history(self, call: RecordedCall) -> dict[str, Any]:
        channel = self._visible_channel(call.body.get("channel"))
        if not channel.is_member and not channel.is_im:
            raise SlackApiFailure("not_in_channel")
        msgs = [m for (ch, _), m in sorted(self.messages.items(), reverse=True) if ch == channel.id]
        page, cursor = _paginate([copy.deepcopy(m) for m in msgs], call.body)
        return {
            "ok": True,
            "messages": page,
            "has_more": bool(cursor),
            "pin_count": 0,
            "response_metadata": {"next_cursor": cursor},
        }


def _paginate(items: list[Any], body: dict[str, Any]) -> tuple[list[Any], str]:
    try:
        limit = int(body.get("limit") or 100)
        start = int(base64.b64decode(body["cursor"]).decode().split(":", 1)[1]) if body.get("cursor") else 0
    except (ValueError, IndexError) as exc:
        raise SlackApiFailure("invalid_cursor") from exc
    limit = max(1, min(limit, 1000))
    page = items[start : start + limit]
    end = start + limit
    cursor = base64.b64encode(f"offset:{end}".encode()).decode() if end < len(items) else ""
    return page, cursor


def _decode_json_fields(fields: dict[str, Any]) -> dict[str, Any]:
    decoded = dict(fields)
    for key in JSON_FIELDS & decoded.keys():
        value = decoded[key]
        if isinstance(value, str) and value[:1] in ("[", "{"):
            try:
                decoded[key] = json.loads(value)
            except ValueError:
                pass
    return decoded


__all__ = [
    "RESPONSE_URL",
    "BlockKitViolation",
    "Channel",
    "Fault",
    "RecordedCall",
    "RecordedResponse",
    "SlackWebApiStub",
    "User",
]
