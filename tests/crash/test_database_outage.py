"""PostgreSQL goes away while the bot runs (a database restart, a network partition), then comes back.

The database is reached through a real TCP proxy (``tests/support/tcp_proxy.py``) that the test cuts: every
connection drops and new ones are refused. Commands that do not need the database keep working; those that do say
so in plain words (nothing saved, try again) within Slack's deadline; /healthz tells; nothing is half-created; and
once the database is back, the same clicks work without a restart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from bot.domain.requests import RequestState
from bot.simulator import DOCUMENTED_SERIAL
from tests.support.acks import ACK_BUDGET
from tests.support.flows import buttons, click_decision, db, ops_for, schedule_and_confirm, wait_until
from tests.support.harness import APPROVER, Harness, bot_harness
from tests.support.leaks import LEAKS, everything_sent, no_leak
from tests.support.slack_text import texts
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
def outage(postgres_database_url: str) -> Iterator[tuple[Harness, TcpProxy]]:
    real = make_url(postgres_database_url)
    with TcpProxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
        proxied = real.set(port=proxy.port).render_as_string(hide_password=False)
        with bot_harness(database_url=proxied, maintenance_interval=0.3) as harness:
            harness.database_url = postgres_database_url  # type: ignore[attr-defined]  # the test's own way in
            yield harness, proxy


def timed(h: Harness, text: str, **kwargs: Any) -> tuple[Any, Any]:
    started = time.monotonic()
    response, request = h.command(text, **kwargs)
    assert response.status_code == 200, response.text
    assert time.monotonic() - started < ACK_BUDGET, "the ack must not wait for the database"
    return response, request


def test_database_outage_is_explained_loses_nothing_and_heals(
    outage: tuple[Harness, TcpProxy], caplog: pytest.LogCaptureFixture
) -> None:
    h, proxy = outage
    request_id = schedule_and_confirm(h)
    proxy.cut()
    caplog.clear()
    time.sleep(1.5)  # maintenance passes and notifier cycles run into the outage meanwhile

    # Help needs no database: still instant.
    response, _ = timed(h, "help")
    assert "/headless list" in response.text
    # Health says what is wrong, and stays 200 (the process is fine; the orchestrator must not kill it).
    health = h.get("/healthz")
    assert health.status_code == 200 and health.json()["database"] == "unavailable"

    # A new request cannot be saved: the person is told so, plainly, and nothing is half-created.
    _, command = timed(h, f"schedule {DOCUMENTED_SERIAL} diagnostics tomorrow at 4am")
    (answer,) = h.responses(command, timeout=10)
    shown = texts(answer)
    assert "Confirm" not in buttons(answer), "the draft could not be saved, so there is nothing to confirm"
    assert "database" in shown.lower() and "try again" in shown.lower(), shown

    # An approval click cannot be recorded: the approver is told to click again; the request stays pending.
    click, response = click_decision(h, "Approve", APPROVER, request_id)
    assert response.status_code == 200
    (answer,) = h.responses(click, timeout=10)
    assert "database" in texts(answer).lower() and "again" in texts(answer).lower(), texts(answer)
    no_leak(everything_sent(h))
    for word in LEAKS:
        assert word not in texts(answer)

    # Following an operation needs the database too.
    other = sorted(h.sim_state.devices)[5]
    watched = h.sim_state.create_operation(other, "reboot", h.sim_state.now() + timedelta(days=1), {})
    _, command = timed(h, f"watch {watched.id} <#C0NOTIFY|ops-notify>")
    (answer,) = h.responses(command, timeout=10)
    assert "database" in texts(answer) and "try again" in texts(answer).lower(), texts(answer)

    # So do unfollowing and the audit log: never silence.
    for text, user in ((f"unwatch {watched.id} <#C0NOTIFY|ops-notify>", None), ("audit", APPROVER)):
        _, command = timed(h, text, **({"user_id": user} if user else {}))
        (answer,) = h.responses(command, timeout=10)
        assert "database" in texts(answer) and "try again" in texts(answer).lower(), (text, texts(answer))

    # The log says what is wrong in one line per failure; an expected outage is no reason for stack traces.
    errors = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert errors == [], errors

    proxy.restore()
    wait_until(lambda: h.get("/healthz").json()["database"] == "ok", timeout=15, what="the database back")
    assert db(h.database_url, lambda s: s.get_request(request_id)).state is RequestState.PENDING_APPROVAL
    click_decision(h, "Approve", APPROVER, request_id)
    wait_until(lambda: db(h.database_url, lambda s: s.get_request(request_id)).state is RequestState.DONE,
               timeout=15, what="creation after the outage")  # fmt: skip
    assert len(ops_for(h, DOCUMENTED_SERIAL)) == 1
    requests = db(h.database_url, lambda s: s.list_requests(None, limit=50))
    assert [r.id for r in requests] == [request_id], "the request refused during the outage was not half-saved"
