"""A ``headless-bot`` command that cannot start says why, one line per problem, and exits with code 2: never a
traceback. (The console's own options: tests/integration/test_console.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.slackkit.servers import free_port

EXE = str(Path(sys.executable).with_name("headless-bot"))


def serve(tmp_path: Path, **env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "CONTROL_API", "DATABASE_URL", "WHEN_", "INVENTORY", "OPERATIONS"))
    }
    env.update(
        SLACK_BOT_TOKEN="xoxb-start-test", SLACK_SIGNING_SECRET="start-test-secret", CONTROL_API_TOKEN="start-test",
        CONTROL_API_URL="http://127.0.0.1:9/api/v1", SLACK_API_URL="http://127.0.0.1:9/api/",
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
    )  # fmt: skip
    env.update(env_vars)
    port = str(free_port())
    return subprocess.run(
        [EXE, "serve", "--host", "127.0.0.1", "--port", port],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("database_url", "expected"),
    [
        ("sqlite:////no/such/dir/bot.sqlite3", "/no/such/dir is not a directory"),
        ("postgresql://bot:S3cretDbPass@127.0.0.1:9/bot", "Connect call failed"),
    ],
)
def test_a_database_that_cannot_be_opened(tmp_path: Path, database_url: str, expected: str) -> None:
    result = serve(tmp_path, DATABASE_URL=database_url)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "ERROR bot.server: cannot start: cannot open the database" in lines[0] and expected in lines[0]
    assert "S3cretDbPass" not in result.stderr


def test_a_language_the_time_parser_does_not_know(tmp_path: Path) -> None:
    result = serve(tmp_path, WHEN_LANGUAGES="xx")
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "Invalid configuration:",
        "  WHEN_LANGUAGES: expected language codes the time parser knows, comma-separated, e.g. en,es,fr; "
        "entry 1 is unknown",
    ]


def run(*args: str, **env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PORT"}
    env.update(env_vars)
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=60, env=env, check=False)


@pytest.mark.parametrize(("args", "env_vars"), [(["serve", "--port", "99999"], {}), (["serve"], {"PORT": "http"})])
def test_a_port_out_of_range_is_a_usage_error(args: list[str], env_vars: dict[str, str]) -> None:
    """Used to reach the socket's bind (OverflowError) or int() at parser build (PORT=http), both tracebacks."""
    result = run(*args, **env_vars)
    assert result.returncode == 2, result.stderr
    assert (
        result.stderr.splitlines()[-1]
        == "headless-bot serve: error: argument --port: expected a port number from 0 to 65535"
    )
    assert "Traceback" not in result.stderr


def test_simulator_options_out_of_range() -> None:
    result = run("simulator", "--failure-rate", "2", "--devices", "-1", "--port", str(free_port()))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "headless-bot simulator: --devices: Input should be greater than or equal to 0",
        "headless-bot simulator: --failure-rate: Input should be less than or equal to 1",
    ]
    assert result.stdout == "", "nothing started"


def notifier(tmp_path: Path, **env_vars: str) -> subprocess.CompletedProcess[str]:
    """``headless-bot notifier`` with a working environment, but for ``env_vars``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CONTROL_API", "DATABASE_URL", "NOTIF"))}
    env.update(
        SLACK_BOT_TOKEN="xoxb-start-test", CONTROL_API_TOKEN="start-test", CONTROL_API_URL="http://127.0.0.1:9/api/v1",
        SLACK_API_URL="http://127.0.0.1:9/api/", DATABASE_URL=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
    )  # fmt: skip
    env.update(env_vars)
    return subprocess.run(
        [EXE, "notifier", "--host", "127.0.0.1", "--port", str(free_port())],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("env_vars", "line"),
    [
        ({"NOTIFY_CHANNEL": "#ops"}, "NOTIFY_CHANNEL: expected a Slack channel ID such as C0123ABCD (not a #name)"),
        ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN: required (an xoxb-… bot token; OAuth & Permissions)"),
    ],
)
def test_the_notifier_with_a_bad_setting_says_so_in_one_line(
    tmp_path: Path, env_vars: dict[str, str], line: str
) -> None:
    """A value that does not validate, or a token it cannot work without (it needs no signing secret: it serves
    no Slack endpoint): one line naming the variable, exit code 2, nothing started."""
    result = notifier(tmp_path, **env_vars)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [f"headless-bot notifier: {line}"]
    assert not (tmp_path / "bot.sqlite3").exists(), "nothing started"


def test_a_bad_inventory_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """Every problem with its line, on one line of stderr; nothing started."""
    inventory = tmp_path / "devices.csv"
    inventory.write_text("serial,zone,site,tags\nSN1001,UTC,lab,\nSN1002,Mars/Base,lab,\nsn1001,UTC,lab,\n")
    result = serve(tmp_path, INVENTORY_FILE=str(inventory))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"headless-bot serve: INVENTORY_FILE {inventory}: line 3: zone 'Mars/Base' is not an IANA time zone; "
        "line 4: serial 'sn1001' is already on line 2"
    ]
    assert not (tmp_path / "bot.sqlite3").exists(), "nothing started"


def test_a_missing_inventory_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = serve(tmp_path, INVENTORY_FILE=str(tmp_path / "nope.csv"))
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"headless-bot serve: INVENTORY_FILE {tmp_path / 'nope.csv'}: cannot be read")


def test_a_bad_operations_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """The path of the error in the file, on one line of stderr; nothing started."""
    operations = tmp_path / "ops.yaml"
    operations.write_text(
        "firmware_update:\n  parameters:\n    type: object\n    properties:\n"
        "      target_version: {type: string, pattern: '^(\\d+'}\n"
    )
    result = serve(tmp_path, OPERATIONS_FILE=str(operations))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"headless-bot serve: OPERATIONS_FILE {operations}: "
        "firmware_update.parameters.properties.target_version.pattern: '^(\\\\d+' is not a 'regex'"
    ]
    assert not (tmp_path / "bot.sqlite3").exists(), "nothing started"
