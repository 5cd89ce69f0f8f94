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
    watch = LoopWatch(interval=0.05, threshold=0.15, observe=lags.append)
    caplog.set_level(logging.WARNING, logger="bot.stalls")
    watch.start()
    try:
        await asyncio.sleep(0.2)
        assert watch.stalls == 0 and max(lags) < 0.15
        hog_the_loop(0.5)
        await asyncio.sleep(0.2)
    finally:
        await watch.stop()
    assert watch.stalls == 1
    assert max(lags) >= 0.4 and watch.worst >= 0.4
    (line,) = [r.getMessage() for r in caplog.records if "event loop blocked" in r.getMessage()]
    assert "hog_the_loop" in line and "test_stalls.py" in line


async def test_an_idle_loop_reports_nothing(caplog: pytest.LogCaptureFixture) -> None:
    watch = LoopWatch(interval=0.05, threshold=0.15)
    caplog.set_level(logging.WARNING, logger="bot.stalls")
    watch.start()
    await asyncio.sleep(0.3)
    await watch.stop()
    assert watch.stalls == 0
    assert not [r for r in caplog.records if "event loop blocked" in r.getMessage()]
