"""Settings: comma-separated lists, secrets that never print, one line per wrong variable."""

from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError, load_settings
from tests.support.paths import ROOT

ALL_VARS = [
    "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "CONTROL_API_URL",
    "CONTROL_API_TOKEN", "DATABASE_URL", "APPROVAL_CHANNEL", "NOTIFY_CHANNEL", "APPROVERS", "ONCALL_GROUP",
    "POLL_INTERVAL_SECONDS", "MAINTENANCE_WINDOWS", "APPROVAL_REQUIRED_FOR", "OPERATION_TYPES",
    "DEFAULT_TIMEZONE", "LOG_LEVEL", "NOTIFY_SCOPE", "WINDOW_POLICY",
]  # fmt: skip


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in ALL_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults() -> None:
    settings = load_settings()
    assert settings.control_api_url == "https://control.zequenze.com/api/v1"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.poll_interval_seconds == 60
    assert settings.approval_required("reboot") is True
    assert settings.windows == []
    assert settings.default_timezone == "UTC"


def test_lists_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPROVERS", "U123ABC, U456DEF,S789GHI ,")
    monkeypatch.setenv("OPERATION_TYPES", "firmware_update,reboot")
    monkeypatch.setenv("APPROVAL_REQUIRED_FOR", "firmware_update")
    settings = load_settings()
    assert settings.approvers == ["U123ABC", "U456DEF", "S789GHI"]
    assert settings.approver_users == ["U123ABC", "U456DEF"]
    assert settings.approver_groups == ["S789GHI"]
    assert settings.operation_types == ["firmware_update", "reboot"]
    assert settings.approval_required("firmware_update") is True
    assert settings.approval_required("reboot") is False


def test_approval_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPROVAL_REQUIRED_FOR", "none")
    assert load_settings().approval_required("reboot") is False


def test_secrets_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-SECRET-bot-123")
    monkeypatch.setenv("CONTROL_API_TOKEN", "ctl-SECRET-456")
    settings = load_settings()
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-SECRET-bot-123"
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert "SECRET" not in text


def test_database_url_gets_async_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    assert load_settings().database_url == "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    monkeypatch.setenv("DATABASE_URL", "sqlite:///tmp/x.db")
    assert load_settings().database_url == "sqlite+aiosqlite:///tmp/x.db"


def test_maintenance_windows_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAINTENANCE_WINDOWS", "Sat,Sun 02:00-06:00 America/Costa_Rica; Wed 01:00-03:00 UTC")
    assert len(load_settings().windows) == 2


def test_one_line_per_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPROVERS", "alice,U123ABC")
    monkeypatch.setenv("POLL_INTERVAL_SECONDS", "often")
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("APPROVAL_CHANNEL", "#ops")
    monkeypatch.setenv("MAINTENANCE_WINDOWS", "Caturday 02:00-06:00 UTC")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-SECRET-should-not-leak")
    with pytest.raises(SettingsError) as info:
        load_settings()
    problems = info.value.problems
    names = sorted(line.split(":", 1)[0] for line in problems)
    assert names == sorted(
        ["APPROVERS", "POLL_INTERVAL_SECONDS", "DEFAULT_TIMEZONE", "APPROVAL_CHANNEL", "MAINTENANCE_WINDOWS"]
    )
    assert "entry 1 is not" in next(line for line in problems if line.startswith("APPROVERS"))
    assert "alice" not in str(info.value) and "Mars" not in str(info.value), "values are never echoed"
    assert "SECRET" not in str(info.value)


