"""What one notifier cycle did, the outbox's vocabulary, and the small helpers the notifier's modules share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.control.errors import ControlApiError, Unauthorized
from bot.i18n import N_
from bot.metrics import Metrics

BASELINE_KEY = "baseline_done"
OUTAGE_SINCE_KEY = "outage_since"
OUTAGE_ALERTED_KEY = "outage_alerted"
OUTAGE_REASON_KEY = "outage_reason"

KIND_CHANGE = "change"
KIND_OUTAGE = "outage"
KIND_RECOVERY = "recovery"


@dataclass
class CycleReport:
    """What one cycle did (returned by ``run_cycle``; also logged at DEBUG and counted in metrics)."""

    ok: bool = True  # the Control API answered
    baseline: bool = False  # this poll recorded the baseline silently
    operations: int = 0  # operations listed
    pages: int = 0  # list pages read
    pages_ahead: int = 0  # of which fetched concurrently, from a predicted URL the next link confirmed
    examined: int = 0  # listed records read in full and diffed (new or changed); the others were only glanced at
    complete: bool = False  # the list was complete (so what it lacks is missing): every page, every record named
    recorded: int = 0  # operation states written
    changes: int = 0  # changes worth a notification
    queued: int = 0  # outbox rows recorded (before de-duplication)
    posts: int = 0  # Slack posts accepted (a digest is one)
    digests: int = 0
    sent: int = 0  # outbox rows marked sent (a digest marks all its rows)
    skipped: int = 0  # outbox rows skipped (unpostable channel, refused, given up)
    deferred: int = 0  # rows left pending for the next cycle after a transient Slack failure
    rate_limited: int = 0  # 429s honoured
    missing: int = 0  # recorded operations newly missing from the list (missing_since set)
    listed_again: int = 0  # operations listed again after missing (missing_since cleared)
    forgotten: int = 0  # operations missing longer than NOTIFIER_FORGET_AFTER_DAYS, their rows deleted
    error: str | None = None  # why the Control API could not be listed
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # CPU time of the whole process during the cycle (other work counts too)
    poll_cpu_seconds: float = 0.0  # of which until the poll was recorded (before delivery)


def count(metrics: Metrics | None, what: str, outcome: str, amount: int = 1) -> None:
    if metrics is None:
        return
    if what == "cycles":
        metrics.notifier_cycles.labels(outcome).inc(amount)
    else:
        metrics.notifier_notifications.labels(outcome).inc(amount)


def reason_of(exc: ControlApiError) -> str:
    """A short, secret-free phrase for logs and the outage alert (the bot's own phrase is a msgid: the alert, rendered
    for its channel, translates it; the log keeps it in English)."""
    if isinstance(exc, Unauthorized):
        return N_("it rejects the bot's token (HTTP 401/403)")
    reason = getattr(exc, "reason", None)
    return str(reason or exc)[:300]


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
