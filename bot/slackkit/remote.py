"""The Slack Web API stand-in in its own process (used by the benchmarks).

The stand-in checks every message against Block Kit's limits and slack_sdk's models; run in the load generator's
process it competes with the generator for the GIL, so its work would show up as "bot latency" in the figures.
``RemoteSlackBench`` runs ``SlackBench`` in a child process (multiprocessing, spawn) and gives the parent what the
benchmarks need: the URLs, the tokens, a ``bench`` for ``SlackRequestSender`` (response_urls point at the child),
and at the end the number of follow-up messages and Block Kit violations the child recorded.
"""

from __future__ import annotations

import multiprocessing
from types import TracebackType
from typing import Any

from .bench import SlackBench
from .servers import free_port
from .webapi import SlackWebApiStub


def _serve(port: int, channels: list[tuple[str, str]], ready: Any, stop: Any, results: Any) -> None:
    with SlackBench(port=port, fail_on_violations=False) as bench:
        for channel_id, name in channels:
            bench.add_channel(channel_id, name, is_member=True)
        ready.set()
        stop.wait()
        results.put(
            {
                "responses": len(bench.responses),
                "calls": len(bench.calls),
                "violations": [str(v) for v in bench.violations[:5]],
                "violation_count": len(bench.violations),
            }
        )


class RemoteSlackBench:
    """``with RemoteSlackBench(channels=[("C0APPROVE", "approvals")]) as bench: ...``; ``bench.summary`` after."""

    def __init__(self, *, channels: list[tuple[str, str]] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.url}/api/"
        # A local, unserved stub with the same identity: the sender takes team/app ids and response_urls from it.
        self.local = SlackWebApiStub()
        self.local.public_url = self.url
        self.bot_token = self.local.bot_token
        self._channels = channels or []
        context = multiprocessing.get_context("spawn")
        self._ready, self._stop, self._results = context.Event(), context.Event(), context.Queue()
        self._process = context.Process(
            target=_serve, args=(self.port, self._channels, self._ready, self._stop, self._results), daemon=True
        )
        self.summary: dict[str, Any] = {}

    def __enter__(self) -> RemoteSlackBench:
        self._process.start()
        if not self._ready.wait(30):
            self._process.kill()
            raise SystemExit("the Slack stand-in process did not start")
        return self

    @property
    def pid(self) -> int:
        return self._process.pid or 0

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        try:
            self.summary = self._results.get(timeout=30)
        finally:
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()
