"""The bot as a real process (``headless-bot serve`` / ``serve --no-notifier`` / ``notifier``), for tests that
kill it, stop it, or run several side by side on one database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from bot.slackkit.servers import free_port

EXE = str(Path(sys.executable).with_name("headless-bot"))
START_BUDGET = 30.0  # seconds from exec to answering: imports, migrations, the time parser, on a loaded machine


class BotProcess:
    """``headless-bot <command>`` in a subprocess, on a fresh port each start, its output appended to ``log``.

    ``ready`` is the path that answers 200 once the process has started: ``/readyz`` for ``serve``, ``/healthz``
    for ``notifier`` (which serves no ``/readyz``).
    """

    def __init__(
        self, env: dict[str, str], log: Path, command: Sequence[str] = ("serve",), ready: str = "/readyz"
    ) -> None:
        self.env = env
        self.log = log
        self.command = list(command)
        self.ready = ready
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, **extra_env: str) -> BotProcess:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [EXE, *self.command, "--host", "127.0.0.1", "--port", str(port)],
                env={**self.env, **extra_env}, stdout=log, stderr=log,
                cwd=self.log.parent,  # not the repository: no .env of a developer's, no stray database there
            )  # fmt: skip
        deadline = time.monotonic() + START_BUDGET
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.tail()
            try:
                if httpx.get(f"{self.url}{self.ready}", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{' '.join(self.command)} did not become ready:\n{self.tail()}")

    def health(self) -> dict[str, Any]:
        """``GET /healthz``'s body (whatever its status code)."""
        return dict(httpx.get(f"{self.url}/healthz", timeout=5).json())

    def wait_until(self, what: str, condition: Callable[[dict[str, Any]], bool], budget: float = 20.0) -> float:
        """Poll ``/healthz`` until ``condition(body)``; the seconds it took. Fails with the log after ``budget``."""
        started = time.monotonic()
        while not condition(self.health()):
            assert time.monotonic() - started < budget, f"{what}: not within {budget} s\n{self.tail()}"
            assert self.proc is not None and self.proc.poll() is None, f"{what}: the process ended\n{self.tail()}"
            time.sleep(0.05)
        return time.monotonic() - started

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self) -> int:
        """SIGTERM, and the exit code once the process has shut down."""
        assert self.proc is not None
        self.proc.terminate()
        return self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
