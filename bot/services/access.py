"""Who may do what, where: the access rules (``ACCESS_RULES`` / ``ACCESS_FILE``) applied to one person.

The rules themselves are pure (``bot.domain.access``); this adds what needs I/O: the members of the user groups a
rule names (through the ``Directory`` port, cached ``ACCESS_GROUP_CACHE_SECONDS``), and what a denial leaves
behind: an audit line and the ``access_denied_total{action}`` metric. Every entry point asks here: the Slack
middleware for what a payload names, the listeners for what only the stored request knows (its operation type).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

import yaml

from bot.clock import Clock, utcnow
from bot.domain.access import (
    PLAIN_ACTIONS,
    AccessRules,
    AccessRulesError,
    Hint,
    NotAllowed,
    Verdict,
    normalize_action,
    parse_rules,
    rules_from_entries,
    typed_action,
)
from bot.metrics import Metrics
from bot.services.ports import Directory
from bot.settings import Settings

log = logging.getLogger("bot.access")

#: The word the audit log uses for a denial.
AUDIT_DENIED = "access_denied"


class Auditor(Protocol):
    async def audit(
        self, actor_id: str, action: str, subject: str, *, outcome: str, channel_id: str | None = None,
        request_id: str | None = None, detail: dict[str, object] | None = None, at: object,
    ) -> None: ...  # fmt: skip


def load_access_rules(settings: Settings) -> AccessRules:
    """The rules in force: ``ACCESS_FILE`` (YAML) or ``ACCESS_RULES`` (one line); none = unrestricted.
    ``AccessRulesError`` (one line, naming the rule's number and the unknown word) for rules that cannot be used."""
    if settings.access_file:
        return read_access_file(settings.access_file)
    return parse_rules(settings.access_rules)


def read_access_file(path: str | Path) -> AccessRules:
    """``ACCESS_FILE``: a YAML list of rules (or a mapping with ``rules:``), each a string or a mapping."""
    source = f"ACCESS_FILE {path}"
    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise AccessRulesError(f"{source}: cannot be read ({type(exc).__name__})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise AccessRulesError(f"{source}: not YAML{where}") from None
    entries = loaded.get("rules") if isinstance(loaded, dict) else loaded
    if not isinstance(entries, list):
        raise AccessRulesError(f"{source}: expected a list of rules (or `rules:` with a list)")
    try:
        return rules_from_entries(entries, source=source)
    except AccessRulesError as exc:
        raise AccessRulesError(f"{source}: {exc}") from None


class AccessControl:
    """The rules applied to people. With no rules, everything is allowed (and ``restricted`` is False)."""

    def __init__(
        self,
        rules: AccessRules,
        directory: Directory,
        *,
        audit: Auditor | None = None,
        metrics: Metrics | None = None,
        types: Callable[[], Sequence[str]] = tuple,
        clock: Clock = utcnow,
    ) -> None:
        self.rules = rules
        self._directory = directory
        self._audit = audit
        self._metrics = metrics
        self._types = types
        self._clock = clock

    @property
    def restricted(self) -> bool:
        return self.rules.restricted

    def startup_line(self) -> str:
        """The one log line at start that says which regime is in force."""
        if not self.restricted:
            return (
                "access: no ACCESS_RULES or ACCESS_FILE: everyone may use every command and request any operation "
                "type from any channel; APPROVERS decide approvals"
            )
        return f"access: {len(self.rules.rules)} rules from {self.rules.source or 'ACCESS_RULES'}, deny by default"

    async def check(self, user_id: str, action: str, place: str) -> Verdict:
        """The verdict, with the deciding rule. Looks up only the groups that can change the answer."""
        action = normalize_action(action)
        if not self.restricted:
            return self.rules.evaluate(action, user_id, place)
        memberships = await self._memberships(user_id, self.rules.groups_for(action, place))
        return self.rules.evaluate(action, user_id, place, memberships)

    async def allows(self, user_id: str, action: str, place: str) -> bool:
        return (await self.check(user_id, action, place)).allowed

    async def require(self, user_id: str, action: str, place: str, *, subject: str | None = None) -> Verdict:
        """The verdict if allowed; else the denial is audited and counted, and ``NotAllowed`` raised."""
        verdict = await self.check(user_id, action, place)
        if verdict.allowed:
            return verdict
        raise await self.denied(user_id, verdict, subject=subject)

    async def denied(self, user_id: str, verdict: Verdict, *, subject: str | None = None) -> NotAllowed:
        """Record a denial (audit line, metric) and return the exception that carries it, with its hint."""
        hint = await self.hint(user_id, verdict)
        if self._metrics is not None:
            self._metrics.access_denied.labels(self._metric_action(verdict.action)).inc()
        log.info("access denied: %s may not %s in %s (%s)", user_id, verdict.action, verdict.place, verdict.outcome)
        if self._audit is not None:
            try:
                await self._audit.audit(
                    user_id, AUDIT_DENIED, (subject or verdict.action)[:255], outcome=verdict.outcome.value,
                    channel_id=verdict.place, at=self._clock(),
                    detail={"action": verdict.action, "rule": verdict.rule.number if verdict.rule else None},
                )  # fmt: skip
            except Exception as exc:  # the denial stands even if the audit log cannot be written just now
                log.warning("audit of a denial failed (%s)", type(exc).__name__)
        return NotAllowed(verdict, hint)

    async def hint(self, user_id: str, verdict: Verdict) -> Hint:
        """Where else (or through which group) the person could do what ``verdict`` denied."""
        groups = {g for rule in self.rules.rules for g in rule.groups}
        return self.rules.hint(verdict.action, user_id, verdict.place, await self._memberships(user_id, groups))

    async def may_any(self, user_id: str, family: str, place: str) -> bool:
        """May the person do ``family`` (schedule, rollout, approve) for at least one operation type here?"""
        return bool(await self.allowed_types(user_id, family, place))

    async def allowed_types(self, user_id: str, family: str, place: str) -> list[str]:
        """The known operation types the person may ``family`` here (all of them when unrestricted)."""
        types = list(self._types())
        if not self.restricted:
            return types
        return [t for t in types if (await self.check(user_id, typed_action(family, t), place)).allowed]

    async def permitted(self, user_id: str, place: str) -> set[str]:
        """The plain actions and the typed families (``schedule``, ``approve``, ``rollout``) the person may use here
        (for ``/headless help``)."""
        allowed = {a for a in PLAIN_ACTIONS if await self.allows(user_id, a, place)}
        for family in ("schedule", "approve", "rollout"):
            if await self.may_any(user_id, family, place):
                allowed.add(family)
        return allowed

    def _metric_action(self, action: str) -> str:
        """The metric's label: the action, with an operation type the bot does not know read as ``other`` (labels
        are a fixed vocabulary, never what someone typed)."""
        family, colon, kind = action.partition(":")
        if not colon:
            return action if action in PLAIN_ACTIONS else "other"
        return action if kind in self._types() else f"{family}:other"

    async def _memberships(self, user_id: str, groups: Iterable[str]) -> dict[str, bool | None]:
        wanted = sorted(set(groups))
        if not wanted:
            return {}
        members = await asyncio.gather(*(self._directory.membership(g) for g in wanted))
        return {g: (None if m is None else user_id in m) for g, m in zip(wanted, members, strict=True)}
