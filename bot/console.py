"""``headless-bot console``: the whole bot in a terminal, with no Slack workspace and no API token.

In the spirit of Hubot's shell adapter and Errbot's text backend, but with the real bot inside: what you type
becomes the same slash-command and interaction payloads Slack would send, dispatched to the same bolt app built by
``build_runtime`` (same listeners, services, store, notifier). The Web API calls the bot makes go over real HTTP to
a small local stand-in of Slack that renders them here: messages, threads, ephemeral notes, modals as forms to
fill in, buttons as numbered choices to press. The Control API is the built-in simulator (``--api-url`` to use a
real one) and the store a SQLite file (temporary unless ``--database`` names one).

With standard input not a terminal it reads commands line by line, prints what the bot answers, and exits at the
end of input, so it can be scripted and tested.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import uvicorn
from rich.console import Console
from rich.text import Text
from slack_bolt.request.async_request import AsyncBoltRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.clock import OffsetClock
from bot.domain.requests import RequestState
from bot.settings import Settings, SettingsError, load_settings
from bot.store import StoreError

YOU = "U0YOU"
CHANNEL = "C0CONSOLE"
APPROVALS = "C0APPROVALS"
OPS = "C0OPS"
ONCALL = "S0ONCALL"
BOT_USER = "U0BOT"

HELP = """\
Type what you would type in Slack, e.g.
  /headless list                      /headless status txn_10000
  /headless schedule SN123456789 reboot tomorrow at 2am
  /headless schedule                  (opens the form)
Console commands:
  /press N | /press LABEL   press button [N] (or the latest button with that label)
  /as USER                  act as another user: you, ana (an approver), olga (not an approver), or an id
  /advance 30m | 2h | 1d    move the clock forward, the bot's and the simulator's (requests expire, operations
                            progress, the notifier reports)
  /wait SECONDS             let the bot work (notifications arrive)
  /users  /help  /quit
"""


def _local_zone() -> str:
    """The machine's IANA zone name (``TZ`` or ``/etc/localtime``), UTC when unknown."""
    candidate = os.environ.get("TZ", "").lstrip(":")
    if not candidate:
        with contextlib.suppress(OSError):
            target = os.readlink("/etc/localtime")
            candidate = target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else ""
    try:
        ZoneInfo(candidate)
        return candidate
    except Exception:
        return "UTC"


@dataclass
class Person:
    user_id: str
    name: str
    real_name: str
    tz: str


@dataclass
class ShownButton:
    number: int
    label: str
    action_id: str
    value: str
    block_id: str
    channel: str
    message: dict[str, Any]
    message_ts: str | None
    response_url: str | None
    ephemeral: bool


@dataclass
class ConsoleState:
    """The pretend workspace: people, channels, messages, views, and the buttons shown so far."""

    people: dict[str, Person]
    channels: dict[str, str]
    groups: dict[str, list[str]]
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    buttons: list[ShownButton] = field(default_factory=list)
    opened_views: list[str] = field(default_factory=list)
    last_call: float = 0.0
    last_ts: int = 0  # microseconds of the latest message ts
    view_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


