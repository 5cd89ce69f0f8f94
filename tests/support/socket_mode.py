"""A local stand-in of Slack's Socket Mode WebSocket endpoint, for smoke tests of ``serve --socket``.

It greets each connection with ``hello`` (as Slack does), sends the envelopes a test queues, and records the
acknowledgements the bot sends back (``{"envelope_id": …, "payload": …}``).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from typing import Any

from aiohttp import WSMsgType, web

from bot.slackkit.servers import free_port


class SocketModeStub:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}/link"
        self.acks: list[dict[str, Any]] = []
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._outbox: asyncio.Queue[dict[str, Any]] | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = threading.Event()
        self._runner: web.AppRunner | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())
        self._started.set()
        self._loop.run_forever()

    async def _serve(self) -> None:
        self._outbox = asyncio.Queue()
        app = web.Application()
        app.router.add_get("/link", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self.connections += 1
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A111"}}))
        assert self._outbox is not None

        async def pump() -> None:
            assert self._outbox is not None
            while True:
                envelope = await self._outbox.get()
                await ws.send_str(json.dumps(envelope))

        pumper = asyncio.ensure_future(pump())
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self.acks.append(json.loads(message.data))
        finally:
            pumper.cancel()
        return ws

    def start(self) -> SocketModeStub:
        self._thread.start()
        self._started.wait(5)
        return self

    def stop(self) -> None:
        async def shutdown() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def send(self, envelope_type: str, payload: dict[str, Any]) -> str:
        """Queue an envelope for the connected bot; returns its ``envelope_id``."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": envelope_type != "events_api",
        }
        assert self._outbox is not None
        self._loop.call_soon_threadsafe(self._outbox.put_nowait, envelope)
        return envelope_id

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for ack in self.acks:
                if ack.get("envelope_id") == envelope_id:
                    return ack
            time.sleep(0.02)
        raise AssertionError(f"no ack for envelope {envelope_id}; acks so far: {self.acks}")
