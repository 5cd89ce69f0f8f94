"""A Slack test bench: a local Slack Web API stand-in (real slack_sdk clients talk to it through
``base_url``), a Block Kit limit checker, and signed requests to the bot's ``/slack/events`` as Slack
sends them.

    with SlackBench() as bench:
        client = AsyncWebClient(token=bench.bot_token, base_url=bench.api_url)
        sender = SlackRequestSender(bot_server.url, SIGNING_SECRET, bench=bench)
        sender.send(sender.slash_command("status 42"))
        bench.wait_for("chat.postMessage")
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
