"""compose.yaml, checked without Docker (``docker compose config`` cannot run here): its shape against a JSON Schema
of the parts we use, and its meaning against the bot itself — each command is one our CLI accepts, each variable
one our settings know (with a value they accept), ports and health checks agree, the image is built from our
Dockerfile, DATABASE_URL points at the compose file's own PostgreSQL, no secret is written in it.

``problems()`` returns every finding as a line; the mutation tests break a copy of the file one way at a time and
check that the break is found, so no check here passes whatever the file says.
"""

from __future__ import annotations

import contextlib
import copy
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from bot.__main__ import _parser
from bot.settings import Settings, SettingsError, load_settings
from tests.support.paths import ROOT

COMPOSE = ROOT / "compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
OURS = {"bot": "serve", "notifier": "notifier"}  # the services running our image, and their commands
DATABASE = "postgres"
PLACEHOLDER = "placeholder0value"  # what an interpolated variable stands for while checking

_DURATION = {"type": "string", "pattern": r"^(\d+(\.\d+)?(us|ms|s|m|h))+$"}
_STRINGS = {"type": "array", "items": {"type": "string"}}
SERVICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "anyOf": [{"required": ["image"]}, {"required": ["build"]}],
    "properties": {
        "image": {"type": "string", "minLength": 1},
        "build": {
            "type": "object",
            "additionalProperties": False,
            "required": ["context"],
            "properties": {"context": {"type": "string"}, "dockerfile": {"type": "string"}},
        },
        "command": {**_STRINGS, "minItems": 1},  # exec form only: what argparse gets is exactly what is written
        "env_file": {"anyOf": [{"type": "string"}, _STRINGS]},
        "environment": {
            "type": "object",
            "propertyNames": {"pattern": "^[A-Z][A-Z0-9_]*$"},
            "additionalProperties": {"type": "string"},
        },
        "ports": {"type": "array", "items": {"type": "string", "pattern": r"^(\d+(-\d+)?:)?\d+$"}},
        "expose": {"type": "array", "items": {"type": "string", "pattern": r"^\d+$"}},
        "depends_on": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["condition"],
                "properties": {"condition": {"enum": ["service_started", "service_healthy"]}},
            },
        },
        "deploy": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"replicas": {"type": "integer", "minimum": 0}},
        },
        "healthcheck": {
            "type": "object",
            "additionalProperties": False,
            "required": ["test"],
            "properties": {
                "test": {
                    "type": "array",
                    "minItems": 2,
                    "prefixItems": [{"enum": ["CMD", "CMD-SHELL"]}],
                    "items": {"type": "string"},
                },
                "interval": _DURATION,
                "timeout": _DURATION,
                "start_period": _DURATION,
                "retries": {"type": "integer", "minimum": 1},
            },
        },
        "volumes": {"type": "array", "items": {"type": "string", "pattern": r"^[\w.-]+:/[^:]*(:ro|:rw)?$"}},
        "restart": {"enum": ["always", "on-failure", "unless-stopped"]},
        "stop_grace_period": _DURATION,
    },
}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["services"],
    "additionalProperties": False,
    "patternProperties": {"^x-": {}},  # extension fields (our YAML anchor)
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$"},
        "services": {"type": "object", "minProperties": 1, "additionalProperties": SERVICE_SCHEMA},
        "volumes": {"type": "object", "additionalProperties": {"type": ["object", "null"]}},
    },
}

_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def load(path: Path = COMPOSE) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())  # resolves the ``<<: *bot`` merges, as compose does
    assert isinstance(data, dict)
    return data


def variables(value: str) -> list[str]:
    """The variables ``${NAME…}`` that compose substitutes in ``value``."""
    return [m["name"] for m in _VARIABLE.finditer(value)]


def interpolate(value: str) -> str:
    """``value`` as compose would make it with every variable set to ``PLACEHOLDER``."""
    return _VARIABLE.sub(PLACEHOLDER, value).replace("$$", "$")


def settings_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def secret_names() -> set[str]:
    """Settings that are secrets (``SecretStr``), and the database URL (it may carry a password)."""
    found = {
        name.upper() for name, f in Settings.model_fields.items() if SecretStr in getattr(f.annotation, "__args__", ())
    }
    return found | {"DATABASE_URL"}


def parse_command(command: list[str]) -> Any:
    """Our CLI's reading of ``command`` (``None`` when argparse refuses it)."""
    if not command or command[0] != "headless-bot":
        return None
    with contextlib.redirect_stderr(io.StringIO()), contextlib.suppress(SystemExit):
        return _parser().parse_args(command[1:])
    return None


