"""bot.when is a package of small modules: its old import paths keep working, its layers import one way.

``from bot.when import X`` resolves lazily (PEP 562), so what a caller imports decides what is loaded; these tests
hold the re-exports. The order of the layers inside the package and the size limits are held with the rest of the
house, in ``tests/unit/test_architecture.py`` (import-linter's ``when-inside`` contract).
"""

from __future__ import annotations

import ast
import importlib

import pytest

import bot.when
from tests.support.paths import ROOT

PACKAGE = ROOT / "bot" / "when"


MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")


def _names_imported_from_bot_when() -> set[str]:
    """What ``from bot.when import …`` names anywhere in the bot, the tests and the benchmarks."""
    names: set[str] = set()
    for folder in ("bot", "tests", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.ImportFrom) and node.module == "bot.when":
                    names.update(alias.name for alias in node.names)
    return names


def test_the_package_init_imports_nothing_eagerly() -> None:
    """Importing any bot.when module runs bot/when/__init__ first: it must not pull the grammar in behind it."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    typing_only = {
        id(node)
        for block in tree.body
        if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"
        for node in ast.walk(block)
    }
    eager = [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in typing_only and "bot" in ast.unparse(node)
    ]
    assert not eager, f"bot/when/__init__.py imports at run time: {eager}"


def test_every_name_imported_from_bot_when_is_re_exported() -> None:
    used = _names_imported_from_bot_when()
    assert used, "the scan found the callers"
    assert used <= set(bot.when.__all__), f"not re-exported: {sorted(used - set(bot.when.__all__))}"


@pytest.mark.parametrize("name", sorted(bot.when.__all__))
def test_a_re_exported_name_is_the_object_of_its_module(name: str) -> None:
    value = getattr(bot.when, name)
    defined_in = [
        module
        for module in MODULES
        if name in vars(importlib.import_module(f"bot.when.{module}"))
        and vars(importlib.import_module(f"bot.when.{module}"))[name] is value
    ]
    assert defined_in, f"bot.when.{name} is not the object of any bot.when module"
    assert name in dir(bot.when)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'parse_whenever'"):
        bot.when.parse_whenever  # noqa: B018
    with pytest.raises(ImportError):
        exec("from bot.when import parse_whenever", {})  # noqa: S102
