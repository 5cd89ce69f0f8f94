"""Requests as Slack sends them to the bot's ``/slack/events``, signed with the signing secret.

``SlackRequestSender`` (a ``SlackPayloadFactory`` too, see ``payloads.py``) signs them with
``slack_sdk.signature.SignatureVerifier`` and POSTs them with httpx, sync or async; it can also send them
wrongly on purpose: bad or missing signature, stale timestamp, a replay of an earlier request, Slack's retry
headers.
"""

from __future__ import annotations

import ssl
import time
from typing import TYPE_CHECKING, Any, Literal, TypedDict, Unpack
from urllib.parse import urlparse

import httpx
from slack_sdk.signature import SignatureVerifier

from .payloads import SlackPayloadFactory
from .request import SLACK_USER_AGENT, STALE_SECONDS, SlackRequest, select_value, text_value

if TYPE_CHECKING:
    from .webapi import SlackWebApiStub

Signature = Literal["valid", "bad", "missing"]


class SendOptions(TypedDict, total=False):
    """How ``send`` signs and dates a request (the keyword arguments of ``headers_for``)."""

    signature: Signature
    timestamp: int | None
    stale: bool
    retry_num: int | None
    retry_reason: str | None
    headers: dict[str, str] | None


class SlackRequestSender(SlackPayloadFactory):
    """Signs and POSTs ``SlackRequest``s to the bot, like Slack does. ``bot_url`` is the bot's base URL
    (``path`` is appended) or the full events URL."""

    def __init__(
        self,
        bot_url: str,
        signing_secret: str,
        *,
        bench: SlackWebApiStub | None = None,
        path: str = "/slack/events",
        timeout: float = 10.0,
        **factory_defaults: Any,
    ) -> None:
        super().__init__(bench=bench, **factory_defaults)
        self.url = bot_url if urlparse(bot_url).path not in ("", "/") else bot_url.rstrip("/") + path
        self.signing_secret = signing_secret
        self.timeout = timeout
        self.last_sent: tuple[bytes, dict[str, str]] | None = None

    def sign(self, body: bytes, *, timestamp: int | None = None, secret: str | None = None) -> dict[str, str]:
        """``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` for ``body``."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = SignatureVerifier(secret or self.signing_secret).generate_signature(timestamp=ts, body=body)
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature or ""}

    def headers_for(
        self,
        request: SlackRequest,
        *,
        signature: Signature = "valid",
        timestamp: int | None = None,
        stale: bool = False,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, str]:
        if timestamp is None:
            timestamp = int(time.time()) - (STALE_SECONDS if stale else 0)
        out = {"Content-Type": request.content_type, "User-Agent": SLACK_USER_AGENT}
        if signature == "valid":
            out.update(self.sign(request.body, timestamp=timestamp))
        elif signature == "bad":
            out.update(self.sign(request.body, timestamp=timestamp, secret=self.signing_secret + "-wrong"))
        elif signature == "missing":
            out["X-Slack-Request-Timestamp"] = str(timestamp)
        else:
            raise ValueError(f"signature must be 'valid', 'bad' or 'missing', not {signature!r}")
        if retry_num is not None:
            out["X-Slack-Retry-Num"] = str(retry_num)
            out["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        out.update(headers or {})
        return out

    def send(self, request: SlackRequest, **options: Unpack[SendOptions]) -> httpx.Response:
        """POST ``request`` to the bot (sync), signed as ``headers_for`` says: ``stale`` dates it 6 minutes back,
        ``retry_num``/``retry_reason`` add Slack's retry headers, ``signature`` can be ``"bad"``/``"missing"``."""
        return self._post(request.body, self.headers_for(request, **options))

    async def send_async(self, request: SlackRequest, **options: Unpack[SendOptions]) -> httpx.Response:
        """``send`` with ``httpx.AsyncClient``."""
        return await self._post_async(request.body, self.headers_for(request, **options))

    def replay(
        self, previous: httpx.Response | None = None, *, extra_headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """Send the exact bytes and headers (same timestamp and signature) of ``previous`` (default: the last
        request sent) again, as an attacker replaying a captured request would."""
        body, hdrs = self._previous(previous)
        return self._post(body, {**hdrs, **(extra_headers or {})})

    async def replay_async(
        self, previous: httpx.Response | None = None, *, extra_headers: dict[str, str] | None = None
    ) -> httpx.Response:
        body, hdrs = self._previous(previous)
        return await self._post_async(body, {**hdrs, **(extra_headers or {})})

    def _previous(self, previous: httpx.Response | None) -> tuple[bytes, dict[str, str]]:
        if previous is not None:
            req = previous.request
            keep = ("content-type", "user-agent", "x-slack-request-timestamp", "x-slack-signature")
            return req.content, {k: v for k, v in req.headers.items() if k.lower() in keep}
        if self.last_sent is None:
            raise RuntimeError("nothing sent yet to replay")
        return self.last_sent

    def _post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        self.last_sent = (body, dict(headers))
        with httpx.Client(timeout=self.timeout, verify=_TLS) as client:
            return client.post(self.url, content=body, headers=headers)

    async def _post_async(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        self.last_sent = (body, dict(headers))
        async with httpx.AsyncClient(timeout=self.timeout, verify=_TLS) as client:
            return await client.post(self.url, content=body, headers=headers)


# One TLS context for every client: building one per request (httpx's default) costs ~40 ms of CPU, which would
# show up as bot latency in tests and benchmarks.
_TLS = ssl.create_default_context()


__all__ = [
    "STALE_SECONDS",
    "SendOptions",
    "Signature",
    "SlackPayloadFactory",
    "SlackRequest",
    "SlackRequestSender",
    "select_value",
    "text_value",
]
