"""Run real ASGI apps on real sockets, for tests, benchmarks and the console.

Integration tests talk HTTP to real servers (the Control API simulator, the Slack Web API stand-in, the bot's own
HTTP endpoint), each served by uvicorn on a free loopback port in a background thread with its own event loop
(``ThreadedServer``). Async code that wants the app's handlers on its own loop (the console: what the bot sends is
rendered between its prompts, with no thread in between) uses ``LoopServer``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThreadedServer:
    """uvicorn serving ``app`` in a daemon thread; ``url`` is its base URL (no trailing slash)."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="auto",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._server.run, name=f"uvicorn-{self.port}", daemon=True)

    def start(self) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)


@contextmanager
def serve_asgi(app: Any, port: int | None = None) -> Iterator[ThreadedServer]:
    """Serve ``app`` for the duration of the ``with`` block."""
    server = ThreadedServer(app, port).start()
    try:
        yield server
    finally:
        server.stop()


class LoopServer:
    """uvicorn serving ``app`` as a task of the running event loop; ``url`` is its base URL (no trailing slash).

    ``server = await LoopServer(app).start()`` … ``await server.stop()``.
    """

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error", lifespan="on")
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> LoopServer:
        self._task = asyncio.ensure_future(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()  # it could not start: say why
                raise RuntimeError(f"server on port {self.port} did not start")
            await asyncio.sleep(0.01)
        return self

    async def stop(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - how long to wait for the server to end
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, timeout)