class Renderer:
    """Slack's mrkdwn, as a person in ``tz`` would read it, on a terminal."""

    def __init__(self, console: Console, state: ConsoleState, viewer: Callable[[], Person]) -> None:
        self.console = console
        self.state = state
        self.viewer = viewer

    def mrkdwn(self, text: str) -> str:
        zone = ZoneInfo(self.viewer().tz)

        def date(match: re.Match[str]) -> str:
            moment = datetime.fromtimestamp(int(match.group(1)), UTC).astimezone(zone)
            return moment.strftime("%a %d %b %H:%M %Z")

        text = re.sub(r"<!date\^(\d+)\^[^|>]*\|[^>]*>", date, text)
        text = re.sub(r"<@([UW][A-Z0-9]+)>", lambda m: "@" + self._name(m.group(1)), text)
        channels = self.state.channels
        text = re.sub(r"<#([CGD][A-Z0-9]+)(?:\|[^>]*)?>", lambda m: "#" + channels.get(m.group(1), m.group(1)), text)
        text = re.sub(r"<!subteam\^([A-Z0-9]+)(?:\|[^>]*)?>", lambda m: f"@{m.group(1).lower()}-group", text)
        text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2 (\1)", text)
        text = re.sub(r":([a-z0-9_+-]+):", lambda m: _EMOJI.get(m.group(1), m.group(0)), text)
        text = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"\1", text)  # *bold* reads fine without the stars
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def _name(self, user_id: str) -> str:
        person = self.state.people.get(user_id)
        return person.name if person else user_id

    def message(self, where: str, message: dict[str, Any], *, ephemeral: bool = False, thread: str | None = None,
                edited: bool = False, ts: str | None = None, response_url: str | None = None,
                channel: str = CHANNEL) -> None:  # fmt: skip
        label = Text()
        label.append(f"[{where}] ", style="bold cyan")
        if thread:
            label.append("↳ in thread ", style="magenta")
        label.append("headless-ops", style="bold green")
        if ephemeral:
            label.append(" (only you can see this)", style="dim")
        if edited:
            label.append(" (updated)", style="yellow")
        self.console.print(label)
        body = self._blocks_text(message) or str(message.get("text") or "")
        for line in self.mrkdwn(body).splitlines():
            self.console.print("  " + line, markup=False, highlight=False)
        for button in self._buttons(message, channel=channel, ts=ts, response_url=response_url, ephemeral=ephemeral):
            self.console.print(f"  [{button.number}] {button.label}", markup=False, style="bold")

    def _blocks_text(self, message: dict[str, Any]) -> str:
        lines = []
        for block in message.get("blocks") or []:
            text = block.get("text")
            if isinstance(text, dict):
                lines.append(str(text.get("text", "")))
            if block.get("type") == "context":
                lines.extend(str(e.get("text", "")) for e in block.get("elements") or [] if isinstance(e, dict))
        return "\n".join(lines)

    def _buttons(self, message: dict[str, Any], **where: Any) -> list[ShownButton]:
        shown = []
        for block in message.get("blocks") or []:
            for element in block.get("elements") or []:
                if element.get("type") != "button":
                    continue
                button = ShownButton(
                    number=len(self.state.buttons) + 1,
                    label=str(element["text"]["text"]),
                    action_id=str(element["action_id"]),
                    value=str(element.get("value", "")),
                    block_id=str(block.get("block_id", "actions")),
                    channel=where["channel"],
                    message=message,
                    message_ts=where["ts"],
                    response_url=where["response_url"],
                    ephemeral=where["ephemeral"],
                )
                self.state.buttons.append(button)
                shown.append(button)
        return shown

    def note(self, text: str, style: str = "dim") -> None:
        self.console.print(text, style=style, markup=False, highlight=False)


_EMOJI = {
    "white_check_mark": "✅", "x": "❌", "warning": "⚠️", "calendar": "📅", "hourglass_flowing_sand": "⏳",
    "hourglass": "⌛", "arrows_counterclockwise": "🔄", "alarm_clock": "⏰", "no_entry_sign": "🚫", "no_entry": "⛔",
    "raised_hand": "✋", "mag": "🔍", "lock": "🔒", "electric_plug": "🔌", "satellite_antenna": "📡",
    "large_green_circle": "🟢", "red_circle": "🔴", "white_circle": "⚪", "information_source": "ℹ️",
    "rotating_light": "🚨", "rocket": "🚀", "outbox_tray": "📤", "recycle": "♻️", "eyes": "👀", "mute": "🔇",
    "ledger": "📒", "thinking_face": "🤔", "clock3": "🕒", "memo": "📝", "grey_question": "❔", "construction": "🚧",
    "tada": "🎉", "white_large_square": "⬜",
}  # fmt: skip


