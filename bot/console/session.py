"""One console session: the simulator, the Slack stand-in, the bot, and the read–eval–print loop.

What you type becomes what Slack would send (``slack.py`` builds it), dispatched in process to the bolt app
``build_runtime`` built; the console's own commands (``/press``, ``/as``, ``/advance``, ``/wait``, ``/users``) act
on the pretend workspace and the one clock the bot and the simulator share.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.clock import OffsetClock
from bot.domain.ids import USER_ID
from bot.domain.requests import RequestState
from bot.i18n import _
from bot.settings import Settings, load_settings
from bot.slackkit import SlackRequest, User
from bot.slackkit.servers import LoopServer

from .forms import fill_form
from .render import Renderer
from .samples import console_inventory, inventory_devices
from .slack import ConsoleSlack
from .workspace import ANA, APPROVALS, BOT_TOKEN, ONCALL, OPS, YOU, console_stand_in, local_locale, local_zone

HELP = """\
Type what you would type in Slack, e.g.
  /headless list                      /headless status txn_10000
  /headless schedule SN123456789 reboot tomorrow at 2am
  /headless schedule                  (opens the form)
Console commands:
  /press N | /press LABEL   press button [N] (or the latest button with that label)
  /as USER                  act as another user: you, ana (an approver), olga (not an approver), sofia (es), or an id
  /home                     open your App Home (the bot's Home tab; its buttons are pressable)
  /shortcut "NAME" TEXT     run a message shortcut on a message with TEXT: "Schedule for serials in this
                            message" or "Watch this operation"
  /advance 30m | 2h | 1d    move the clock forward, the bot's and the simulator's (requests expire, operations
                            progress, the notifier reports)
  /wait SECONDS             let the bot work (notifications arrive)
  /users  /help  /quit
"""

SAMPLE_OPERATIONS = Path(__file__).with_name("samples") / "operations.yaml"
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
        self.notify_channel = os.environ.get("NOTIFY_CHANNEL") or OPS
        self.inventory_file, self.sample_inventory = console_inventory(dict(os.environ))
        workspace = console_stand_in(tz or local_zone(), notify_channel=self.notify_channel, locale=local_locale())
        self.user = YOU
        self.renderer = Renderer(console, workspace, lambda: workspace.users[self.user])
        self.slack = ConsoleSlack(workspace, self.renderer)
        self.clock = OffsetClock()  # the bot's and the built-in simulator's: /advance moves both
        self.sim_state: Any = None
        self.runtime: Any = None
        self._simulator: LoopServer | None = None

    @property
    def people(self) -> list[User]:
        """The people of the workspace (not the bot), in the order they joined."""
        return [user for user in self.slack.workspace.users.values() if not user.is_bot]

    # ------------------------------------------------------------------ set-up

    async def start(self) -> None:
        from bot.app import build_runtime
        from bot.simulator import SimulatorConfig, SimulatorState, create_app

        await self.slack.start()
        api_url, api_token = self.api_url, self.api_token
        if api_url is None:
            api_token = "console-" + secrets.token_hex(8)
            devices = inventory_devices(self.inventory_file)  # the simulator knows the inventory's devices
            config = SimulatorConfig(token=api_token, refresh_delay=1.0, offline_rate=0.05, known_devices=devices)
            self.sim_state = SimulatorState(config, clock=self.clock)
            self._simulator = await LoopServer(create_app(state=self.sim_state)).start()
            api_url = f"{self._simulator.url}/api/v1"
        database = self.database or str(Path(tempfile.mkdtemp(prefix="headless-bot-")) / "console.sqlite3")
        settings = self._settings(api_url, api_token, database)
        self.runtime = build_runtime(settings, socket_mode=True, clock=self.clock)
        self.runtime.maintenance_interval = 2.0
        await self.runtime.store.connect()
        if self.sim_state is not None:  # it starts empty; the database may remember an earlier session's ids
            self.sim_state.number_after(await self.runtime.store.operation_states())
        with self.renderer.speaking():
            where = _("the built-in Control API simulator") if self.sim_state else api_url
            inventory = _("the sample (try /headless devices)") if self.sample_inventory else self.inventory_file
            self.renderer.note(
                _(
                    "headless-bot console — Control API: {api}; database: {database}; inventory: {inventory}\n"
                    "You are @you ({zone}) in #console. Approvals go to #approvals; ana approves.\n"
                    "Type /help for commands, /quit to leave."
                ).format(api=where, database=database, inventory=inventory, zone=self.slack.workspace.users[YOU].tz),
                style="bold",
            )
        await self.show_pending()  # before the maintenance loop starts: its updates to them then show after them
        await self.runtime.start()

    async def show_pending(self) -> None:
        """Requests waiting for someone from an earlier session (``--database``), shown again with their buttons.

        The Slack stand-in starts empty; Slack would still show them. Each approval message is held again under
        the ts the store remembers (so Approve matches it, and updates replace it); a draft's Confirm / Cancel,
        ephemeral in Slack, is shown again to be pressed.
        """
        from bot.slack.blocks import scheduling as sb

        waiting = [RequestState.DRAFT, RequestState.PENDING_APPROVAL]
        records = await self.runtime.store.list_requests(waiting, limit=50, oldest_first=True)
        # A pending request whose message was never posted is left to the maintenance loop, which posts it.
        shown = [r for r in records if r.state is RequestState.DRAFT or (r.approval_channel_id and r.approval_ts)]
        if shown:
            with self.renderer.speaking():
                waiting_note = _("Waiting from an earlier session: {count} request(s).").format(count=len(shown))
            self.renderer.note(waiting_note, style="bold")
        for record in shown:
            if record.state is RequestState.DRAFT:
                message = sb.stored_draft_message(record)
                response_url = self.slack.new_response_url()
                self.renderer.message("#console", message, ephemeral=True, response_url=response_url)
                continue
            self.slack.show_posted(
                str(record.approval_channel_id), str(record.approval_ts), sb.approval_message(record)
            )

    def _settings(self, api_url: str, api_token: str | None, database: str) -> Settings:
        values: dict[str, Any] = {
            "slack_bot_token": BOT_TOKEN,
            "slack_api_url": self.slack.api_url,
            "control_api_url": api_url,
            "database_url": f"sqlite:///{database}",
            "approval_channel": APPROVALS,
            "notify_channel": self.notify_channel,
            "approvers": [ANA],
            "oncall_group": ONCALL,
            "poll_interval_seconds": 2,
            "default_timezone": self.slack.workspace.users[YOU].tz,
            "inventory_file": self.inventory_file,
        }
        if api_token:
            values["control_api_token"] = api_token
        if not os.environ.get("OPERATIONS_FILE"):  # the sample operation types, unless you name your own
            values["operations_file"] = str(SAMPLE_OPERATIONS)
        return load_settings(**values)

    async def stop(self) -> None:
        if self.runtime is not None:
            await self.runtime.stop()  # also when start failed halfway: it closes what was opened
        if self._simulator is not None:
            await self._simulator.stop()
        await self.slack.stop()

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
            line = await self.read(f"{self.slack.workspace.users[self.user].name}> ")
            if line is None:
                break
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                with self.renderer.speaking():  # the console's own words in the viewer's language
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
            if not busy and time.monotonic() - self.slack.last_call >= quiet:
                return
            await asyncio.sleep(0.05)

    async def handle(self, line: str) -> bool:
        word, _sep, rest = line.partition(" ")
        word = word.lower()
        if word in ("/quit", "/exit"):
            return False
        if word == "/help":
            self.renderer.note(HELP, style="")
        elif word == "/as":
            self.switch_user(rest.strip())
        elif word == "/users":
            for person in self.people:
                self.renderer.note(f"  {person.id}  @{person.name:6} {person.real_name} · {person.tz}", style="")
        elif word == "/press":
            await self.press(rest.strip())
        elif word == "/home":
            await self.home()
        elif word == "/shortcut":
            await self.shortcut(rest.strip())
        elif word == "/advance":
            await self.advance(rest)
        elif word == "/wait":
            await asyncio.sleep(min(120.0, float(rest or "3")))
        elif word == "/headless" or not word.startswith("/"):
            text = rest if word == "/headless" else line
            await self.command(text)
        else:
            self.renderer.note(_("Unknown console command {command}. Type /help.").format(command=word), style="yellow")
        return True

    def switch_user(self, who: str) -> None:
        key = who.lstrip("@").lower()
        for person in self.people:
            if key in (person.name, person.id.lower()):
                self.user = person.id
                self.renderer.note(
                    _("You are now @{name} ({real_name}, {zone}).").format(
                        name=person.name, real_name=person.real_name, zone=person.tz
                    ),
                    style="bold",
                )
                return
        if USER_ID.match(who) and who not in self.slack.workspace.users:
            self.slack.workspace.add_user(who, name=who.lower(), real_name=who, tz="UTC")
            self.user = who
            self.renderer.note(_("You are now {user}.").format(user=who), style="bold")
            return
        self.renderer.note(_("Unknown user. /users lists them."), style="yellow")

    async def advance(self, text: str) -> None:
        """Move the one clock (bot and simulator), then let the bot look at once: what fell due expires or is
        created, and the notifier reports what the operations did meanwhile."""
        if self.sim_state is None:
            self.renderer.note(_("/advance only works with the built-in simulator."), style="yellow")
            return
        seconds = parse_duration(text or "10m")
        now = self.clock.advance(seconds)
        self.renderer.note(
            _("Clock moved {duration} forward, to {time} UTC.").format(
                duration=timedelta(seconds=seconds), time=f"{now:%Y-%m-%d %H:%M}"
            )
        )
        await self.runtime.maintain()
        notifier = self.runtime.notifier
        if notifier is not None and notifier.is_leader:
            await notifier.run_cycle()

    # ------------------------------------------------------------------ what you do, as Slack sends it

    async def dispatch(self, request: SlackRequest) -> dict[str, Any] | None:
        """``request`` to the bot's bolt app, in process (Socket Mode needs no signature); its synchronous answer."""
        headers = {"content-type": [request.content_type]}
        response = await self.runtime.app.async_dispatch(AsyncBoltRequest(body=request.body.decode(), headers=headers))
        if response.body:
            with contextlib.suppress(json.JSONDecodeError):
                return dict(json.loads(response.body))
        return None

    async def command(self, text: str) -> None:
        request = self.slack.slash_command(text, self.user)
        opened = len(self.slack.opened_views)
        answer = await self.dispatch(request)
        if answer:
            self.renderer.message("#console", answer, ephemeral=answer.get("response_type") != "in_channel",
                                  response_url=request.response_url)  # fmt: skip
        await self.settle()
        if len(self.slack.opened_views) > opened:
            await fill_form(self, self.slack.opened_views[-1])

    async def home(self) -> None:
        """Open your App Home: what Slack sends (``app_home_opened``); the view the bot publishes is shown."""
        self.slack.home_for = self.user
        shown = self.slack.homes_shown
        try:
            await self.dispatch(self.slack.home_opened(self.user))
            await self.settle()
        finally:
            self.slack.home_for = None
        if self.slack.homes_shown == shown:
            self.renderer.note("Your App Home was not published (see the log).", style="yellow")

    async def shortcut(self, text: str) -> None:
        """``/shortcut "NAME" TEXT``: the message shortcut NAME on a message of yours with TEXT."""
        from bot.slack.listeners.shortcuts import MESSAGE_SHORTCUTS

        match = re.match(r'^"([^"]+)"\s*(.*)$', text, re.DOTALL) or re.match(r"^(\S+)\s*(.*)$", text, re.DOTALL)
        names = {name.lower(): callback for name, callback in MESSAGE_SHORTCUTS.items()}
        callback = names.get(match.group(1).lower()) if match else None
        if match is None or callback is None:
            choices = " or ".join(f'"{name}"' for name in MESSAGE_SHORTCUTS)
            self.renderer.note(f'Write /shortcut "NAME" TEXT, NAME one of {choices}.', style="yellow")
            return
        message_text = match.group(2)
        self.renderer.note(f"[#console] @{self.slack.workspace.users[self.user].name}: {message_text}", style="")
        opened = len(self.slack.opened_views)
        await self.dispatch(self.slack.message_shortcut(callback, message_text, self.user))
        await self.settle()
        if len(self.slack.opened_views) > opened:
            await fill_form(self, self.slack.opened_views[-1])

    async def press(self, which: str) -> None:
        button = self.renderer.find_button(which)
        if button is None:
            self.renderer.note(
                _("No such button. Buttons show as [N] Label; /press N or /press Label."), style="yellow"
            )
            return
        opened = len(self.slack.opened_views)
        await self.dispatch(self.slack.press(button, self.user))
        await self.settle()
        if len(self.slack.opened_views) > opened:
            await fill_form(self, self.slack.opened_views[-1])
