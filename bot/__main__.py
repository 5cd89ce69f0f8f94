"""The ``headless-bot`` command line: ``serve``, ``serve --socket``, ``serve --no-notifier``, ``notifier``,
``console``, ``simulator``.

Each subcommand loads the settings first, so a wrong environment fails at once with one line per problem.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from bot import __version__


def _port(text: str) -> int:
    """A TCP port; anything else is argparse's one-line usage error rather than a traceback from the bind."""
    if not text.strip().isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError("expected a port number from 0 to 65535")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="headless-bot",
        description="Slack chat-ops bot for headless operations through the Zequenze Control API.",
    )
    parser.add_argument("--version", action="version", version=f"headless-bot {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the bot: HTTP mode (default) or Socket Mode (--socket)")
    serve.add_argument("--port", type=_port, default=os.environ.get("PORT", "3000"), help="HTTP port (PORT, 3000)")
    serve.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"), help="HTTP bind address (0.0.0.0)")  # noqa: S104
    serve.add_argument("--socket", action="store_true", help="Socket Mode with SLACK_APP_TOKEN instead of HTTP")
    serve.add_argument(
        "--no-notifier",
        action="store_true",
        help="do not poll the Control API in this process, whatever NOTIFIER_ENABLED says (web replicas, beside "
        "`headless-bot notifier` processes)",
    )

    notifier = commands.add_parser(
        "notifier",
        help="run only the notifier: poll the Control API, post what changed to Slack (no Slack endpoint; "
        "/healthz and /metrics on --port); any number may run, one polls at a time",
    )
    notifier.add_argument("--port", type=_port, default=os.environ.get("PORT", "3000"), help="HTTP port (PORT, 3000)")
    notifier.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"), help="HTTP bind address (0.0.0.0)")  # noqa: S104

    console = commands.add_parser("console", help="the bot in your terminal, with the built-in simulator")
    console.add_argument(
        "--api-url", default=None, help="use this Control API (default: CONTROL_API_URL, else the simulator)"
    )
    console.add_argument("--database", default=None, help="SQLite file to keep state in (default: a temporary one)")
    console.add_argument("--tz", default=None, help="your IANA time zone (default: this machine's)")

    sim = commands.add_parser("simulator", help="run the Control API simulator (no credentials needed)")
    sim.add_argument("--port", type=_port, default=8080, help="port to listen on (8080)")
    sim.add_argument("--host", default="127.0.0.1", help="bind address (127.0.0.1)")
    sim.add_argument(
        "--token", default=None, help="Bearer token to accept (default: CONTROL_API_TOKEN, else a demo one)"
    )
    sim.add_argument("--seed", type=int, default=42, help="seed of the inventory and outcomes (42)")
    sim.add_argument("--devices", type=int, default=20, help="devices besides SN123456789 (20)")
    sim.add_argument("--failure-rate", type=float, default=0.1, help="share of operations that fail (0.1)")
    sim.add_argument("--refresh-delay", type=float, default=2.0, help="seconds update_status=true takes (2)")
    sim.add_argument("--page-size", type=int, default=None, help="paginate the list endpoint with this page size")
    return parser


def _console_problem(args: argparse.Namespace, api_url: str | None) -> str | None:
    """The first console option that cannot work, as one line saying what to give instead (checked before
    anything starts)."""
    from pathlib import Path

    from bot.settings import URL_EXPECTED, ZONE_EXPECTED, is_http_url, is_time_zone

    if args.tz is not None and not is_time_zone(args.tz):
        return f"--tz: {ZONE_EXPECTED}"
    if api_url is not None and not is_http_url(api_url):
        where = "--api-url" if args.api_url else "CONTROL_API_URL"
        return f"{where}: {URL_EXPECTED}; leave it out to use the built-in simulator"
    if args.database:
        path = Path(args.database)
        if path.is_dir():
            return f"--database: {path} is a folder; name a file in it, e.g. {path / 'console.sqlite3'}"
        if not path.parent.is_dir():
            return f"--database: the folder {path.parent} does not exist; create it or name a file in another one"
    return None


def _simulator_problems(overrides: dict[str, Any]) -> list[str]:
    """One line per simulator option out of range (``--failure-rate 2``), naming the option; none if all fit."""
    from pydantic import ValidationError

    from bot.simulator import SimulatorConfig

    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        SimulatorConfig(token="-", **given)  # noqa: S106 - a placeholder: only the options are checked
    except ValidationError as exc:
        options = {"extra_devices": "--devices"}
        lines = []
        for error in exc.errors(include_input=False):
            name = str(error["loc"][0]) if error["loc"] else ""
            lines.append(f"{options.get(name, '--' + name.replace('_', '-'))}: {error['msg']}")
        return lines
    return []


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "simulator":
        from bot.simulator import run_simulator

        token = args.token or os.environ.get("CONTROL_API_TOKEN") or None
        overrides = {
            "seed": args.seed, "extra_devices": args.devices, "failure_rate": args.failure_rate,
            "refresh_delay": args.refresh_delay, "page_size": args.page_size,
        }  # fmt: skip
        problems = _simulator_problems(overrides)
        if problems:
            print("\n".join(f"headless-bot simulator: {line}" for line in problems), file=sys.stderr)
            return 2
        run_simulator(port=args.port, token=token, host=args.host, **overrides)
        return 0

    if args.command == "console":
        from bot.console import run_console

        api_url = args.api_url or os.environ.get("CONTROL_API_URL") or None
        problem = _console_problem(args, api_url)
        if problem:
            print(f"headless-bot console: {problem}", file=sys.stderr)
            return 2
        token = os.environ.get("CONTROL_API_TOKEN") if api_url else None
        return run_console(api_url=api_url, api_token=token, database=args.database, tz=args.tz)

    from bot.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        if args.command == "notifier":  # one line per problem, like the other commands' own options
            print("\n".join(f"headless-bot notifier: {line}" for line in exc.problems), file=sys.stderr)
        else:
            print(exc, file=sys.stderr)
        return 2

    if args.command == "serve":
        from bot.server import run_server

        return run_server(
            settings, host=args.host, port=args.port, socket_mode=args.socket, notifier=not args.no_notifier
        )
    if args.command == "notifier":
        from bot.server import run_notifier

        return run_notifier(settings, host=args.host, port=args.port)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
