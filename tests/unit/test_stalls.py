"""The event-loop stall watch: a blocked loop is measured and named (the function that blocked it is logged)."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bot.stalls import LoopWatch


def hog_the_loop(seconds: float) -> None:
    time.sleep(seconds)  # synchronous on purpose: what a stall looks like


async def test_a_blocked_loop_is_logged_with_the_code_that_blocked_it(caplog: pytest.LogCaptureFixture) -> None:
    lags: list[float] = []
    # A threshold well above what a shared machine's scheduler or the collector can cause, a stall well above it.
    watch = LoopWatch(interval=0.05, threshold=0.6, observe=lags.append)
    caplog.set_level(logging.WARNING, logger="bot.stalls")
    watch.start()
    try:
        await asyncio.sleep(0.2)
        hog_the_loop(1.2)
        await asyncio.sleep(0.2)
    finally:
        await watch.stop()
    assert watch.stalls >= 1
    assert max(lags) >= 1.1 and watch.worst >= 1.1
    named = [r.getMessage() for r in caplog.records if "hog_the_loop" in r.getMessage()]
    assert len(named) == 1 and "event loop blocked" in named[0] and "test_stalls.py" in named[0], named


async def test_an_idle_loop_reports_nothing(caplog: pytest.LogCaptureFixture) -> None:
    watch = LoopWatch(interval=0.05, threshold=0.6)
    caplog.set_level(logging.WARNING, logger="bot.stalls")
    watch.start()
    await asyncio.sleep(0.3)
    await watch.stop()
    assert watch.stalls == 0
    assert not [r for r in caplog.records if "event loop blocked" in r.getMessage()]
