"""Prometheus metrics of one bot process: requests by command and outcome, ack latency, Control API calls.

Each runtime owns its registry (tests build several in one process); ``/metrics`` exposes it in the text format.
Label values are fixed vocabularies (never user text or ids), so cardinality stays small.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
API_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """The counters and histograms the bot exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "headless_bot_requests",
            "Slack requests handled, by command (or interaction) and outcome.",
            ["command", "outcome"],
            registry=self.registry,
        )
        self.ack_latency = Histogram(
            "headless_bot_ack_seconds",
            "Time from receiving a Slack request to answering it (Slack's deadline is 3 s).",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )
        self.control_latency = Histogram(
            "headless_bot_control_api_seconds",
            "Control API call latency by endpoint and outcome.",
            ["endpoint", "outcome"],
            buckets=API_BUCKETS,
            registry=self.registry,
        )
        self.control_errors = Counter(
            "headless_bot_control_api_errors",
            "Control API calls that failed, by endpoint and outcome.",
            ["endpoint", "outcome"],
            registry=self.registry,
        )
        self.ready = Gauge("headless_bot_ready", "1 when the bot can serve.", registry=self.registry)
        self.loop_lag = Histogram(
            "headless_bot_event_loop_lag_seconds",
            "How late the event loop wakes a 100 ms timer: time every ack waits behind synchronous work.",
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )

        # --- notifier (bot.services.notifier) ------------------------------------------------------------------
        self.notifier_cycles = Counter(
            "headless_bot_notifier_cycles",
            "Notifier polling cycles, by outcome (ok, control_api_error, error).",
            ["outcome"],
            registry=self.registry,
        )
        self.notifier_events = Counter(
            "headless_bot_notifier_events",
            "Operation changes found by the notifier, by kind (status, device, failure).",
            ["kind"],
            registry=self.registry,
        )
        self.notifier_notifications = Counter(
            "headless_bot_notifier_notifications",
            "Outbox rows by outcome (sent, skipped, given_up), digests posted (digest), 429s honoured (rate_limited).",
            ["outcome"],
            registry=self.registry,
        )
        self.notifier_cycle_seconds = Histogram(
            "headless_bot_notifier_cycle_seconds",
            "Wall time of one notifier cycle (poll, diff, record, deliver).",
            buckets=API_BUCKETS,
            registry=self.registry,
        )
        self.notifier_cycle_cpu_seconds = Histogram(
            "headless_bot_notifier_cycle_cpu_seconds",
            "CPU time of this process during one notifier cycle (the whole process: other work counts too).",
            buckets=API_BUCKETS,
            registry=self.registry,
        )
        self.notifier_operations = Gauge(
            "headless_bot_notifier_operations",
            "Operations the last complete or partial poll listed.",
            registry=self.registry,
        )
        self.notifier_examined = Counter(
            "headless_bot_notifier_examined",
            "Listed operations read in full and diffed (new, or their fingerprint changed); the rest were glanced at.",
            registry=self.registry,
        )
        self.notifier_pages = Counter(
            "headless_bot_notifier_pages",
            "List pages the notifier read, by how (ahead: fetched concurrently from a predicted URL; chain: followed).",
            ["how"],
            registry=self.registry,
        )
        self.notifier_leader = Gauge(
            "headless_bot_notifier_leader", "1 while this process is the polling notifier.", registry=self.registry
        )

        self._rollout_metrics()
        # Named as the access-rules issue names it (no house prefix): ``access_denied_total{action}``.
        self.access_denied = Counter(
            "access_denied",
            "Requests refused by the access rules, by action (schedule:<type> for a known type, else :other).",
            ["action"],
            registry=self.registry,
        )

    def _rollout_metrics(self) -> None:
        """Staged rollouts: how many in each state, devices reached, aborts by reason."""
        self.rollouts = Gauge(
            "headless_bot_rollouts",
            "Rollouts by state (updated on each maintenance pass).",
            ["state"],
            registry=self.registry,
        )
        self.rollout_devices_created = Counter(
            "headless_bot_rollout_devices_created",
            "Devices that received a rollout's operation (counted as each wave settles or stops).",
            registry=self.registry,
        )
        self.rollout_aborts = Counter(
            "headless_bot_rollout_aborts",
            "Rollouts aborted, by reason (threshold, max_failures, manual).",
            ["reason"],
            registry=self.registry,
        )

    def observe_control(self, endpoint: str, outcome: str, seconds: float) -> None:
        """The Control API client's observer hook."""
        self.control_latency.labels(endpoint, outcome).observe(seconds)
        if outcome != "ok":
            self.control_errors.labels(endpoint, outcome).inc()

    def count(self, command: str, outcome: str) -> None:
        self.requests.labels(command, outcome).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
