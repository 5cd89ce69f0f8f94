"""The house's rules, held by the test suite (so CI holds them): layers, sizes, and only public Slack APIs.

* **Layers** (import-linter, contracts in ``pyproject.toml``): entry points → composition root (``bot.app``) →
  Slack → services → settings → store / control → domain / when → utilities; nothing below the Slack layer imports
  ``bot.slack``, ``slack_sdk`` or ``slack_bolt``; the stand-ins (simulator, Slack kit) import none of the bot; no
  import cycles among the bot's packages.
* **Sizes**: no module in ``bot/`` over 500 lines, no function over 100 (migrations exempt: they are history).
* **Public APIs only**: nothing in ``bot/`` reaches into a private name of slack_bolt or slack_sdk (a module or
  name with a leading underscore, or an attribute with one that the bot itself does not define), so an upgrade
  inside the declared dependency range cannot break the bot silently.
"""

from __future__ import annotations

import ast
import importlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.support.paths import ROOT

BOT = ROOT / "bot"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 100
SLACK_PACKAGES = ("slack_bolt", "slack_sdk")


def bot_modules() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(BOT.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).parent / "lint-imports"
    return subprocess.run([str(lint), "--no-cache"], cwd=root, capture_output=True, text=True, timeout=120, check=False)


def test_import_contracts_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, f"import-linter found broken contracts:\n{result.stdout}\n{result.stderr}"


def test_the_contracts_catch_what_they_forbid(tmp_path: Path) -> None:
    """A copy of the bot with three wrong imports: each breaks its contract (so the check above can fail)."""
    shutil.copytree(BOT, tmp_path / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    wrong = {
        "domain/people.py": "import slack_sdk  # the domain knows no Slack\n",
        "services/watches.py": "import bot.app  # a service reaching up to the composition root\n",
        "when/zones.py": "import bot.when.parse  # a cycle inside bot.when, upwards\n",
    }
    for module, line in wrong.items():
        path = tmp_path / "bot" / module
        path.write_text(path.read_text(encoding="utf-8") + line, encoding="utf-8")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    for expected in (
        "bot.domain.people -> slack_sdk",
        "bot.services.watches -> bot.app",
        "bot.when.zones -> bot.when.parse",
    ):
        assert expected in broken, f"{expected} not reported:\n{result.stdout}"


def test_no_module_over_500_lines_and_no_function_over_100() -> None:
    problems = []
    for path, tree in bot_modules():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        where = path.relative_to(ROOT)
        if lines > MAX_MODULE_LINES:
            problems.append(f"{where}: {lines} lines (at most {MAX_MODULE_LINES}: split it by concern)")
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    problems.append(f"{where}:{node.lineno} {node.name}: {length} lines (at most {MAX_FUNCTION_LINES})")
    assert not problems, "\n".join(problems)


def _defined_names(tree: ast.Module) -> set[str]:
    """Every name a module defines: functions, classes, attributes, variables, parameters."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def _slack_private_names() -> set[str]:
    """The private names slack_bolt and slack_sdk define, minus those the bot defines itself (``_lock``…)."""
    theirs: set[str] = set()
    for package in SLACK_PACKAGES:
        root = Path(importlib.import_module(package).__file__ or "").parent
        for path in root.rglob("*.py"):
            theirs |= _defined_names(ast.parse(path.read_text(encoding="utf-8")))
    ours: set[str] = set()
    for _path, tree in bot_modules():
        ours |= _defined_names(tree)
    return {name for name in theirs - ours if _private(name)}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_only_public_slack_apis() -> None:
    theirs = _slack_private_names()
    problems = []
    for path, tree in bot_modules():
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(SLACK_PACKAGES):
                module = node.module or ""
                if any(_private(part) for part in module.split(".")):
                    problems.append(f"{where}:{node.lineno} imports from the private module {module}")
                problems += [
                    f"{where}:{node.lineno} imports the private name {alias.name} from {module}"
                    for alias in node.names
                    if _private(alias.name)
                ]
            elif isinstance(node, ast.Attribute) and node.attr in theirs:
                problems.append(f"{where}:{node.lineno} reaches into Slack's private {node.attr}")
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "setattr", "hasattr")
                and len(node.args) > 1
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value in theirs
            ):
                problems.append(f"{where}:{node.lineno} reaches into Slack's private {node.args[1].value}")
    assert not problems, "\n".join(problems)
