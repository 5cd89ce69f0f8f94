"""``SlackBench``: the Web API stub served on a loopback port, ready for ``AsyncWebClient(base_url=...)``."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from .servers import ThreadedServer
from .webapi import SlackWebApiStub


class SlackBench(SlackWebApiStub):
    """The stub plus its server. Use as a context manager (or the ``slack_bench`` fixture)::

        with SlackBench() as bench:
            client = AsyncWebClient(token=bench.bot_token, base_url=bench.api_url)
            ...

    On a clean exit it fails if any Block Kit violation reached the stub (``fail_on_violations=False`` to
    inspect them yourself).
    """

    def __init__(self, *, fail_on_violations: bool = True, port: int | None = None, **stub_options: Any) -> None:
        super().__init__(**stub_options)
        self.fail_on_violations = fail_on_violations
        self._port = port
        self._server: ThreadedServer | None = None

    # -- lifecycle

    def start(self) -> SlackBench:
        if self._server is None:
            self._server = ThreadedServer(self.app, self._port).start()
            self.public_url = self._server.url
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> SlackBench:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        if exc_type is None and self.fail_on_violations:
            self.assert_no_violations()

    # -- addresses

    @property
    def url(self) -> str:
        """Base URL of the server, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        if self.public_url is None:
            raise RuntimeError("SlackBench is not started")
        return self.public_url

    @property
    def api_url(self) -> str:
        """The ``base_url`` to give slack_sdk clients (ends in ``/api/``)."""
        return f"{self.url}/api/"

    def client(self, token: str | None = None, **options: Any) -> AsyncWebClient:
        """A real ``AsyncWebClient`` pointed at the bench (bot token by default; no retry handlers but
        slack_sdk's default connection-error one, unless you pass ``retry_handlers=``)."""
        return AsyncWebClient(token=token or self.bot_token, base_url=self.api_url, **options)