def test_slack_ids_follow_the_rules_the_rest_of_the_bot_reads_them_by(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings check ids with ``bot.domain.ids``, as the command parser and the forms do: up to 64 characters."""
    monkeypatch.setenv("APPROVAL_CHANNEL", "C" + "A" * 63)
    monkeypatch.setenv("APPROVERS", "U" + "A" * 63 + ",S" + "A" * 63)
    settings = load_settings()
    assert settings.approval_channel == "C" + "A" * 63
    assert settings.approver_users == ["U" + "A" * 63] and settings.approver_groups == ["S" + "A" * 63]
    monkeypatch.setenv("APPROVAL_CHANNEL", "C" + "A" * 64)
    monkeypatch.setenv("APPROVERS", "U" + "A" * 64)
    monkeypatch.setenv("ONCALL_GROUP", "S" + "A" * 64)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert sorted(line.split(":", 1)[0] for line in info.value.problems) == [
        "APPROVAL_CHANNEL",
        "APPROVERS",
        "ONCALL_GROUP",
    ]


def test_approval_types_must_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPERATION_TYPES", "reboot")
    monkeypatch.setenv("APPROVAL_REQUIRED_FOR", "firmware_update")
    with pytest.raises(SettingsError, match="APPROVAL_REQUIRED_FOR"):
        load_settings()


def test_dotenv_is_read(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("ONCALL_GROUP=S0ONCALL1\nLOG_LEVEL=debug\n")
    settings = Settings()
    assert settings.oncall_group == "S0ONCALL1"
    assert settings.log_level == "DEBUG"


def test_database_password_never_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.logs import RedactSecrets, secrets_of

    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:S3cretDbPass@db.internal:5432/bot")
    settings = load_settings()
    assert "S3cretDbPass" not in repr(settings)
    assert "S3cretDbPass" not in RedactSecrets(secrets_of(settings)).redact(f"connect {settings.database_url}")


def test_when_languages_must_be_known_to_the_time_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown language used to pass (two letters) and stop the bot at its warm-up, or fail every phrase."""
    monkeypatch.setenv("WHEN_LANGUAGES", "en,xx")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert info.value.problems == [
        "WHEN_LANGUAGES: expected language codes the time parser knows, comma-separated, e.g. en,es,fr; "
        "entry 2 is unknown"
    ]
    monkeypatch.setenv("WHEN_LANGUAGES", "FR, zh-hans,fr")
    assert load_settings().when_languages == ["fr", "zh-Hans"], "dateparser's spelling, once each"
    monkeypatch.setenv("WHEN_LANGUAGES", " , ")
    with pytest.raises(SettingsError, match="WHEN_LANGUAGES: expected language codes"):
        load_settings()


def test_a_folder_of_zones_is_not_a_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """``America`` made ZoneInfo raise IsADirectoryError, which escaped validation as a traceback."""
    for name in ("America", "Mars/Base", "/etc/localtime", "x" * 300):
        monkeypatch.setenv("DEFAULT_TIMEZONE", name)
        with pytest.raises(SettingsError) as info:
            load_settings()
        assert info.value.problems == ["DEFAULT_TIMEZONE: expected an IANA time zone such as America/Costa_Rica or UTC"]


def test_database_url_the_store_cannot_read_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """These passed validation and raised in the store at start, with the URL (and its password) in a traceback."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:S3cretDbPass@db.internal:54x32/bot")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert len(info.value.problems) == 1
    assert info.value.problems[0].startswith("DATABASE_URL: expected a postgresql://user@host:5432/db or sqlite:")
    assert "S3cret" not in str(info.value) and "54x32" not in str(info.value)
    monkeypatch.setenv("DATABASE_URL", "sqlite:///./bot.sqlite3?schema=bot")
    with pytest.raises(SettingsError, match="DATABASE_URL: a schema can only be chosen on PostgreSQL"):
        load_settings()


def test_loading_settings_does_not_load_the_time_parser(tmp_path) -> None:
    """Settings validate MAINTENANCE_WINDOWS with bot.when.windows only: neither the grammar nor dateparser is
    imported to read the configuration (a fresh interpreter, since this one has imported everything)."""
    import json
    import subprocess
    import sys

    code = (
        "import json, sys\n"
        "import bot.settings\n"
        "settings = bot.settings.load_settings()\n"
        "assert settings.windows, 'the windows were parsed'\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('bot.when', 'dateparser')))))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "MAINTENANCE_WINDOWS": "Sat,Sun 02:00-06:00 America/Costa_Rica"}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.splitlines()[-1])
    assert "bot.when.windows" in loaded
    heavy = {"bot.when.grammar", "bot.when.extract", "bot.when.resolve", "bot.when.fallback", "bot.when.parse"}
    assert not heavy & set(loaded), f"loading settings imported {sorted(heavy & set(loaded))}"
    assert not [m for m in loaded if m.startswith("dateparser")], "loading settings imported dateparser"
