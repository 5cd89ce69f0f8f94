"""The layers hold: arrows point down only (``slack | console | server`` → ``services`` → ``store | control |
when``), the services know no Slack, nothing but the entry points builds the bot (``bot.app``), and no module or
function grows past what a person can read. Read from the source (the AST), so a violation is named by file."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"

SLACK_LIBRARIES = ("slack_sdk", "slack_bolt", "bot.slack")
ENTRY_POINTS = ("bot/__main__.py", "bot/server.py", "bot/console")  # the only modules that may build the bot
# Modules over the limits that other parts of issue #13 are splitting; each leaves this list as its part lands.
NOT_YET_SPLIT: set[str] = set()
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 100


def modules(*packages: str) -> Iterator[Path]:
    for package in packages:
        path = BOT / package
        yield from sorted(path.rglob("*.py")) if path.is_dir() else ([path] if path.exists() else [])


def name(path: Path) -> str:
    return str(path.relative_to(BOT.parent))


def imported(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, at any depth (also under ``TYPE_CHECKING`` and inside functions)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


@pytest.mark.parametrize(
    "package", ["services", "store", "control", "simulator", "domain", "when", "when.py", "tasks.py", "settings.py"]
)
def test_the_lower_layers_know_no_slack(package: str) -> None:
    found = [
        f"{name(path)} imports {module}"
        for path in modules(package)
        for module in imported(path)
        if under(module, SLACK_LIBRARIES)
    ]
    assert found == []


def test_only_the_entry_points_build_the_bot() -> None:
    found = [
        f"{name(path)} imports {module}"
        for path in modules(".")
        if not name(path).startswith(ENTRY_POINTS)
        for module in imported(path)
        if under(module, ("bot.app", "bot.runtime"))
    ]
    assert found == []


def test_services_do_not_reach_up_into_the_front_ends() -> None:
    upward = ("bot.slack", "bot.console", "bot.server", "bot.app", "bot.__main__")
    found = [
        f"{name(path)} imports {module}"
        for path in modules("services")
        for module in imported(path)
        if under(module, upward)
    ]
    assert found == []


def test_no_module_or_function_is_too_long_to_read() -> None:
    found = []
    for path in modules("."):
        if "migrations" in path.parts or name(path) in NOT_YET_SPLIT:
            continue
        source = path.read_text(encoding="utf-8")
        if (lines := source.count("\n")) > MAX_MODULE_LINES:
            found.append(f"{name(path)}: {lines} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(f"{name(path)}: {node.name}() {length} lines")
    assert found == []


def test_the_checks_can_see_a_violation(tmp_path: Path) -> None:
    """The AST walk finds an import hidden in a function and under TYPE_CHECKING (so the checks above can fail)."""
    module = tmp_path / "sneaky.py"
    module.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.slack.web import SlackWeb\n"
        "def f():\n    import slack_sdk\n",
        encoding="utf-8",
    )
    assert [m for m in imported(module) if under(m, SLACK_LIBRARIES)] == ["bot.slack.web", "slack_sdk"]
