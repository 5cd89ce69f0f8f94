"""``bot.slack.web``: the one Slack sender. The Retry-After parser, the policy loop, and each policy against the
local Slack stand-in with the real slack_sdk clients (Web API and response_url)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from bot.services.ports import DeliveryOutcome
from bot.slack.respond import PooledRespond
from bot.slack.web import (
    NOTIFY,
    POST,
    RESPOND,
    UPDATE,
    Answer,
    Outcome,
    RetryPolicy,
    SlackWeb,
    retry_after_seconds,
    send_response,
    with_retries,
)
from bot.slackkit import RESPONSE_URL, SlackBench
from bot.slackkit.servers import free_port

CHANNEL = "C0WEB"


class Waits:
    """Records the waits the loop asks for instead of sleeping them (the loop's arithmetic is under test)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


@pytest.fixture
def bench() -> Iterator[SlackBench]:
    with SlackBench() as bench:
        bench.add_channel(CHANNEL, "web", is_member=True)
        yield bench


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


# ---------------------------------------------------------------------------------------------- Retry-After


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "7"}, 7.0),  # any case
        ({"RETRY-AFTER": ["2"]}, 2.0),  # multi-valued mappings (aiohttp, httpx) give a list
        ({"Retry-After": "0.5"}, 0.5),
        ({"Retry-After": "-4"}, 0.0),  # never a negative wait
        ({"Retry-After": "soon"}, 1.5),  # unreadable: the default
        ({}, 1.5),
        (None, 1.5),
        ("not a mapping", 1.5),
    ],
)
def test_retry_after_is_read_from_any_header_shape(headers: Any, expected: float) -> None:
    assert retry_after_seconds(headers, default=1.5) == expected


# ---------------------------------------------------------------------------------------------- the loop


def scripted(*answers: Answer) -> tuple[Any, list[Answer]]:
    """An attempt function answering ``answers`` in turn (the last one again if asked more often)."""
    given: list[Answer] = []

    async def attempt() -> Answer:
        answer = answers[min(len(given), len(answers) - 1)]
        given.append(answer)
        return answer

    return attempt, given


LIMITED = Answer(status=429, error="ratelimited", headers={"Retry-After": "2"})
DOWN = Answer(status=503, error="fatal_error")
DROPPED = Answer(status=0, failure="ClientConnectorError")
OK = Answer(data={"ok": True, "ts": "1.0"})


@pytest.mark.parametrize(
    ("policy", "answers", "tries", "waits", "outcome"),
    [
        (POST, [LIMITED, OK], 2, [2.0], Outcome.SENT),  # nothing was posted after a 429: once more
        (POST, [DOWN, OK], 1, [], Outcome.TRANSIENT),  # a 5xx may have posted: never again
        (POST, [DROPPED, OK], 1, [], Outcome.TRANSIENT),
        (POST, [LIMITED, LIMITED, OK], 2, [2.0], Outcome.TRANSIENT),
        (UPDATE, [DOWN, OK], 2, [1.0], Outcome.SENT),  # idempotent: once more after a 5xx…
        (UPDATE, [DROPPED, OK], 2, [1.0], Outcome.SENT),  # … or a dropped connection
        (UPDATE, [Answer(error="message_not_found"), OK], 1, [], Outcome.REFUSED),  # a refusal is final
        (NOTIFY, [LIMITED] * 10, 6, [2.0] * 5, Outcome.TRANSIENT),  # five waits, then the next cycle
        (NOTIFY, [DOWN, OK], 1, [], Outcome.TRANSIENT),
        (NOTIFY, [Answer(error="not_in_channel")], 1, [], Outcome.CHANNEL_GONE),
        (RESPOND, [DOWN, DOWN, OK], 3, [0.5, 1.0], Outcome.SENT),  # growing waits when Slack names none
        (RESPOND, [DOWN, DOWN, DOWN, OK], 3, [0.5, 1.0], Outcome.TRANSIENT),
        (RESPOND, [DROPPED, OK], 1, [], Outcome.TRANSIENT),
    ],
)
async def test_each_policy_tries_as_often_and_waits_as_long_as_it_says(
    policy: RetryPolicy, answers: list[Answer], tries: int, waits: list[float], outcome: Outcome
) -> None:
    attempt, given = scripted(*answers)
    recorded = Waits()
    result = await with_retries(attempt, policy, sleep=recorded)
    assert (len(given), recorded.seconds, result.outcome) == (tries, waits, outcome)


