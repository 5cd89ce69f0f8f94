"""``headless-bot serve`` that cannot start says why in one line and exits with code 2, never with a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.servers import free_port

EXE = str(Path(sys.executable).with_name("headless-bot"))


def serve(tmp_path: Path, **env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CONTROL_API", "DATABASE_URL", "WHEN_"))}
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