# ---------------------------------------------------------------------------------------------------- the checks


def schema_problems(compose: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    return [
        f"schema: {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in validator.iter_errors(compose)
    ]


def command_problems(name: str, service: dict[str, Any]) -> list[str]:
    args = parse_command(service.get("command", []))
    if args is None:
        return [f"{name}: command {service.get('command')} is not one headless-bot accepts"]
    found = []
    if args.command != OURS[name]:
        found.append(f"{name}: runs `{args.command}`, expected `{OURS[name]}`")
    if name == "bot" and not (args.no_notifier and not args.socket):
        found.append("bot: must be `serve --no-notifier` in HTTP mode (the notifier processes poll)")
    if service.get("deploy", {}).get("replicas", 1) < 2:
        found.append(f"{name}: needs 2 replicas or more (one to take over)")
    return found


def port_problems(name: str, service: dict[str, Any]) -> list[str]:
    args = parse_command(service.get("command", []))
    if args is None:
        return []  # the command is refused: command_problems says so
    port = int(args.port)
    found = []
    for published in service.get("ports", []):
        if int(published.rsplit(":", 1)[-1]) != port:
            found.append(f"{name}: publishes container port {published}, the process listens on {port}")
    for exposed in service.get("expose", []):
        if int(exposed) != port:
            found.append(f"{name}: exposes {exposed}, the process listens on {port}")
    test = service.get("healthcheck", {}).get("test", [])
    urls = [urlsplit(u) for u in re.findall(r"https?://[^\s'\"]+", " ".join(test))]
    if not urls:
        found.append(f"{name}: no health check on /healthz")
    for url in urls:
        if url.port != port or url.path != "/healthz":
            found.append(f"{name}: health check {url.geturl()} is not /healthz on port {port}")
    if test[:1] == ["CMD"] and test[1:3] == ["python", "-c"]:
        try:
            compile(test[3], "<healthcheck>", "exec")
        except SyntaxError:
            found.append(f"{name}: the health check's Python does not compile")
    return found


def build_problems(name: str, service: dict[str, Any], base: Path) -> list[str]:
    build = service.get("build") or {}
    context = (base / build.get("context", "/nonexistent")).resolve()
    dockerfile = context / build.get("dockerfile", "Dockerfile")
    if context != ROOT or dockerfile != ROOT / "Dockerfile" or not dockerfile.is_file():
        return [f"{name}: not built from the repository's Dockerfile ({dockerfile})"]
    return []


def environment_problems(name: str, service: dict[str, Any]) -> list[str]:
    environment: dict[str, str] = service.get("environment", {})
    found = [f"{name}: {var} is not a setting of the bot" for var in environment if var not in settings_names()]
    if ".env" not in (
        [service["env_file"]] if isinstance(service.get("env_file"), str) else service.get("env_file", [])
    ):
        found.append(f"{name}: the bot's settings must come from .env (env_file)")
    known = {var.lower(): interpolate(value) for var, value in environment.items() if var in settings_names()}
    try:
        load_settings(_env_file=None, **known)
    except SettingsError as exc:
        found += [f"{name}: {line}" for line in exc.problems]
    return found


def secret_problems(compose: dict[str, Any]) -> list[str]:
    found = []
    for name, service in compose.get("services", {}).items():
        for var, value in service.get("environment", {}).items():
            if name in OURS and var in secret_names() - {"DATABASE_URL"}:
                found.append(f"{name}: {var} is a secret: set it in .env, not in compose.yaml")
            if re.search(r"PASSWORD|TOKEN|SECRET", var) and not re.fullmatch(r"\$\{[^}]+\}", value):
                found.append(f"{name}: {var} is written in the file; use ${{{var}}} from .env")
        url = service.get("environment", {}).get("DATABASE_URL")
        if url and make_url(interpolate(url)).password not in (None, PLACEHOLDER):
            found.append(f"{name}: DATABASE_URL carries a password written in the file")
    return found


def database_problems(name: str, service: dict[str, Any], compose: dict[str, Any]) -> list[str]:
    raw = service.get("environment", {}).get("DATABASE_URL", "")
    if not raw:
        return [f"{name}: no DATABASE_URL: the replicas would each keep their own SQLite file"]
    url = make_url(interpolate(raw))
    target = compose.get("services", {}).get(url.host or "", {})
    env = target.get("environment", {})
    found = []
    if not str(target.get("image", "")).startswith("postgres:"):
        return [f"{name}: DATABASE_URL's host {url.host!r} is not a PostgreSQL service of this file"]
    if not url.drivername.startswith("postgres"):
        found.append(f"{name}: DATABASE_URL is not a PostgreSQL URL")
    if (url.port or 5432) != 5432 or url.database != env.get("POSTGRES_DB") or url.username != env.get("POSTGRES_USER"):
        found.append(f"{name}: DATABASE_URL's port, database or user is not {url.host}'s (5432, POSTGRES_DB/USER)")
    if variables(raw) != variables(env.get("POSTGRES_PASSWORD", "")):
        found.append(f"{name}: DATABASE_URL's password is not {url.host}'s POSTGRES_PASSWORD")
    if service.get("depends_on", {}).get(url.host, {}).get("condition") != "service_healthy":
        found.append(f"{name}: must wait for {url.host} to be healthy (depends_on … service_healthy)")
    return found


def postgres_problems(compose: dict[str, Any]) -> list[str]:
    service = compose.get("services", {}).get(DATABASE)
    if service is None:
        return [f"no `{DATABASE}` service"]
    found = []
    if service.get("image") != "postgres:16":
        found.append(f"{DATABASE}: image {service.get('image')!r}, expected postgres:16")
    if "pg_isready" not in " ".join(service.get("healthcheck", {}).get("test", [])):
        found.append(f"{DATABASE}: no pg_isready health check (the bot waits for it to be healthy)")
    declared = compose.get("volumes") or {}
    mounts = [v.split(":") for v in service.get("volumes", [])]
    if not any(target == "/var/lib/postgresql/data" and source in declared for source, target, *_ in mounts):
        found.append(f"{DATABASE}: its data is not in a named volume declared under volumes:")
    return found


def env_example_problems(compose: dict[str, Any]) -> list[str]:
    """Each name in .env.example is a setting, or a variable compose.yaml substitutes; each of those is there."""
    names = {
        line.split("=", 1)[0].strip()
        for line in ENV_EXAMPLE.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    used = {var for var in variables(yaml.safe_dump(compose))}
    found = [
        f".env.example: {n} is neither a setting nor used by compose.yaml"
        for n in sorted(names - settings_names() - used)
    ]
    found += [f".env.example: compose.yaml needs {n}, which it does not list" for n in sorted(used - names)]
    return found


def problems(compose: dict[str, Any], base: Path = ROOT) -> list[str]:
    """Every finding about ``compose`` (a parsed compose file whose folder is ``base``)."""
    found = schema_problems(compose)
    if found:
        return found  # the meaning checks read a structure the schema has vouched for
    services = compose["services"]
    found += [f"no `{name}` service" for name in OURS if name not in services]
    for name, service in services.items():
        if name in OURS:
            found += command_problems(name, service) + port_problems(name, service)
            found += build_problems(name, service, base) + environment_problems(name, service)
            found += database_problems(name, service, compose)
    return found + secret_problems(compose) + postgres_problems(compose) + env_example_problems(compose)


# ---------------------------------------------------------------------------------------------------- the tests


def test_compose_yaml_has_no_problems() -> None:
    assert problems(load()) == []


def test_the_services_run_the_two_shapes_processes() -> None:
    services = load()["services"]
    assert parse_command(services["bot"]["command"]).no_notifier is True
    assert parse_command(services["notifier"]["command"]).command == "notifier"


def put(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation: set ``a/b/0/c`` under ``services`` (``/volumes``: from the top); ``None`` deletes it."""

    def mutate(compose: dict[str, Any]) -> None:
        *parents, last = path.removeprefix("/").split("/")
        node: Any = compose if path.startswith("/") else compose["services"]
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key: Any = int(last) if isinstance(node, list) else last
        if value is None:
            del node[key]
        else:
            node[key] = value

    return mutate


URL = "postgresql://headless:${POSTGRES_PASSWORD}@postgres:5432/headless"
CHECK = "import urllib.request; urllib.request.urlopen('{}', timeout=4)"
CLI = ["headless-bot"]
MUTATIONS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("a key misspelled", put("bot/healtcheck", {"test": ["CMD", "true"]}), "schema"),
    ("replicas as text", put("notifier/deploy/replicas", "two"), "schema"),
    ("a shell-form command", put("bot/command", "headless-bot serve"), "schema"),
    ("an option the CLI lacks", put("bot/command", [*CLI, "serve", "--no-notifer"]), "not one headless-bot accepts"),
    ("not our command", put("notifier/command", ["python", "-m", "bot", "notifier"]), "not one headless-bot accepts"),
    ("web replicas that poll", put("bot/command", [*CLI, "serve", "--port", "3000"]), "--no-notifier"),
    ("the notifier as serve", put("notifier/command", [*CLI, "serve", "--no-notifier"]), "expected `notifier`"),
    ("one notifier", put("notifier/deploy/replicas", 1), "2 replicas"),
    ("no notifier service", put("notifier", None), "no `notifier` service"),
    ("a variable no setting has", put("bot/environment/DATABASE_URI", URL), "not a setting"),
    ("a value settings refuse", put("bot/environment/POLL_INTERVAL_SECONDS", "0"), "POLL_INTERVAL_SECONDS"),
    ("no .env", put("notifier/env_file", "bot.env"), "from .env"),
    ("a token written in", put("bot/environment/SLACK_BOT_TOKEN", "xoxb-1234-abcd"), "is a secret"),
    ("a password written in", put("postgres/environment/POSTGRES_PASSWORD", "hunter2"), "written in the file"),
    ("a password in the URL", put("bot/environment/DATABASE_URL", URL.replace("${POSTGRES_PASSWORD}", "hunter2")),
     "carries a password"),
    ("another database host", put("bot/environment/DATABASE_URL", URL.replace("@postgres:", "@db:")),
     "not a PostgreSQL service"),
    ("another database name", put("notifier/environment/DATABASE_URL", URL.replace("/headless", "/bot")),
     "POSTGRES_DB"),
    ("another password variable", put("bot/environment/DATABASE_URL", URL.replace("POSTGRES_", "DB_")),
     "POSTGRES_PASSWORD"),
    ("a URL settings refuse", put("bot/environment/DATABASE_URL", "mysql://x@postgres/headless"), "DATABASE_URL"),
    ("no DATABASE_URL", put("notifier/environment/DATABASE_URL", None), "no DATABASE_URL"),
    ("not waiting for a healthy database", put("bot/depends_on/postgres/condition", "service_started"), "healthy"),
    ("a health check on another port", put("notifier/healthcheck/test/3", CHECK.format("http://127.0.0.1:8080/healthz")),
     "not /healthz on port 3000"),
    ("a health check on another path", put("bot/healthcheck/test/3", CHECK.format("http://127.0.0.1:3000/health")),
     "not /healthz"),
    ("a health check that does not compile", put("bot/healthcheck/test/3", CHECK.format("http://127.0.0.1:3000/healthz")[:-1]),
     "does not compile"),
    ("no health check", put("notifier/healthcheck", None), "no health check"),
    ("published on another port", put("bot/ports/0", "3000:8080"), "listens on 3000"),
    ("exposed on another port", put("notifier/expose/0", "8080"), "listens on 3000"),
    ("another Dockerfile", put("bot/build/dockerfile", "Dockerfile.dev"), "not built from"),
    ("another context", put("notifier/build/context", "./docs"), "not built from"),
    ("another PostgreSQL", put("postgres/image", "postgres:15"), "postgres:16"),
    ("no database health check", put("postgres/healthcheck", None), "pg_isready"),
    ("data without a volume", put("postgres/volumes", []), "named volume"),
    ("an undeclared volume", put("/volumes", {}), "named volume"),
]  # fmt: skip


@pytest.mark.parametrize(("mutation", "expected"), [(m, e) for _, m, e in MUTATIONS], ids=[n for n, _, _ in MUTATIONS])
def test_each_check_catches_its_break(mutation: Callable[[dict[str, Any]], None], expected: str) -> None:
    broken = copy.deepcopy(load())
    mutation(broken)
    found = problems(broken)
    assert any(expected in line for line in found), found


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('<<: *bot\n    command: ["headless-bot", "notifier"', 'command: ["headless-bot", "notifier"', "schema"),
        ('"--no-notifier", "--port"', '"--no-notifer", "--port"', "not one headless-bot accepts"),
        ("POSTGRES_DB: headless", "POSTGRES_DB: bot", "POSTGRES_DB"),
    ],
)  # fmt: skip
def test_a_broken_copy_of_the_file_is_caught(tmp_path: Path, old: str, new: str, expected: str) -> None:
    """The same, on the text: a copy of compose.yaml beside a copy of the Dockerfile, edited, parsed, checked."""
    text = COMPOSE.read_text()
    assert old in text
    copied = tmp_path / "compose.yaml"
    copied.write_text(text.replace(old, new, 1))
    found = problems(load(copied), base=ROOT)
    assert any(expected in line for line in found), found


def test_env_example_lists_settings_and_what_compose_needs() -> None:
    assert env_example_problems(load()) == []
    broken = copy.deepcopy(load())
    broken["services"]["postgres"]["environment"]["POSTGRES_USER"] = "${POSTGRES_USER}"
    assert env_example_problems(broken) == [".env.example: compose.yaml needs POSTGRES_USER, which it does not list"]
