"""The Slack kit: a local Slack Web API stand-in (real slack_sdk clients talk to it through ``base_url``), a Block
Kit limit checker, and requests as Slack sends them to the bot (payloads, signed for ``/slack/events``). One
stand-in for the tests, the console (``bot.console`` renders what the bot sends to it) and the benchmarks
(``remote.RemoteSlackBench`` runs it in its own process). It imports nothing of the bot.

    with SlackBench() as bench:
        client = AsyncWebClient(token=bench.bot_token, base_url=bench.api_url)
        sender = SlackRequestSender(bot_server.url, SIGNING_SECRET, bench=bench)
        sender.send(sender.slash_command("status 42"))
        bench.wait_for("chat.postMessage")

Modules: ``webapi`` (the stand-in: ``records``, ``workspace``, ``files``, ``methods``, ``faults``), ``bench``
(served on a port), ``blockkit`` (limits), ``payloads`` + ``events`` + ``request`` (bodies), ``signed`` (signing and
sending), ``servers`` (uvicorn on a loopback port, in a thread or in the running loop), ``remote`` (in a child process).
"""

from .bench import SlackBench
from .blockkit import block_kit_problems
from .signed import (
    SlackPayloadFactory,
    SlackRequest,
    SlackRequestSender,
    select_value,
    text_value,
)
from .webapi import (
    RESPONSE_URL,
    BlockKitViolation,
    Channel,
    Fault,
    RecordedCall,
    RecordedResponse,
    SlackWebApiStub,
    User,
)

__all__ = [
    "RESPONSE_URL",
    "BlockKitViolation",
    "Channel",
    "Fault",
    "RecordedCall",
    "RecordedResponse",
    "SlackBench",
    "SlackPayloadFactory",
    "SlackRequest",
    "SlackRequestSender",
    "SlackWebApiStub",
    "User",
    "block_kit_problems",
    "select_value",
    "text_value",
]
