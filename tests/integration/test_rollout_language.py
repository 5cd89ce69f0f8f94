"""The rollout message and its thread are the channel's (#19): sent through the real sender to the Slack stand-in,
they are in the channel's language whoever's click (in whatever language) re-renders them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.domain.rollouts import RolloutState
from bot.i18n import use_language
from bot.services.rollouts.events import RolloutEvent
from bot.slack.rollout_messenger import SlackRolloutMessenger
from bot.slack.web import SlackWeb
from bot.slackkit import SlackBench
from tests.unit.test_rollout_blocks import record, tally, view
from tests.unit.test_rollouts_i18n import spanish

CHANNEL = "C0APPROVE"
__all__ = ["spanish"]  # the fixture: the Spanish catalogue is this area's fragment


@pytest.fixture
def bench() -> Iterator[SlackBench]:
    with SlackBench() as bench:
        bench.add_channel(CHANNEL, "approvals", is_member=True)
        yield bench


def _texts(bench: SlackBench) -> str:
    return "\n".join(
        [m.get("text", "") for m in bench.messages_in(CHANNEL)]
        + [b["text"]["text"] for m in bench.messages_in(CHANNEL) for b in m.get("blocks", []) if "text" in b]
    )


@pytest.mark.parametrize(("channel_language", "expected", "not_expected"), [
    ("en", ":rocket: *Wave 2/4 started*", "Etapa"),
    ("es", ":rocket: *Etapa 2/4 iniciada*", "Wave"),
])  # fmt: skip
async def test_the_channel_reads_its_language_whoever_clicked(
    spanish: None, bench: SlackBench, channel_language: str, expected: str, not_expected: str
) -> None:
    messenger = SlackRolloutMessenger(SlackWeb(bench.client()), language=channel_language)
    rec = record(RolloutState.RUNNING, current_wave=2, approval_channel_id=CHANNEL)
    shown = view(rec, {1: tally(5, completed=5), 2: tally(45, completed=10, pending=35)})
    for clicker in ("es", "en"):  # a Spanish approver's click, then an English one
        with use_language(clicker):
            ts = await messenger.post_rollout(shown, CHANNEL)
            assert ts is not None
            threaded = view(record(RolloutState.RUNNING, current_wave=2, approval_channel_id=CHANNEL, approval_ts=ts),
                            {1: tally(5, completed=5), 2: tally(45, completed=10, pending=35)})  # fmt: skip
            assert await messenger.show_rollout(threaded)
            assert await messenger.tell_rollout_event(threaded, RolloutEvent(kind="wave_started", wave=2))
    everything = _texts(bench)
    assert everything.count(expected) == 2
    assert not_expected not in everything
