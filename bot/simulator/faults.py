"""Fault injection: ASGI middleware that breaks requests to the API path as ``state.faults`` says.

The faults themselves (``Faults``) are configuration, in ``bot.simulator.config``; tests set them through
``/_simulator/faults`` or on ``SimulatorState.faults`` directly.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.simulator.api import API_PREFIX, BAD_TOKEN, auth_problem
from bot.simulator.state import SimulatorState

_SERVER_ERROR_HTML = b'\n<!doctype html>\n<html lang="en">\n<head>\n  <title>Server Error (500)</title>\n</head>\n<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n'  # noqa: E501 - Django's page, verbatim
_MALFORMED_BODY = b'{"count": 1, "results": [{"id": "txn_'


class FaultInjection:
    """ASGI middleware breaking requests to the API path according to ``state.faults`` (see ``Faults``).

    Written as raw ASGI because two faults need the connection itself: ``hang`` waits for the client to go
    away, ``close_connection`` drops the socket without a response.
    """

    def __init__(self, app: ASGIApp, state: SimulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        app = scope.get("app")
        state: SimulatorState = getattr(getattr(app, "state", None), "simulator", self.state)
        state.hits[scope["method"]] += 1
        faults = state.faults
        if faults.latency:
            await asyncio.sleep(faults.latency)
        if faults.hang:
            replay = await self._hang(receive, state.config.hang_seconds)
            if replay is None:
                return  # the client gave up, as it should
            receive = replay
        if faults.close_connection:
            await self._drop(send)
            return
        if faults.error_rate and state.fault_random.random() < faults.error_rate:
            await Response(_SERVER_ERROR_HTML, 500, media_type="text/html")(scope, receive, send)
            return
        if faults.reject_token:
            await JSONResponse(BAD_TOKEN, 401, headers={"WWW-Authenticate": 'Bearer realm="api"'})(scope, receive, send)
            return
        if faults.malformed and auth_problem(Request(scope), state) is None:
            await Response(_MALFORMED_BODY, 200, media_type="application/json")(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    async def _hang(receive: Receive, seconds: float) -> Receive | None:
        """Hold the request until the client disconnects (→ None) or ``hang_seconds`` pass (→ a receive that
        replays what was read meanwhile, so the request is then served normally, only very late)."""
        buffered: list[Message] = []

        async def until_disconnect() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                buffered.append(message)

        try:
            await asyncio.wait_for(until_disconnect(), seconds)
        except TimeoutError:
            pass
        else:
            return None

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        return replay

    @staticmethod
    async def _drop(send: Send) -> None:
        """Abort the TCP connection. uvicorn's ``send`` is a method of its request cycle, which holds the
        transport; elsewhere, start a response and stop mid-body, which clients also see as a dropped
        connection."""
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        if transport is not None and hasattr(transport, "abort"):
            transport.abort()
            for _ in range(3):  # let uvicorn notice the disconnect, so it does not try to answer 500
                await asyncio.sleep(0)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")],
            }
        )
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": b'{"count": ', "more_body": True})


__all__ = ["FaultInjection"]
