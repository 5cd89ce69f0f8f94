"""What do the access rules cost one request? (Issue #17: every request passes the gate before its listener.)

Measures, each the median of ``--runs`` batches of ``--checks`` checks (warm group cache, as in steady state):
* ``AccessRules.evaluate`` with ``--rules`` rules (a realistic mix of users, groups, channels and globs);
* ``AccessControl.check`` (the service: the groups that matter looked up in the cache, then evaluate);
* ``AccessControl.allowed_types`` for a form (one check per operation type);
* ``gate_of`` on a quick-form slash command (parse + type), the middleware's own reading of a payload.

Usage: ``python -m benchmarks.bench_access [--rules 200] [--checks 2000] [--runs 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable

from bot.domain.access import AccessRules, parse_rules
from bot.services.access import AccessControl
from bot.slack.access import gate_of

TYPES = [f"type_{n:02d}" for n in range(12)]


class CachedGroups:
    """The Directory port with every group's members already cached (what ``SlackDirectory`` answers when warm)."""

    def __init__(self, groups: dict[str, frozenset[str]]) -> None:
        self.groups = groups

    async def membership(self, group_id: str) -> frozenset[str] | None:
        return self.groups.get(group_id)


def rules(count: int) -> AccessRules:
    lines = []
    for n in range(count):
        kind = n % 5
        if kind == 0:
            lines.append(f"allow schedule:{TYPES[n % len(TYPES)]} to S0G{n:04d} in C0C{n % 40:04d}")
        elif kind == 1:
            lines.append(f"allow approve:* to S0G{n:04d}")
        elif kind == 2:
            lines.append(f"allow list,status,devices,watch to U0U{n:04d},U0V{n:04d}")
        elif kind == 3:
            lines.append(f"allow rollout:*,rollout.* to S0G{n:04d} in C0C{n % 40:04d},dm")
        else:
            lines.append(f"deny * to U0X{n:04d}")
    return parse_rules("; ".join(lines))


def timed(batch: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        batch()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    ruleset = rules(args.rules)
    groups = {
        g: frozenset({"U0PERSON", f"U0M{i}"})
        for i, g in enumerate(sorted({g for r in ruleset.rules for g in r.groups}))
    }
    access = AccessControl(ruleset, CachedGroups(groups), types=lambda: TYPES)  # type: ignore[arg-type]
    memberships = {g: True for g in groups}
    n = args.checks

    def evaluations() -> None:
        for _ in range(n):
            ruleset.evaluate("schedule:type_03", "U0PERSON", "C0C0003", memberships)

    evaluate = timed(evaluations, args.runs)

    async def checks() -> None:
        for _ in range(n):
            await access.check("U0PERSON", "schedule:type_03", "C0C0003")

    async def forms() -> None:
        for _ in range(n // 10):
            await access.allowed_types("U0PERSON", "schedule", "C0C0003")

    check = timed(lambda: asyncio.run(checks()), args.runs)
    form = timed(lambda: asyncio.run(forms()), args.runs)
    body = {"command": "/headless", "text": "schedule SN123456789 type_03 tomorrow at 2am", "channel_id": "C0C0003"}
    gate = timed(lambda: [gate_of(body, TYPES) for _ in range(n)], args.runs)

    print(f"access rules: {len(ruleset.rules)} rules, {len(groups)} groups; medians of {args.runs} runs")
    print(f"  evaluate (pure)              {evaluate / n * 1e6:8.1f} µs per check")
    print(f"  AccessControl.check          {check / n * 1e6:8.1f} µs per check (groups cached)")
    print(f"  allowed_types ({len(TYPES)} types)     {form / (n // 10) * 1e6:8.1f} µs per form")
    print(f"  gate_of(quick form command)  {gate / n * 1e6:8.1f} µs per request")


if __name__ == "__main__":
    main()
