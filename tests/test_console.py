"""``headless-bot console`` scripted through standard input, as a newcomer would first meet the bot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """\
/headless help
/headless list
/headless schedule SN123456789 reboot in 5 minutes
/press Confirm
/as olga
/press Approve
/as ana
/press Approve
/advance 10m
/wait 6
/headless list SN123456789
"""


def run_console(script: str, tmp_path: Path, *extra: str) -> str:
    exe = Path(sys.executable).with_name("headless-bot")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CONTROL_API", "APPROVAL", "NOTIFY"))}
    env.update(TZ="America/Costa_Rica", COLUMNS="200", NO_COLOR="1")
    result = subprocess.run(
        [str(exe), "console", "--database", str(tmp_path / "console.sqlite3"), *extra],
        input=script, capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
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
    script = "/headless schedule\nSN123456789\n3\nat 2\n\n\ntomorrow 3am\n"
    out = run_console(script, tmp_path)
    assert "Schedule an operation" in out
    assert "Device serial(s)" in out
    assert "→" in out, "the live preview"
    assert "✗ when:" in out, "the ambiguous time is refused inline"
    assert "submitted" in out
    assert "[#approvals] headless-ops" in out


def test_unknown_console_command_and_end_of_input(tmp_path: Path) -> None:
    out = run_console("/frobnicate\n", tmp_path)
    assert "Unknown console command /frobnicate" in out
