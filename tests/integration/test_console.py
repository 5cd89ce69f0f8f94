"""``headless-bot console`` scripted through standard input, as a newcomer would first meet the bot."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slackkit import SlackWebApiStub

SCRIPT = """\
/headless help
/headless list
/headless schedule SN123456789 factory_reset in 5 minutes
/press Confirm
/as olga
/press Approve
/as ana
/press Approve
/advance 10m
/wait 6
/headless list SN123456789
"""


def console_process(script: str, *args: str, **env_vars: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("headless-bot")
    skipped = ("SLACK_", "CONTROL_API", "APPROVAL", "NOTIFY", "INVENTORY", "OPERATIONS")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skipped)}
    env.update(TZ="America/Costa_Rica", COLUMNS="200", NO_COLOR="1", **env_vars)
    return subprocess.run(
        [str(exe), "console", *args], input=script, capture_output=True, text=True, timeout=120, env=env, check=False
    )


def run_console(script: str, tmp_path: Path, *extra: str, **env_vars: str) -> str:
    result = console_process(script, "--database", str(tmp_path / "console.sqlite3"), *extra, **env_vars)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_scripted_session_lists_schedules_approves_and_sees_completion(tmp_path: Path) -> None:
    out = run_console(SCRIPT, tmp_path)
    assert "You are @you (America/Costa_Rica) in #console" in out
    assert "How to use /headless" in out
    assert "No operations." in out
    assert "Please check what will be scheduled" in out
    assert "[1] Confirm" in out and "[2] Cancel" in out
    assert "[#approvals] headless-ops" in out and "Approve" in out
    assert "Only the configured approvers can approve" in out, "olga is refused"
    assert "Approved by @ana" in out
    assert "→ operation txn_10000" in out.replace("`", "")
    assert "[DM @you]" in out
    assert "[#approvals] ↳ in thread headless-ops" in out, "the notifier replies in the approval thread"
    thread = out.split("[#approvals] ↳ in thread headless-ops", 1)[1]
    assert "txn_10000" in thread.split("\n", 2)[1]
    listing = out.rsplit("/headless list SN123456789", 1)[1]
    assert "txn_10000" in listing and ("Completed" in listing or "Failed" in listing)
    assert "CST" in out, "times are shown in the person's zone"
    assert "Traceback" not in out


def test_modal_is_a_form_with_inline_errors(tmp_path: Path) -> None:
    script = "/headless schedule\nSN123456789\n\n5\nat 2\ny\n\ntomorrow 3am\n"
    out = run_console(script, tmp_path)
    assert "Schedule an operation" in out
    assert "Devices" in out, "the sample inventory: the field takes selectors"
    assert "keep network settings [y/n]" in out, "the chosen type's parameter (the sample OPERATIONS_FILE)"
    assert "→" in out, "the live preview"
    assert "✗ when:" in out, "the ambiguous time is refused inline"
    assert "submitted" in out
    assert "[#approvals] headless-ops" in out


def test_the_sample_inventory_works_out_of_the_box(tmp_path: Path) -> None:
    """No INVENTORY_FILE: the console's sample (301 devices, 3 sites, 8 zones); the built-in simulator knows its
    devices, so one of them is scheduled and created."""
    script = (
        "/headless devices\n/headless devices site:madrid+tag:gateway\n"
        "/headless schedule SN304000001 factory_reset tomorrow at 2am\n/press Confirm\n/as ana\n/press Approve\n"
    )
    out = run_console(script, tmp_path)
    assert "inventory: the sample" in out
    everything = after(out, "you> /headless devices\n").split("you> ", 1)[0]
    assert "Devices: 301 of 301 in the inventory" in everything
    assert "Sites: singapore 130 · san-jose 111 · madrid 60" in everything
    for zone in ("Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Kiritimati", "Pacific/Pago_Pago",
                 "America/New_York", "Europe/Madrid"):  # fmt: skip
        assert zone in everything
    madrid = after(out, "you> /headless devices site:madrid+tag:gateway").split("you> ", 1)[0]
    assert "Devices matching `site:madrid+tag:gateway`: 6 of 301" in madrid
    approved = after(out, "ana> /press Approve")
    assert "SN304000001 → operation txn_10000" in approved.replace("`", ""), "the simulator knows the device"
    assert "Traceback" not in out


def test_inventory_file_takes_the_samples_place(tmp_path: Path) -> None:
    own = tmp_path / "mine.csv"
    own.write_text("serial,zone,site,tags\nLAB0001,Asia/Kathmandu,lab,bench\n")
    script = "/headless devices\n/headless schedule LAB0001 factory_reset tomorrow at 2am\n/press Confirm\n/as ana\n"
    script += "/press Approve\n"
    out = run_console(script, tmp_path, INVENTORY_FILE=str(own))
    assert f"inventory: {own}" in out
    assert "Devices: 1 of 1 in the inventory" in out and "Sites: lab 1" in out
    assert "LAB0001 → operation txn_10000" in after(out, "ana> /press Approve").replace("`", "")


def test_the_form_takes_a_csv_of_devices(tmp_path: Path) -> None:
    upload = tmp_path / "devices.csv"
    upload.write_text("site,Serial,note\nmadrid,SN201000003,a\nmadrid,SN201000004,b\n")
    script = f"/headless schedule\n\n{tmp_path / 'missing.csv'}\n{upload}\n5\ntomorrow 3am\ny\n\n"
    out = run_console(script, tmp_path)
    assert "…or upload a CSV of devices" in out and "Cannot read" in out
    assert "submitted" in out
    approval = after(out, "[#approvals] headless-ops")
    assert "SN201000003" in approval and "SN201000004" in approval


def test_unknown_console_command_and_end_of_input(tmp_path: Path) -> None:
    out = run_console("/frobnicate\n", tmp_path)
    assert "Unknown console command /frobnicate" in out


def after(out: str, line: str) -> str:
    """What the console printed after the input ``line`` (its last occurrence)."""
    return out.rsplit(line, 1)[1]


def test_advance_moves_the_bots_clock_with_the_simulators(tmp_path: Path) -> None:
    """One clock: after /advance a pending request whose time passed expires, and "in 5 minutes" is read from the
    advanced time, so the simulator accepts the operation."""
    script = (
        "/headless schedule SN123456789 factory_reset in 5 minutes\n/press Confirm\n"
        "/advance 10m\n"
        "/headless schedule SN123456789 diagnostics in 5 minutes\n/press Confirm\n/as ana\n/press Approve\n"
    )
    out = run_console(script, tmp_path)
    expired = after(out, "you> /advance 10m").split("you> /headless schedule", 1)[0]
    expiry = "Expired: the scheduled time passed (or came too close) before anyone decided"
    assert expiry in expired, "the bot's clock moved too"
    approved = after(out, "ana> /press Approve")
    assert "Approved by @ana" in approved
    assert "SN123456789 → operation txn_10000" in approved.replace("`", ""), "created: not in the simulator's past"
    assert "Traceback" not in out


def test_a_second_session_on_the_same_database_shows_what_is_waiting(tmp_path: Path) -> None:
    """With --database, the approvals and drafts left pending come back with their buttons, and pressing them works."""
    first = run_console(
        "/headless schedule SN123456789 factory_reset in 2 hours\n/press Confirm\n"
        "/headless schedule SN123456789 diagnostics in 3 hours\n",
        tmp_path,
    )
    assert "[3] Approve" in first and "[5] Confirm" in first, "one approval posted, one draft left"
    out = run_console("/as ana\n/press 1\n/as you\n/press 3\n", tmp_path)
    shown = out.split("ana> ", 1)[0]
    assert "Waiting from an earlier session: 2 request(s)." in shown
    approval, draft = shown.split("[#approvals] headless-ops", 1)[1].split("[#console] headless-ops", 1)
    assert "Approval needed" in approval and "factory_reset" in approval
    assert "[1] Approve" in approval and "[2] Reject" in approval
    assert "(only you can see this)" in draft and "diagnostics" in draft
    assert "[3] Confirm" in draft and "[4] Cancel" in draft
    approved = after(out, "ana> /press 1").split("you> /press 3", 1)[0]
    assert "[#approvals] headless-ops (updated)" in approved, "the restored message is updated in place"
    assert "Approved by @ana" in approved and "factory_reset" in approved
    assert "SN123456789 → operation txn_10000" in approved.replace("`", "")
    confirmed = after(out, "you> /press 3")
    assert "Sent for approval in #approvals" in confirmed
    assert "Approval needed" in confirmed and "diagnostics" in confirmed
    assert "Traceback" not in out


def test_a_later_session_numbers_new_operations_after_the_earlier_ones(tmp_path: Path) -> None:
    """The built-in simulator starts empty each session, but the database remembers txn_10000: a new operation must
    not take that id again (it did, and the bot could not record it: "will finish it by itself")."""
    script = "/headless schedule SN123456789 {} in 2 hours\n/press Confirm\n/as ana\n/press Approve\n"
    first = run_console(script.format("factory_reset"), tmp_path)
    assert "SN123456789 → operation txn_10000" in first.replace("`", "")
    second = run_console(script.format("diagnostics"), tmp_path)
    approved = after(second, "ana> /press Approve").replace("`", "")
    assert "SN123456789 → operation txn_10001" in approved
    assert "finish it by itself" not in approved and "Traceback" not in second


def test_spanish_only_times_start_and_schedule(tmp_path: Path) -> None:
    """WHEN_LANGUAGES without English: the start-up warm-up used an English phrase and stopped the bot."""
    out = run_console("/headless schedule SN123456789 reboot mañana a las 15:00\n", tmp_path, WHEN_LANGUAGES="es")
    assert "Please check what will be scheduled" in out


def test_wrong_options_are_one_line_and_exit_code_2(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("not a database")
    bad_types = tmp_path / "ops.yaml"
    bad_types.write_text("reboot:\n  window_policy: never\n")
    cases = [
        (["--tz", "Mars/Base"], {}, "--tz: expected an IANA time zone"),
        (["--tz", "America"], {}, "--tz: expected an IANA time zone"),
        (["--database", "/no/such/dir/x.db"], {}, "--database: the folder /no/such/dir does not exist"),
        (["--database", str(folder)], {}, f"--database: {folder} is a folder; name a file in it"),
        (["--database", str(not_a_database)], {}, "cannot open the database"),
        (["--api-url", "control.example.com"], {}, "--api-url: expected an http(s):// URL"),
        ([], {"CONTROL_API_URL": "control.example.com"}, "CONTROL_API_URL: expected an http(s):// URL"),
        ([], {"INVENTORY_FILE": str(tmp_path / "none.csv")}, f"INVENTORY_FILE {tmp_path / 'none.csv'}: cannot be read"),
        ([], {"OPERATIONS_FILE": str(bad_types)}, f"OPERATIONS_FILE {bad_types}: reboot.window_policy: 'never' is"),
    ]
    for args, env_vars, expected in cases:
        result = console_process("/quit\n", *args, **env_vars)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith("headless-bot console: ") and expected in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
        assert result.stdout == "", "nothing started"


def test_a_wrong_environment_is_refused_like_serve_does(tmp_path: Path) -> None:
    result = console_process("/quit\n", "--database", str(tmp_path / "c.sqlite3"), WHEN_LANGUAGES="xx")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "Invalid configuration:",
        "  WHEN_LANGUAGES: expected language codes the time parser knows, comma-separated, e.g. en,es,fr; "
        "entry 1 is unknown",
    ]


def test_a_later_session_never_reuses_a_message_ts() -> None:
    """Each session counted ts from the same number: a new approval message took the ts of one the store
    remembered from the last session (same channel), and their threads and updates mixed."""
    from bot.console.workspace import console_stand_in

    def session() -> SlackWebApiStub:
        return console_stand_in("UTC")

    first = session()
    earlier = [first._next_ts() for _ in range(3)]
    later = session()._next_ts()
    assert len(set(earlier)) == 3 and earlier == sorted(earlier, key=float)
    assert float(later) > float(earlier[-1])


async def test_the_console_shows_what_the_bot_posts_to_the_kits_stand_in() -> None:
    """The console's Slack is the tests' stand-in (bot.slackkit), watched: a DM, a reply in the thread of an
    approval message an earlier session posted (Slack still has it), a NOTIFY_CHANNEL of one's own; a channel
    the workspace does not have is refused as Slack refuses it, and nothing is shown."""
    from bot.console.render import Renderer
    from bot.console.slack import ConsoleSlack
    from bot.console.workspace import APPROVALS, BOT_TOKEN, YOU, console_stand_in

    earlier_ts = console_stand_in("UTC")._next_ts()
    workspace = console_stand_in("America/Costa_Rica", notify_channel="C0ALERTS")
    out = StringIO()
    slack = ConsoleSlack(workspace, Renderer(Console(file=out, width=200), workspace, lambda: workspace.users[YOU]))
    await slack.start()
    try:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
        await client.chat_postMessage(channel=YOU, text="Your request is waiting")
        await client.chat_postMessage(channel=APPROVALS, thread_ts=earlier_ts, text="`txn_1` completed")
        await client.chat_postMessage(channel="C0ALERTS", text="<@U0ANA> `txn_2` failed")
        with pytest.raises(SlackApiError, match="channel_not_found"):
            await client.chat_postMessage(channel="C0NOWHERE", text="lost")
    finally:
        await slack.stop()
    shown = out.getvalue()
    assert "[DM @you] headless-ops\n  Your request is waiting" in shown
    assert "[#approvals] ↳ in thread headless-ops\n  `txn_1` completed" in shown
    assert "[#C0ALERTS] headless-ops\n  @ana `txn_2` failed" in shown
    assert "lost" not in shown


def test_a_rollout_in_the_console(tmp_path: Path) -> None:
    """The README's rollout walkthrough: the sample inventory's Madrid site, two waves, approved by ana; the clock
    moved on until the rollout ends (completed, or aborted by the simulator's failures), told once in its thread."""
    script = (
        "/headless rollout reboot site:madrid in 10 minutes waves=10,100 soak=0 rate=6000/min\n/press Confirm\n"
        "/as ana\n/press Approve\n/advance 11m\n/wait 5\n/advance 5m\n/wait 5\n/advance 5m\n/wait 5\n"
        "/headless rollouts\n"
    )
    out = run_console(script, tmp_path)
    assert "Please check" in out or "Rollout" in out
    assert "Wave 1/2 · 10 %" in out
    ended = after(out, "ana> /headless rollouts")
    assert "60 devices" in ended and ("aborted" in ended or "completed" in ended), ended
    assert out.count("Rollout aborted:") <= 1 and "Traceback" not in out  # the thread reply, told once


def test_the_rollout_form_fills_previews_and_confirms(tmp_path: Path) -> None:
    """``/headless rollout`` alone: the form in the console; empty answers keep the prefilled options and gate."""
    script = "/headless rollout\ndiagnostics\nSN123456789\ntomorrow 3am\n" + "\n" * 9 + "/press Confirm\n"
    out = run_console(script, tmp_path)
    assert "Start a rollout" in out and "Waves (cumulative %)" in out
    assert "→" in out, "the live preview"
    assert "Please check this rollout" in out and "Gate auto · soak 30m" in out, "the defaults, read back"
    assert "── Start a rollout: submitted ──" in out
    assert "Sent for approval in #approvals" in out and "Rollout pending approval" in out
    assert "Traceback" not in out


HOME_SCRIPT = """\
/headless schedule SN123456789 factory_reset in 2 hours
/press Confirm
/as ana
/home
/press Approve
/wait 2
/as you
/shortcut "Schedule for serials in this message" please reboot SN123456789 and GW-0042-X

-
/shortcut "Watch this operation" txn_10000 is the one
/shortcut "No such shortcut" x
"""


def test_the_app_home_and_message_shortcuts_in_the_console(tmp_path: Path) -> None:
    out = run_console(HOME_SCRIPT, tmp_path)
    home = out[out.index("ana> /home") : out.index("ana> /press Approve")]
    assert "[App Home] headless-ops (your App Home)" in home
    assert "Waiting for you (1)" in home and "factory_reset on `SN123456789`" in home
    assert "Europe/Madrid" in home, "ana's own zone"
    assert "Approved by @ana" in out, "Approve pressed on the Home decides as on the channel"
    assert "→ operation txn_10000" in out.replace("`", "")
    assert "2 devices found in that message" in out
    assert "Devices (optional) [SN123456789, GW-0042-X]:" in out, "the form prefilled with the message's serials"
    assert "now follows txn_10000" in out.replace("`", "")
    assert 'Write /shortcut "NAME" TEXT' in out
