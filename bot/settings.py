"""Every knob of the bot: its environment variable, its default, and its validation.

Configuration comes from the environment (and an optional ``.env`` file in the working directory), 12-factor
style. Lists are written the way people write them in an environment, comma-separated
(``APPROVERS=U123ABC,U456DEF,S789GHI``), never as JSON. Secrets are ``SecretStr``: they print as ``**********``.

``load_settings()`` turns a wrong value into ``SettingsError``, whose message has one line per problem naming the
variable and what is expected, so a bad deployment fails at start with a message an operator can act on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain.access import parse_rules
from bot.domain.ids import CHANNEL_ID, GROUP_ID, OPERATION_TYPE, USER_ID, users_and_groups
from bot.when.device import IfPast
from bot.when.vocabulary import DEFAULT_LANGUAGES
from bot.when.windows import MaintenanceWindow, WindowPolicy, parse_windows

DEFAULT_OPERATION_TYPES = (
    "firmware_update",
    "configuration_update",
    "reboot",
    "factory_reset",
    "diagnostics",
)

_HTTP_URL = re.compile(r"^https?://[^\s/]+")
ZONE_EXPECTED = "expected an IANA time zone such as America/Costa_Rica or UTC"
URL_EXPECTED = "expected an http(s):// URL such as https://example.com/api"


class NotifyScope(StrEnum):
    """Which operations ``NOTIFY_CHANNEL`` hears about."""

    ALL = "all"
    BOT_CREATED = "bot-created"
    FAILURES = "failures"


def split_list(value: Any) -> Any:
    """``"a, b,,c"`` → ``["a", "b", "c"]``; lists pass through; anything else is left to the field's type."""
    if value is None:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.replace("\n", ",").split(",") if item.strip()]
    return value


CommaList = Annotated[list[str], NoDecode]


def is_time_zone(name: str) -> bool:
    """Is ``name`` an IANA zone this machine knows? Never raises: ``America`` (a folder of zones), a path, a name
    too long for the file system are all just "no"."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def is_http_url(value: str) -> bool:
    """An ``http(s)://host…`` URL (what the bot's HTTP clients can call)."""
    return bool(_HTTP_URL.match(value.strip()))


def _entries(numbers: list[int]) -> str:
    """``entry 2 is`` / ``entries 1, 3 are``: where the bad items are, without repeating them (a misplaced secret
    must not end up in a start-up error)."""
    if len(numbers) == 1:
        return f"entry {numbers[0]} is"
    return f"entries {', '.join(map(str, numbers))} are"


