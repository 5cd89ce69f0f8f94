"""pytest fixtures for the Slack bench.

Use from a conftest (``pytest_plugins = ["tests.support.slack_fixtures"]``) or import the fixture into a test
module. It lives in the tests, not in ``bot.slackkit``: it needs pytest, which the shipped package does not.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.slackkit import SlackBench


@pytest.fixture
def slack_bench() -> Iterator[SlackBench]:
    """A started ``SlackBench``; the test errors at teardown if a Block Kit violation reached it."""
    with SlackBench() as bench:
        yield bench