class SlackStandIn:
    """The Web API and ``response_url`` endpoints the bot calls, rendering each call in the terminal."""

    def __init__(self, state: ConsoleState, renderer: Renderer) -> None:
        self.state = state
        self.renderer = renderer
        self.url = ""

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/{method}", self.api, methods=["POST", "GET"]),
                Route("/response/{key}", self.response, methods=["POST"]),
            ]
        )

    async def _body(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        if request.headers.get("content-type", "").startswith("application/json"):
            body = json.loads(raw or b"{}")
        else:
            body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        body.update(dict(request.query_params))
        for key in ("blocks", "view", "attachments"):
            if isinstance(body.get(key), str):
                with contextlib.suppress(json.JSONDecodeError):
                    body[key] = json.loads(body[key])
        return body

    def _channel_name(self, channel: str) -> str:
        if channel in self.state.people:
            return f"DM @{self.state.people[channel].name}"
        return "#" + self.state.channels.get(channel, channel)

    async def api(self, request: Request) -> Response:
        method = request.path_params["method"]
        body = await self._body(request)
        self.state.last_call = time.monotonic()
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return JSONResponse({"ok": False, "error": "unknown_method"})
        return JSONResponse(handler(body))

    def _ts(self) -> str:
        """A message ts like Slack's: from the real time and increasing, so that a later session on the same
        ``--database`` never hands out the ts of a message the store remembers (approvals, their threads)."""
        self.state.last_ts = max(time.time_ns() // 1000, self.state.last_ts + 1)
        seconds, micros = divmod(self.state.last_ts, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def m_auth_test(self, _body: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://console.local/", "team": "Console", "user": "headless-ops",
                "team_id": "T0CONSOLE", "user_id": BOT_USER, "bot_id": "B0BOT"}  # fmt: skip

    def m_chat_postMessage(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body.get("channel"))
        ts = self._ts()
        self.state.messages[(channel, ts)] = body
        self.renderer.message(self._channel_name(channel), body, thread=body.get("thread_ts"), ts=ts, channel=channel)
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": body.get("text"), "ts": ts}}

    def m_chat_postEphemeral(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body.get("channel"))
        self.renderer.message(self._channel_name(channel), body, ephemeral=True, channel=channel)
        return {"ok": True, "message_ts": self._ts()}

    def m_chat_update(self, body: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(body.get("channel")), str(body.get("ts"))
        if (channel, ts) not in self.state.messages:
            return {"ok": False, "error": "message_not_found"}
        self.state.messages[(channel, ts)] = body
        self.renderer.message(self._channel_name(channel), body, edited=True, ts=ts, channel=channel)
        return {"ok": True, "channel": channel, "ts": ts, "text": body.get("text")}

    def m_views_open(self, body: dict[str, Any]) -> dict[str, Any]:
        view = dict(body.get("view") or {})
        view_id = f"V{next(self.state.view_ids):04d}"
        view.update(id=view_id, hash=secrets.token_hex(4), state={"values": {}})
        self.state.views[view_id] = view
        self.state.opened_views.append(view_id)
        return {"ok": True, "view": view}

    def m_views_update(self, body: dict[str, Any]) -> dict[str, Any]:
        view_id = str(body.get("view_id"))
        if view_id not in self.state.views:
            return {"ok": False, "error": "not_found"}
        view = dict(body.get("view") or {})
        view.update(id=view_id, hash=secrets.token_hex(4), state=self.state.views[view_id].get("state", {}))
        self.state.views[view_id] = view
        return {"ok": True, "view": view}

    def m_users_info(self, body: dict[str, Any]) -> dict[str, Any]:
        person = self.state.people.get(str(body.get("user")))
        if person is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": {"id": person.user_id, "name": person.name, "real_name": person.real_name,
                                     "tz": person.tz, "locale": "en-US", "is_bot": False}}  # fmt: skip

    def m_usergroups_users_list(self, body: dict[str, Any]) -> dict[str, Any]:
        group = self.state.groups.get(str(body.get("usergroup")))
        return {"ok": True, "users": group} if group is not None else {"ok": False, "error": "no_such_subteam"}

    def m_conversations_info(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body.get("channel"))
        name = self.state.channels.get(channel)
        if name is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": {"id": channel, "name": name, "is_member": True}}

    async def response(self, request: Request) -> Response:
        body = await self._body(request)
        self.state.last_call = time.monotonic()
        ephemeral = body.get("response_type", "ephemeral") == "ephemeral"
        self.renderer.message(
            self._channel_name(CHANNEL), body, ephemeral=ephemeral, edited=bool(body.get("replace_original")),
            response_url=f"{self.url}/response/{request.path_params['key']}", channel=CHANNEL,
        )  # fmt: skip
        return JSONResponse({"ok": True})


async def _serve(app: Any, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on"))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.ensure_future(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return server, task


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hour|hours|d|day|days)?$")


def parse_duration(text: str) -> float:
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise ValueError("write a duration like 30m, 2h or 1d")
    unit = (match.group(2) or "s")[0]
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


class ConsoleSession:
    """One console: the simulator, the Slack stand-in, the runtime, and the read–eval–print loop."""

    def __init__(self, *, api_url: str | None, api_token: str | None, database: str | None, tz: str | None,
                 stdin: TextIO, console: Console) -> None:  # fmt: skip
        self.api_url = api_url
        self.api_token = api_token
        self.database = database
        self.stdin = stdin
        self.interactive = stdin.isatty()
        self.console = console
        zone = tz or _local_zone()
        self.state = ConsoleState(
            people={
                YOU: Person(YOU, "you", "You", zone),
                "U0ANA": Person("U0ANA", "ana", "Ana (approver)", "Europe/Madrid"),
                "U0OLGA": Person("U0OLGA", "olga", "Olga (not an approver)", "Asia/Tokyo"),
            },
            channels={CHANNEL: "console", APPROVALS: "approvals", OPS: "ops"},
            groups={ONCALL: ["U0ANA"]},
        )
        self.user = YOU
        self.renderer = Renderer(console, self.state, lambda: self.state.people[self.user])
        self.slack = SlackStandIn(self.state, self.renderer)
        self.clock = OffsetClock()  # the bot's and the built-in simulator's: /advance moves both
        self.sim_state: Any = None
        self.runtime: Any = None
        self._servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []
        self._responses = itertools.count(1)

    # ------------------------------------------------------------------ set-up

    async def start(self) -> None:
        from bot.runtime import build_runtime
        from bot.simulator import SimulatorConfig, SimulatorState, create_app

        slack_port = _free_port()
        self._servers.append(await _serve(self.slack.app(), slack_port))
        self.slack.url = f"http://127.0.0.1:{slack_port}"
        api_url, api_token = self.api_url, self.api_token
        if api_url is None:
            api_token = "console-" + secrets.token_hex(8)
            config = SimulatorConfig(token=api_token, refresh_delay=1.0, offline_rate=0.05)
            self.sim_state = SimulatorState(config, clock=self.clock)
            sim_port = _free_port()
            self._servers.append(await _serve(create_app(state=self.sim_state), sim_port))
            api_url = f"http://127.0.0.1:{sim_port}/api/v1"
        database = self.database or str(Path(tempfile.mkdtemp(prefix="headless-bot-")) / "console.sqlite3")
        settings = self._settings(api_url, api_token, database)
        self.runtime = build_runtime(settings, socket_mode=True, clock=self.clock)
        self.runtime.maintenance_interval = 2.0
        await self.runtime.store.connect()
        where = "the built-in Control API simulator" if self.sim_state else api_url
        self.renderer.note(
            f"headless-bot console — Control API: {where}; database: {database}\n"
            f"You are @you ({self.state.people[YOU].tz}) in #console. Approvals go to #approvals; ana approves.\n"
            "Type /help for commands, /quit to leave.",
            style="bold",
        )
        await self.show_pending()  # before the maintenance loop starts: its updates to them then show after them
        await self.runtime.start()

    async def show_pending(self) -> None:
        """Requests waiting for someone from an earlier session (``--database``), shown again with their buttons.

        The Slack stand-in forgot its messages when that session ended; Slack would still show them. Each approval
        message is put back under the ts the store remembers (so Approve matches it, and updates replace it); a
        draft's Confirm / Cancel, ephemeral in Slack, is shown again to be pressed.
        """
        from bot.slack import schedule_blocks as sb

        waiting = [RequestState.DRAFT, RequestState.PENDING_APPROVAL]
        records = await self.runtime.store.list_requests(waiting, limit=50, oldest_first=True)
        # A pending request whose message was never posted is left to the maintenance loop, which posts it.
        shown = [r for r in records if r.state is RequestState.DRAFT or (r.approval_channel_id and r.approval_ts)]
        if shown:
            self.renderer.note(f"Waiting from an earlier session: {len(shown)} request(s).", style="bold")
        for record in shown:
            if record.state is RequestState.DRAFT:
                message = sb.stored_draft_message(record)
                self.renderer.message("#console", message, ephemeral=True, response_url=self._response_url())
                continue
            channel, ts = str(record.approval_channel_id), str(record.approval_ts)
            message = sb.approval_message(record)
            self.state.messages[(channel, ts)] = message
            self.renderer.message(self.slack._channel_name(channel), message, ts=ts, channel=channel)

    def _settings(self, api_url: str, api_token: str | None, database: str) -> Settings:
        values: dict[str, Any] = {
            "slack_bot_token": "xoxb-console-local",
            "slack_api_url": f"{self.slack.url}/api/",
            "control_api_url": api_url,
            "database_url": f"sqlite:///{database}",
            "approval_channel": APPROVALS,
            "notify_channel": os.environ.get("NOTIFY_CHANNEL") or OPS,
            "approvers": ["U0ANA"],
            "oncall_group": ONCALL,
            "poll_interval_seconds": 2,
            "default_timezone": self.state.people[YOU].tz,
        }
        if api_token:
            values["control_api_token"] = api_token
        return load_settings(**values)

    async def stop(self) -> None:
        if self.runtime is not None:
            await self.runtime.stop()  # also when start failed halfway: it closes what was opened
        for server, task in reversed(self._servers):
            server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 5)

    # ------------------------------------------------------------------ the loop

    async def read(self, prompt: str) -> str | None:
        if self.interactive:
            try:
                return await asyncio.to_thread(input, prompt)
            except EOFError:
                return None
        line = await asyncio.to_thread(self.stdin.readline)
        if not line:
            return None
        line = line.rstrip("\n")
        self.renderer.note(f"{prompt}{line}", style="bold")
        return line

    async def run(self) -> None:
        while True:
            line = await self.read(f"{self.state.people[self.user].name}> ")
            if line is None:
                break
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                if not await self.handle(line):
                    break
            except Exception as exc:
                self.renderer.note(f"console error: {type(exc).__name__}: {exc}", style="red")
            await self.settle()

    async def settle(self, quiet: float = 0.4, limit: float = 15.0) -> None:
        """Wait until the bot's background work is done and Slack has been quiet for ``quiet`` seconds."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            busy = bool(self.runtime._background)
            if not busy and time.monotonic() - self.state.last_call >= quiet:
                return
            await asyncio.sleep(0.05)

    async def handle(self, line: str) -> bool:
        word, _, rest = line.partition(" ")
        word = word.lower()
        if word in ("/quit", "/exit"):
            return False
        if word == "/help":
            self.renderer.note(HELP, style="")
        elif word == "/as":
            self.switch_user(rest.strip())
        elif word == "/users":
            for person in self.state.people.values():
                self.renderer.note(f"  {person.user_id}  @{person.name:6} {person.real_name} · {person.tz}", style="")
        elif word == "/press":
            await self.press(rest.strip())
        elif word == "/advance":
            await self.advance(rest)
        elif word == "/wait":
            await asyncio.sleep(min(120.0, float(rest or "3")))
        elif word == "/headless" or not word.startswith("/"):
            text = rest if word == "/headless" else line
            await self.command(text)
        else:
            self.renderer.note(f"Unknown console command {word}. Type /help.", style="yellow")
        return True

    def switch_user(self, who: str) -> None:
        key = who.lstrip("@").lower()
        for person in self.state.people.values():
            if key in (person.name, person.user_id.lower()):
                self.user = person.user_id
                self.renderer.note(f"You are now @{person.name} ({person.real_name}, {person.tz}).", style="bold")
                return
        if re.fullmatch(r"[UW][A-Z0-9]{2,}", who):
            self.state.people[who] = Person(who, who.lower(), who, "UTC")
            self.user = who
            self.renderer.note(f"You are now {who}.", style="bold")
            return
        self.renderer.note("Unknown user. /users lists them.", style="yellow")

    async def advance(self, text: str) -> None:
        """Move the one clock (bot and simulator), then let the bot look at once: what fell due expires or is
        created, and the notifier reports what the operations did meanwhile."""
        if self.sim_state is None:
            self.renderer.note("/advance only works with the built-in simulator.", style="yellow")
            return
        seconds = parse_duration(text or "10m")
        now = self.clock.advance(seconds)
        self.renderer.note(f"Clock moved {timedelta(seconds=seconds)} forward, to {now:%Y-%m-%d %H:%M} UTC.")
        await self.runtime.maintain()
        notifier = self.runtime.notifier
        if notifier is not None and notifier.is_leader:
            await notifier.run_cycle()

    # ------------------------------------------------------------------ payloads

    def _user(self) -> dict[str, Any]:
        person = self.state.people[self.user]
        return {"id": person.user_id, "username": person.name, "name": person.name, "team_id": "T0CONSOLE"}

    def _response_url(self) -> str:
        return f"{self.slack.url}/response/r{next(self._responses)}"

    async def dispatch(self, body: str) -> dict[str, Any] | None:
        request = AsyncBoltRequest(body=body, headers={"content-type": ["application/x-www-form-urlencoded"]})
        response = await self.runtime.app.async_dispatch(request)
        if response.body:
            with contextlib.suppress(json.JSONDecodeError):
                return dict(json.loads(response.body))
        return None

    async def command(self, text: str) -> None:
        from urllib.parse import urlencode

        fields = {
            "token": "console", "team_id": "T0CONSOLE", "team_domain": "console", "channel_id": CHANNEL,
            "channel_name": "console", "user_id": self.user, "user_name": self.state.people[self.user].name,
            "command": "/headless", "text": text, "api_app_id": "A0CONSOLE", "response_url": self._response_url(),
            "trigger_id": f"trigger-{secrets.token_hex(4)}",
        }  # fmt: skip
        opened = len(self.state.opened_views)
        answer = await self.dispatch(urlencode(fields))
        if answer:
            self.renderer.message("#console", answer, ephemeral=answer.get("response_type") != "in_channel",
                                  response_url=fields["response_url"])  # fmt: skip
        await self.settle()
        if len(self.state.opened_views) > opened:
            await self.fill_form(self.state.opened_views[-1])

    async def press(self, which: str) -> None:
        button = self._find_button(which)
        if button is None:
            self.renderer.note("No such button. Buttons show as [N] Label; /press N or /press Label.", style="yellow")
            return
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(),
            "api_app_id": "A0CONSOLE",
            "token": "console",
            "team": {"id": "T0CONSOLE", "domain": "console"},
            "trigger_id": f"trigger-{secrets.token_hex(4)}",
            "channel": {"id": button.channel, "name": self.state.channels.get(button.channel, button.channel)},
            "container": {
                "type": "message",
                "message_ts": button.message_ts or "0",
                "channel_id": button.channel,
                "is_ephemeral": button.ephemeral,
            },
            "message": {**button.message, "ts": button.message_ts or "0"},
            "response_url": button.response_url or self._response_url(),
            "actions": [
                {
                    "action_id": button.action_id,
                    "block_id": button.block_id,
                    "type": "button",
                    "value": button.value,
                    "text": {"type": "plain_text", "text": button.label},
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        opened = len(self.state.opened_views)
        await self._interact(payload)
        await self.settle()
        if len(self.state.opened_views) > opened:
            await self.fill_form(self.state.opened_views[-1])

    def _find_button(self, which: str) -> ShownButton | None:
        if which.isdigit():
            number = int(which)
            return next((b for b in self.state.buttons if b.number == number), None)
        wanted = which.lower()
        return next((b for b in reversed(self.state.buttons) if b.label.lower() == wanted), None)

    async def _interact(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        from urllib.parse import urlencode

        return await self.dispatch(urlencode({"payload": json.dumps(payload)}))

    # ------------------------------------------------------------------ modals as forms

    async def fill_form(self, view_id: str) -> None:
        """Ask for each input of the modal, show the live preview, submit; errors send you back to the field."""
        view = self.state.views[view_id]
        title = (view.get("title") or {}).get("text", "Form")
        self.renderer.note(f"── {title} ── (answer each field; empty keeps it empty; '-' cancels)", style="bold")
        values: dict[str, dict[str, Any]] = {}
        inputs = [b for b in view.get("blocks", []) if b.get("type") == "input"]
        pending = [b["block_id"] for b in inputs]
        while True:
            for block in inputs:
                if block["block_id"] not in pending:
                    continue
                answer = await self._ask(block)
                if answer is None:
                    self.renderer.note("Form cancelled.", style="yellow")
                    return
                values[block["block_id"]] = answer
                if block.get("dispatch_action"):
                    await self._preview(view_id, values)
            view = self.state.views[view_id]
            view["state"] = {"values": values}
            submission = {
                "type": "view_submission", "team": {"id": "T0CONSOLE"}, "user": self._user(),
                "api_app_id": "A0CONSOLE", "token": "console", "trigger_id": f"trigger-{secrets.token_hex(4)}",
                "view": view,
            }  # fmt: skip
            answer = await self._interact(submission)
            await self.settle()
            errors = (answer or {}).get("errors") if (answer or {}).get("response_action") == "errors" else None
            if not errors:
                self.renderer.note(f"── {title}: submitted ──", style="bold")
                return
            for block_id, message in errors.items():
                self.renderer.note(f"  ✗ {block_id}: {message}", style="red")
            pending = list(errors)

    async def _ask(self, block: dict[str, Any]) -> dict[str, Any] | None:
        element = block.get("element") or {}
        label = (block.get("label") or {}).get("text", block["block_id"])
        hint = (block.get("hint") or {}).get("text")
        optional = " (optional)" if block.get("optional") else ""
        if hint:
            self.renderer.note(f"  {hint}")
        if element.get("type") == "static_select":
            options = element.get("options") or []
            for index, option in enumerate(options, 1):
                self.renderer.note(f"    {index}. {option['text']['text']}", style="")
            while True:
                raw = await self.read(f"  {label}{optional} [1-{len(options)}]: ")
                if raw is None or raw.strip() == "-":
                    return None
                choice = raw.strip()
                picked = next((o for i, o in enumerate(options, 1) if choice in (str(i), o["value"])), None)
                if picked is not None:
                    return {element["action_id"]: {"type": "static_select", "selected_option": picked}}
                self.renderer.note("  Pick a number from the list.", style="yellow")
        if element.get("type") == "conversations_select":
            raw = await self.read(f"  {label}{optional} (#channel or empty): ")
            if raw is None or raw.strip() == "-":
                return None
            name = raw.strip().lstrip("#")
            channel = next((cid for cid, cname in self.state.channels.items() if name in (cname, cid)), None)
            return {element["action_id"]: {"type": "conversations_select", "selected_conversation": channel}}
        raw = await self.read(f"  {label}{optional}: ")
        if raw is None or raw.strip() == "-":
            return None
        value = raw.replace("\\n", "\n")
        return {element["action_id"]: {"type": "plain_text_input", "value": value}}

    async def _preview(self, view_id: str, values: dict[str, dict[str, Any]]) -> None:
        view = self.state.views[view_id]
        view["state"] = {"values": values}
        when_block = next(b for b in view["blocks"] if b.get("dispatch_action"))
        action_id = when_block["element"]["action_id"]
        payload = {
            "type": "block_actions", "user": self._user(), "api_app_id": "A0CONSOLE", "token": "console",
            "team": {"id": "T0CONSOLE"}, "trigger_id": f"trigger-{secrets.token_hex(4)}",
            "container": {"type": "view", "view_id": view_id}, "view": view,
            "actions": [{"action_id": action_id, "block_id": when_block["block_id"], "type": "plain_text_input",
                         "value": values[when_block["block_id"]][action_id]["value"],
                         "action_ts": f"{time.time():.6f}"}],
        }  # fmt: skip
        await self._interact(payload)
        await self.settle()
        for block in self.state.views[view_id].get("blocks", []):
            if block.get("block_id") == "when_preview":
                for element in block.get("elements", []):
                    self.renderer.note("  → " + self.renderer.mrkdwn(str(element.get("text", ""))), style="cyan")


async def run_console_async(
    *,
    api_url: str | None = None,
    api_token: str | None = None,
    database: str | None = None,
    tz: str | None = None,
    stdin: TextIO | None = None,
    console: Console | None = None,
) -> int:
    stdin = stdin or sys.stdin
    console = console or Console(highlight=False, soft_wrap=True)
    session = ConsoleSession(
        api_url=api_url, api_token=api_token, database=database, tz=tz, stdin=stdin, console=console
    )
    try:
        try:
            await session.start()
        except (SettingsError, StoreError) as exc:  # the environment or the database: what to fix, no traceback
            print(exc if isinstance(exc, SettingsError) else f"headless-bot console: {exc}", file=sys.stderr)
            return 2
        await session.run()
    finally:
        await session.stop()
    return 0


def run_console(**kwargs: Any) -> int:
    """``headless-bot console``: run until ``/quit`` or the end of input."""
    import logging

    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(run_console_async(**kwargs))
    except KeyboardInterrupt:
        return 130