class Settings(BaseSettings):
    """The bot's configuration. Field names are the environment variables, upper-cased."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        validate_default=True,
    )

    # Slack
    slack_bot_token: SecretStr | None = Field(None, description="Bot token (xoxb-…) for the Web API.")
    slack_signing_secret: SecretStr | None = Field(None, description="Verifies requests to /slack/events.")
    slack_app_token: SecretStr | None = Field(None, description="App-level token (xapp-…) for Socket Mode.")
    slack_api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL (tests, proxies).")

    # Control API
    control_api_url: str = Field(
        "https://control.zequenze.com/api/v1", description="Base URL of the Zequenze Control API."
    )
    control_api_token: SecretStr | None = Field(None, description="Bearer token for the Control API.")
    control_api_timeout_seconds: float = Field(10.0, gt=0, le=300, description="Timeout of ordinary calls.")
    control_api_refresh_timeout_seconds: float = Field(
        30.0, gt=0, le=600, description="Read timeout of update_status=true calls (slow by design)."
    )
    control_api_max_connections: int = Field(
        50, ge=1, le=1000, description="Calls to the Control API at once, per process; more wait their turn."
    )

    # Storage
    database_url: str = Field(
        "sqlite+aiosqlite:///./headless-bot.sqlite3",
        repr=False,  # it may carry a password
        description="SQLAlchemy URL: SQLite file or PostgreSQL.",
    )

    # People and channels
    approval_channel: str | None = Field(None, description="Channel ID where approval requests are posted.")
    notify_channel: str | None = Field(None, description="Channel ID that hears about every status change.")
    notify_scope: NotifyScope = Field(NotifyScope.ALL, description="Which operations NOTIFY_CHANNEL hears about.")
    approvers: CommaList = Field(default_factory=list, description="User IDs (U…) and user-group IDs (S…).")
    allow_self_approval: bool = Field(False, description="May a requester approve their own request?")
    access_rules: str = Field(
        "",
        description="Who may do what, where: `allow|deny ACTIONS to WHO [in PLACES]` rules separated by `;` "
        "(deny wins, then allow, else denied); unset (and no ACCESS_FILE) = everyone may do everything.",
    )
    access_file: str | None = Field(
        None, description="The access rules as YAML (a list of rules), instead of ACCESS_RULES."
    )
    access_group_cache_seconds: float = Field(
        300.0, ge=0, le=86_400, description="How long a user group's members are trusted before Slack is asked again."
    )
    oncall_group: str | None = Field(None, description="User-group ID (S…) mentioned on failures.")

    # Behaviour
    poll_interval_seconds: float = Field(60.0, ge=1, le=3600, description="Notifier polling period.")
    notifier_enabled: bool = Field(True, description="Run the notifier (one replica polls at a time anyway).")
    digest_threshold: int = Field(
        10, ge=1, le=1000, description="More changes than this for one channel in one poll → one digest message."
    )
    notifier_forget_after_days: int = Field(
        7, ge=1, le=3650, description="An operation missing from every complete poll this long is forgotten."
    )
    notifier_page_concurrency: int = Field(
        4, ge=1, le=32, description="List pages the notifier fetches at once once the first gives the count."
    )
    list_cache_seconds: float = Field(
        2.0, ge=0, le=60, description="How long one list answer serves every /headless list (0 = never shared)."
    )
    refresh_cooldown_seconds: float = Field(60.0, ge=0, le=3600, description="Per-operation refresh cooldown.")
    maintenance_windows: str = Field(
        "", description="e.g. 'Sat,Sun 02:00-06:00 America/Costa_Rica; Wed 01:00-03:00 UTC'"
    )
    window_policy: WindowPolicy = Field(WindowPolicy.WARN, description="Scheduling outside a window.")
    approval_required_for: CommaList = Field(
        default_factory=lambda: ["*"], description="Operation types needing approval; '*' = all, 'none' = none."
    )
    operation_types: CommaList = Field(
        default_factory=lambda: list(DEFAULT_OPERATION_TYPES), description="Operation types people may schedule."
    )
    reconcile_after_seconds: float = Field(
        60.0, ge=0, le=3600, description="An item left 'creating' this long is looked up in the Control API."
    )
    maintenance_interval_seconds: float = Field(
        15.0, gt=0, le=3600, description="How often expiry, reconciliation and re-posting run."
    )
    min_lead_seconds: float = Field(
        60.0,
        ge=0,
        le=3600,
        description="An operation is only created this far (or further) ahead of its scheduled time: a Confirm, "
        "Submit or Approve later than that expires the request instead.",
    )
    request_lease_seconds: float = Field(
        20.0,
        ge=1,
        le=600,
        description="How long a bot process that stopped answering keeps other replicas off a request it was "
        "working on (renewed while it works).",
    )
    inventory_file: str | None = Field(
        None,
        description="The device inventory: a CSV (header serial,zone,site,tags) or YAML file; unset = no inventory.",
    )
    inventory_reload_seconds: float = Field(
        60.0, gt=0, le=86400, description="How often INVENTORY_FILE is checked for changes (mtime/size) and reloaded."
    )
    inventory_strict: bool = Field(
        True,
        description="With INVENTORY_FILE: refuse a request naming serials the inventory lacks (false: a warning).",
    )
    max_devices_per_request: int = Field(
        5000,
        ge=1,
        le=100_000,
        validation_alias=AliasChoices("max_devices_per_request", "max_serials_per_request"),
        description="Devices in one schedule request, however they are given (serials, selectors, a CSV). "
        "MAX_SERIALS_PER_REQUEST, its earlier name, is still read.",
    )
    rollout_lead_seconds: float = Field(
        120.0, ge=0, le=86_400, description="A rollout's next wave is scheduled this far after it is created."
    )
    create_rate_per_minute: float = Field(
        120.0, gt=0, le=60_000, description="How many operations the bot creates per minute for one request."
    )
    device_zone_default: str | None = Field(
        None,
        description="Device-local time (“02:00 device-local”): the IANA zone of devices whose inventory entry has "
        "no zone; unset = such devices are refused and listed.",
    )
    device_local_if_past: IfPast = Field(
        IfPast.NEXT_DAY,
        description="Device-local time of day without a date (“02:00 device-local”) already past today in a "
        "device's zone: next-day = tomorrow there, with a warning; refuse = the request is refused, naming the zones.",
    )
    operations_file: str | None = Field(
        None,
        description="The operation types (YAML): per type its description, parameters as JSON Schema, approval and "
        "window policy; unset = OPERATION_TYPES with free parameters.",
    )
    default_timezone: str = Field("UTC", description="IANA zone used when a person's Slack zone is unknown.")
    when_languages: CommaList = Field(
        default_factory=lambda: ["en", "es"], description="Languages understood in scheduling times."
    )
    when_horizon_days: int = Field(365, ge=1, le=3650, description="How far ahead an operation may be scheduled.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field("INFO")

    _windows: list[MaintenanceWindow] = PrivateAttr(default_factory=list)

    # --- validators -------------------------------------------------------------------------------------------

    @field_validator("approvers", "approval_required_for", "operation_types", "when_languages", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        return split_list(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator(
        "approval_channel", "notify_channel", "oncall_group", "slack_bot_token", "slack_signing_secret",
        "slack_app_token", "control_api_token", "inventory_file", "device_zone_default", "operations_file",
        "access_file",
        mode="before",
    )  # fmt: skip
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("approvers")
    @classmethod
    def _check_approvers(cls, value: list[str]) -> list[str]:
        bad = [n for n, item in enumerate(value, 1) if not (USER_ID.match(item) or GROUP_ID.match(item))]
        if bad:
            raise ValueError(
                "expected Slack user IDs (U…/W…) or user-group IDs (S…), comma-separated; "
                f"{_entries(bad)} not like that"
            )
        return value

    @field_validator("approval_channel", "notify_channel")
    @classmethod
    def _check_channel(cls, value: str | None) -> str | None:
        if value is not None and not CHANNEL_ID.match(value):
            raise ValueError("expected a Slack channel ID such as C0123ABCD (not a #name)")
        return value

    @field_validator("oncall_group")
    @classmethod
    def _check_group(cls, value: str | None) -> str | None:
        if value is not None and not GROUP_ID.match(value):
            raise ValueError("expected a Slack user-group ID such as S0123ABCD")
        return value

    @field_validator("operation_types")
    @classmethod
    def _check_types(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("expected at least one operation type, e.g. firmware_update,reboot")
        bad = [n for n, item in enumerate(value, 1) if not OPERATION_TYPE.match(item)]
        if bad:
            raise ValueError(f"expected snake_case operation types such as firmware_update; {_entries(bad)} not")
        return list(dict.fromkeys(value))

    @field_validator("approval_required_for")
    @classmethod
    def _check_approval_types(cls, value: list[str]) -> list[str]:
        lowered = [item.lower() for item in value]
        if lowered in (["none"], []):
            return []
        if any(item in ("*", "all") for item in lowered):
            return ["*"]
        return value

    @field_validator("default_timezone", "device_zone_default")
    @classmethod
    def _check_zone(cls, value: str | None) -> str | None:
        if value is not None and not is_time_zone(value):
            raise ValueError(ZONE_EXPECTED)
        return value

    @field_validator("when_languages")
    @classmethod
    def _check_languages(cls, value: list[str]) -> list[str]:
        """Only languages the time parser has data for: an unknown one would fail every phrase, so it fails here,
        at start. Written the way dateparser spells them (``zh-Hans``), in any case."""
        if not value:
            raise ValueError("expected language codes, comma-separated, e.g. en,es")
        known = _time_languages(value)
        bad = [n for n, item in enumerate(value, 1) if item.lower() not in known]
        if bad:
            expected = "expected language codes the time parser knows, comma-separated, e.g. en,es,fr"
            raise ValueError(f"{expected}; {_entries(bad)} unknown")
        return list(dict.fromkeys(known[item.lower()] for item in value))

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Accept the URLs people have at hand and pick the async driver for them."""
        value = value.strip()
        for plain, driver in (
            ("postgres://", "postgresql+asyncpg://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if value.startswith(plain):
                value = driver + value[len(plain) :]
                break
        if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError("expected a postgresql://… or sqlite:///path URL")
        _check_database_url(value)
        return value

    @field_validator("slack_api_url", "control_api_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip()
        if not is_http_url(value):
            raise ValueError(URL_EXPECTED)
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _slash_terminated(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("maintenance_windows")
    @classmethod
    def _check_windows(cls, value: str) -> str:
        parse_windows(value)  # raises ValueError naming the bad part
        return value.strip()

    @field_validator("access_rules")
    @classmethod
    def _check_access_rules(cls, value: str) -> str:
        parse_rules(value)  # AccessRulesError (a ValueError) names the rule's number and the unknown word
        return value.strip()

    @model_validator(mode="after")
    def _derive(self) -> Settings:
        self._windows = list(parse_windows(self.maintenance_windows))
        if self.access_rules and self.access_file:
            raise ValueError("set ACCESS_RULES or ACCESS_FILE, not both: the rules are numbered in one place")
        if self.reconcile_after_seconds <= self.control_api_timeout_seconds:
            raise ValueError(
                "RECONCILE_AFTER_SECONDS must be longer than CONTROL_API_TIMEOUT_SECONDS: "
                "a create request may still be in flight until its timeout"
            )
        unknown = [t for t in self.approval_required_for if t != "*" and t not in self.operation_types]
        if unknown and not self.operations_file:  # with the file, its types are checked when it is read
            raise ValueError(f"APPROVAL_REQUIRED_FOR names types that are not in OPERATION_TYPES: {', '.join(unknown)}")
        return self

    # --- derived ------------------------------------------------------------------------------------------------

    @property
    def windows(self) -> list[MaintenanceWindow]:
        """The parsed maintenance windows."""
        return list(self._windows)

    @property
    def approver_users(self) -> list[str]:
        return users_and_groups(self.approvers)[0]

    @property
    def approver_groups(self) -> list[str]:
        return users_and_groups(self.approvers)[1]

    def approval_required(self, operation_type: str) -> bool:
        return "*" in self.approval_required_for or operation_type in self.approval_required_for


def _time_languages(wanted: list[str]) -> dict[str, str]:
    """Lower-cased code → dateparser's spelling, of the languages the time parser can be given. The grammar's own
    (``en``, ``es``) are known without importing dateparser, which most configurations then never wait for here."""
    own = {lang: lang for lang in DEFAULT_LANGUAGES}
    if all(item.lower() in own for item in wanted):
        return own
    from dateparser.data.languages_info import language_order  # deliberately lazy: ~70 ms

    return {lang.lower(): lang for lang in language_order}


def _check_database_url(url: str) -> None:
    """The URL must parse the way the store will parse it (else the store would raise at start, with the URL, and
    maybe its password, in a traceback). The parser's own words are never shown: they may quote the password."""
    from sqlalchemy.engine import make_url

    from bot.store.engine import parse_database_url

    try:
        make_url(url)
    except Exception:
        raise ValueError(
            "expected a postgresql://user@host:5432/db or sqlite:///path URL; this one cannot be read (is the port a "
            "number? characters such as @ : / in the password must be %-encoded, e.g. @ as %40)"
        ) from None
    parse_database_url(url)  # its ValueErrors (a schema on SQLite, a bad schema name) name no secret


class SettingsError(Exception):
    """Configuration that cannot work; ``problems`` has one line per bad variable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Invalid configuration:\n" + "\n".join(f"  {line}" for line in problems))


def _describe(error: Mapping[str, Any]) -> str:
    loc = [str(part) for part in error.get("loc", ()) if not isinstance(part, int)]
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    # Never echo the offending input: it may be a secret pasted into the wrong variable.
    return f"{loc[0].upper()}: {message}" if loc else message


def load_settings(**overrides: Any) -> Settings:
    """Read the environment (and ``.env``); raise ``SettingsError`` with one line per problem."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError([_describe(err) for err in exc.errors(include_input=False)]) from None