async def test_a_long_retry_after_is_given_up_or_capped_as_the_policy_says() -> None:
    long_wait = Answer(status=429, error="ratelimited", headers={"Retry-After": "90"})
    attempt, given = scripted(long_wait, OK)
    recorded = Waits()
    result = await with_retries(attempt, POST, sleep=recorded)
    assert (len(given), recorded.seconds, result.waited_too_long, result.error) == (1, [], 90.0, "ratelimited")
    attempt, given = scripted(long_wait, OK)
    result = await with_retries(attempt, NOTIFY, sleep=recorded)
    assert result.ok and recorded.seconds == [60.0] and result.rate_limited == 1


# ---------------------------------------------------------------------------------------------- against the bench


async def test_post_waits_out_a_rate_limit_and_posts_once(bench: SlackBench) -> None:
    bench.rate_limit("chat.postMessage", retry_after=1)
    recorded = Waits()
    result = await SlackWeb(bench.client(), sleep=recorded).post(CHANNEL, {"text": "hello"})
    assert result.ok and result.data["ts"] and recorded.seconds == [1.0]
    limited, posted = bench.calls_to("chat.postMessage")
    assert limited.status == 429 and posted.ok
    assert len(bench.messages_in(CHANNEL)) == 1


async def test_post_is_not_sent_again_after_a_server_error(bench: SlackBench) -> None:
    bench.server_error("chat.postMessage")
    result = await SlackWeb(bench.client(), sleep=Waits()).post(CHANNEL, {"text": "hello"})
    assert result.outcome is Outcome.TRANSIENT and result.error == "fatal_error"
    assert len(bench.calls_to("chat.postMessage")) == 1


async def test_update_is_tried_again_after_a_server_error(bench: SlackBench) -> None:
    web = SlackWeb(bench.client(), sleep=Waits())
    posted = await web.post(CHANNEL, {"text": "before"})
    bench.server_error("chat.update")
    result = await web.update(CHANNEL, str(posted.data["ts"]), {"text": "after"})
    assert result.ok and [call.status for call in bench.calls_to("chat.update")] == [500, 200]


async def test_outcomes_of_slack_refusals(bench: SlackBench) -> None:
    web = SlackWeb(bench.client(), sleep=Waits())
    bench.fail_with("not_in_channel", "chat.postMessage")
    gone = await web.post(CHANNEL, {"text": "x"}, policy=NOTIFY)
    bench.fail_with("invalid_blocks", "chat.postMessage")
    refused = await web.post(CHANNEL, {"text": "x"}, policy=NOTIFY)
    assert (gone.outcome, gone.error) == (DeliveryOutcome.CHANNEL_GONE, "not_in_channel")
    assert (refused.outcome, refused.error) == (DeliveryOutcome.REFUSED, "invalid_blocks")


async def test_a_dropped_connection_is_an_outcome_not_an_exception() -> None:
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token="xoxb-unused", base_url=f"http://127.0.0.1:{free_port()}/api/")
    recorded = Waits()
    result = await SlackWeb(client, sleep=recorded).update(CHANNEL, "1.0", {"text": "x"})
    assert result.outcome is Outcome.TRANSIENT and result.answer.failure and recorded.seconds == [1.0]
    recorded.seconds.clear()
    result = await SlackWeb(client, sleep=recorded).post(CHANNEL, {"text": "x"})
    assert result.outcome is Outcome.TRANSIENT and recorded.seconds == []


async def test_respond_is_tried_again_after_server_errors_over_one_pooled_session(
    bench: SlackBench, session: aiohttp.ClientSession
) -> None:
    url = bench.response_url("answer")
    bench.server_error(RESPONSE_URL, times=2)
    respond = PooledRespond(response_url=url, session=session, proxy=None, ssl=None)
    recorded = Waits()
    result = await send_response(respond, {"text": "done", "blocks": []}, sleep=recorded, replace_original=True,
                                 response_type=None)  # fmt: skip
    assert result.ok and recorded.seconds == [0.5, 1.0]
    answers = bench.responses_for("answer")
    assert [answer.status for answer in answers] == [500, 500, 200]
    # bolt's message shape: only the fields given, no empty blocks.
    assert answers[-1].body == {"text": "done", "replace_original": True}
    assert len({answer.peer for answer in answers}) == 1, "one kept-alive connection"


async def test_respond_gives_up_on_a_long_retry_after(bench: SlackBench, session: aiohttp.ClientSession) -> None:
    url = bench.response_url("later")
    bench.rate_limit(RESPONSE_URL, retry_after=30)
    respond = PooledRespond(response_url=url, session=session, proxy=None, ssl=None)
    result = await send_response(respond, {"text": "x"}, policy=RESPOND, sleep=Waits())
    assert not result.ok and result.waited_too_long == 30.0
    assert len(bench.responses_for("later")) == 1
