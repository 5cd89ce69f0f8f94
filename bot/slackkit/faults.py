"""Faults injected into the Slack Web API stand-in: rate limits (429 + ``Retry-After``), 5xx, Slack errors
(``{"ok": false, "error": X}``) and latency, per method or for every method and the ``response_url`` sink."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Fault:
    """An injected misbehaviour. ``times=None`` means until cleared."""

    method: str | None  # None: every method (and the response_url sink)
    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # latency before the answer; a pure-latency fault has body None and status 200
    times: int | None = 1
    label: str = ""

    def matches(self, method: str) -> bool:
        return self.method is None or self.method == method

    @property
    def is_latency_only(self) -> bool:
        return self.body is None and self.status == 200


class FaultInjection:
    """The stub's fault API (a mixin of ``SlackWebApiStub``, which owns ``_lock`` and ``_faults``)."""

    _lock: threading.RLock
    _faults: list[Fault]

    def inject(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def rate_limit(self, method: str | None = None, *, retry_after: int = 1, times: int | None = 1) -> Fault:
        """HTTP 429 ``{"ok": false, "error": "ratelimited"}`` with ``Retry-After: retry_after``."""
        return self.inject(
            Fault(
                method,
                status=429,
                body={"ok": False, "error": "ratelimited"},
                headers={"Retry-After": str(retry_after)},
                times=times,
                label="rate_limited",
            )
        )

    def server_error(self, method: str | None = None, *, status: int = 500, times: int | None = 1) -> Fault:
        """HTTP ``status`` (5xx) with ``{"ok": false, "error": "fatal_error"}``."""
        return self.inject(
            Fault(
                method,
                status=status,
                body={"ok": False, "error": "fatal_error"},
                times=times,
                label=f"http_{status}",
            )
        )

    def fail_with(self, error: str, method: str | None = None, *, times: int | None = 1, **extra: Any) -> Fault:
        """HTTP 200 ``{"ok": false, "error": error, **extra}`` (``invalid_auth``, ``not_in_channel``)."""
        body = {"ok": False, "error": error, **extra}
        return self.inject(Fault(method, status=200, body=body, times=times, label=error))

    def add_latency(self, seconds: float, method: str | None = None, *, times: int | None = None) -> Fault:
        """Delay answers by ``seconds`` (the call still takes effect on arrival, like a slow return path)."""
        return self.inject(Fault(method, delay=seconds, times=times, label=f"latency_{seconds}"))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_faults(self, method: str) -> tuple[float, Fault | None]:
        delay, answer = 0.0, None
        with self._lock:
            for fault in list(self._faults):
                if not fault.matches(method):
                    continue
                if fault.is_latency_only:
                    delay += fault.delay
                elif answer is None:
                    answer = fault
                    delay += fault.delay
                else:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
        return delay, answer
