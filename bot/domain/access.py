"""Access rules: who may do what, with which operation types, in which places. Pure: no Slack, no I/O.

A rule reads ``allow|deny ACTIONS to PRINCIPALS [in PLACES]`` (``ACCESS_RULES``, rules separated by ``;``), or is
an entry of ``ACCESS_FILE`` (YAML, the same rules as a list, with optional names and comments). Lists are
comma-separated.

- **Actions**: ``list``, ``status``, ``refresh``, ``devices``, ``watch``, ``audit``, ``schedule:<type>``,
  ``approve:<type>``, ``rollout:<type>``, ``rollout.pause``, ``rollout.resume``, ``rollout.promote``,
  ``rollout.abort``; globs allowed (``schedule:*``, ``rollout.*``, ``*``). ``schedule`` alone means
  ``schedule:*`` (so do ``approve`` and ``rollout``).
- **Principals**: user ids (``U…``/``W…``), user-group ids (``S…``), ``*``.
- **Places**: channel ids (``C…``/``G…``), ``dm`` (a direct message with the bot, its Home, a global shortcut: any
  place that is no channel), ``*`` (the default).

Evaluation (Nautobot ChatOps' and Errbot's model): any matching ``deny`` wins; otherwise a matching ``allow``
permits; otherwise denied. So adding a ``deny`` never grants anything, and an empty rule set is *unrestricted*
(the bot as it was before rules existed), never "deny everything".

Group membership comes from outside (``memberships``: group id → is the person in it, or ``None`` when Slack could
not tell). An unknown membership fails closed: it matches every ``deny`` naming the group and no ``allow``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase, translate
from functools import cached_property
from typing import Any

from bot.domain.ids import CHANNEL_ID, GROUP_ID, USER_ID

#: The actions that take no operation type.
PLAIN_ACTIONS: tuple[str, ...] = (
    "list", "status", "refresh", "devices", "watch", "audit",
    "rollout.pause", "rollout.resume", "rollout.promote", "rollout.abort",
)  # fmt: skip
#: The actions that name an operation type: ``schedule:reboot``.
TYPED_ACTIONS: tuple[str, ...] = ("schedule", "approve", "rollout")
#: Every action's shape, for ``/headless help`` and error messages.
ACTION_WORDS: tuple[str, ...] = (*PLAIN_ACTIONS[:6], *(f"{a}:<type>" for a in TYPED_ACTIONS), *PLAIN_ACTIONS[6:])

CANDIDATE_CACHE_SIZE = 10_000  # (action, place) pairs remembered; cleared when full
DM = "dm"
ANYWHERE = "*"
EVERYONE = "*"

_PATTERN_CHARS = re.compile(r"^[a-z0-9_.:*?]+\Z")
_TYPE_GLOB = re.compile(r"^[a-z0-9_*?]+\Z")
_RULE_SPLIT = re.compile(r"[;\n]")
_SYNTAX = (
    "write `allow|deny ACTIONS to WHO [in PLACES]`, like `allow schedule:reboot to S0NOC in C0NOC`; lists are "
    "comma-separated"
)


class Effect(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


class AccessRulesError(ValueError):
    """Rules that cannot be used; the message names the rule's number and the word that is wrong."""


@dataclass(frozen=True)
class Rule:
    """One rule. ``number`` is its position (1-based) where it was written; ``text`` how it reads."""

    number: int
    effect: Effect
    actions: tuple[str, ...]
    principals: tuple[str, ...]
    places: tuple[str, ...] = (ANYWHERE,)
    name: str | None = None

    @property
    def text(self) -> str:
        where = "" if self.places == (ANYWHERE,) else f" in {','.join(self.places)}"
        return f"{self.effect} {','.join(self.actions)} to {','.join(self.principals)}{where}"

    @property
    def label(self) -> str:
        """``rule 3`` or ``rule 3 (firmware team)``."""
        return f"rule {self.number}" + (f" ({self.name})" if self.name else "")

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(p for p in self.principals if GROUP_ID.match(p))

    @cached_property
    def _action_pattern(self) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{translate(p)})" for p in self.actions))

    def covers_action(self, action: str) -> bool:
        return self._action_pattern.match(action) is not None

    def covers_place(self, place: str) -> bool:
        return any(p == ANYWHERE or p == place for p in self.places)

    def covers_person(self, user_id: str, memberships: Mapping[str, bool | None]) -> bool:
        """Does the rule name this person (``*``, their id, or a group they are in)? An unknown membership counts
        as "in the group" for a deny and "not in it" for an allow: both fail closed."""
        for principal in self.principals:
            if principal == EVERYONE or principal == user_id:
                return True
            if GROUP_ID.match(principal):
                member = memberships.get(principal)
                if member is True or (member is None and self.effect is Effect.DENY):
                    return True
        return False


class Outcome(StrEnum):
    UNRESTRICTED = "unrestricted"  # no rules configured: everything is allowed, as before rules existed
    ALLOWED = "allowed"  # an allow rule matched and no deny did
    DENIED = "denied"  # a deny rule matched
    NO_RULE = "no_rule"  # nothing matched: denied by default


@dataclass(frozen=True)
class Verdict:
    """The answer for one (person, action, place), with the rule that decided (none when unrestricted or by
    default)."""

    action: str
    place: str
    outcome: Outcome
    rule: Rule | None = None

    @property
    def allowed(self) -> bool:
        return self.outcome in (Outcome.UNRESTRICTED, Outcome.ALLOWED)


@dataclass(frozen=True)
class Hint:
    """What a denied person could ask for: places where a rule would let them, groups that are allowed."""

    places: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccessRules:
    """The rules in force, in their written order. Empty = unrestricted."""

    rules: tuple[Rule, ...] = ()
    source: str = ""

    @property
    def restricted(self) -> bool:
        return bool(self.rules)

    def candidates(self, action: str, place: str) -> tuple[Rule, ...]:
        """The rules about this action in this place (whoever they name); remembered per (action, place), a small
        set (actions × channels where people work), so a request costs a dictionary lookup, not a pass over every
        rule's globs."""
        key = (action, place)
        found = self._candidates.get(key)
        if found is None:
            found = tuple(r for r in self.rules if r.covers_action(action) and r.covers_place(place))
            if len(self._candidates) >= CANDIDATE_CACHE_SIZE:
                self._candidates.clear()
            self._candidates[key] = found
        return found

    @cached_property
    def _candidates(self) -> dict[tuple[str, str], tuple[Rule, ...]]:
        return {}

    def groups_for(self, action: str, place: str) -> set[str]:
        """The groups whose membership can change the answer (so only those are looked up)."""
        return {g for rule in self.candidates(action, place) for g in rule.groups}

    def evaluate(
        self, action: str, user_id: str, place: str, memberships: Mapping[str, bool | None] | None = None
    ) -> Verdict:
        """Any matching deny wins; else the first matching allow; else denied by default."""
        action = normalize_action(action)
        if not self.restricted:
            return Verdict(action, place, Outcome.UNRESTRICTED)
        memberships = memberships or {}
        allowed: Rule | None = None
        for rule in self.candidates(action, place):
            if not rule.covers_person(user_id, memberships):
                continue
            if rule.effect is Effect.DENY:
                return Verdict(action, place, Outcome.DENIED, rule)
            allowed = allowed or rule
        if allowed is not None:
            return Verdict(action, place, Outcome.ALLOWED, allowed)
        return Verdict(action, place, Outcome.NO_RULE)

    def hint(self, action: str, user_id: str, place: str, memberships: Mapping[str, bool | None]) -> Hint:
        """Where else (or through which group) the person could do it, from the allow rules about ``action``."""
        action = normalize_action(action)
        places: list[str] = []
        groups: list[str] = []
        for rule in self.rules:
            if rule.effect is not Effect.ALLOW or not rule.covers_action(action):
                continue
            if rule.covers_person(user_id, memberships):
                places += [p for p in rule.places if p not in (ANYWHERE, place) and p not in places]
            else:
                groups += [g for g in rule.groups if g not in groups]
        # A place is only worth naming if no deny stops the person there.
        places = [p for p in places if self.evaluate(action, user_id, p, memberships).allowed]
        return Hint(places=tuple(places[:3]), groups=tuple(groups[:3]))


def normalize_action(action: str) -> str:
    """``Schedule:Reboot`` → ``schedule:reboot``; ``schedule`` alone → ``schedule:*`` (any type)."""
    action = action.strip().lower()
    return f"{action}:*" if action in TYPED_ACTIONS else action


def typed_action(family: str, operation_type: str) -> str:
    """``schedule`` + ``firmware_update`` → ``schedule:firmware_update``."""
    return f"{family}:{operation_type}"


# ---------------------------------------------------------------------------------------------- reading rules


def parse_rules(text: str, *, source: str = "ACCESS_RULES") -> AccessRules:
    """``ACCESS_RULES``: rules separated by ``;`` (or new lines). ``AccessRulesError`` names the first bad rule's
    number and word."""
    parts = [part.strip() for part in _RULE_SPLIT.split(text or "")]
    rules = [parse_rule(part, number) for number, part in enumerate((p for p in parts if p), start=1)]
    return AccessRules(tuple(rules), source=source)


def parse_rule(text: str, number: int, *, name: str | None = None) -> Rule:
    """One rule as written: ``allow schedule:reboot,list to S0NOC,U0LEAD in C0NOC,dm``."""
    words = _rule_words(text)
    if not words:
        raise AccessRulesError(f"rule {number} is empty: {_SYNTAX}")
    effect_word = words[0].lower()
    if effect_word not in (Effect.ALLOW, Effect.DENY):
        raise AccessRulesError(f"rule {number}: unknown word `{words[0]}`: a rule starts with allow or deny; {_SYNTAX}")
    to = _keyword(words, "to")
    if to is None:
        raise AccessRulesError(f"rule {number}: no `to`: {_SYNTAX}")
    where = _keyword(words, "in")
    if where is not None and where < to:
        raise AccessRulesError(f"rule {number}: `in` comes after `to`: {_SYNTAX}")
    actions = _items(words[1:to])
    principals = _items(words[to + 1 : where if where is not None else len(words)])
    places = _items(words[where + 1 :]) if where is not None else [ANYWHERE]
    return make_rule(number, Effect(effect_word), actions, principals, places, name=name)


def make_rule(
    number: int,
    effect: Effect,
    actions: Sequence[str],
    principals: Sequence[str],
    places: Sequence[str] = (ANYWHERE,),
    *,
    name: str | None = None,
) -> Rule:
    """A checked rule; ``AccessRulesError`` names the rule's number and the first unknown word."""
    if not actions:
        raise AccessRulesError(f"rule {number}: no action before `to`: {_SYNTAX}")
    if not principals:
        raise AccessRulesError(f"rule {number}: nobody after `to` (a user U…, a user group S… or *): {_SYNTAX}")
    if not places:
        raise AccessRulesError(f"rule {number}: no place after `in` (a channel C…, dm or *)")
    return Rule(
        number=number,
        effect=effect,
        actions=tuple(_action(word, number) for word in actions),
        principals=tuple(_principal(word, number) for word in principals),
        places=tuple(_place(word, number) for word in places),
        name=name,
    )


def rules_from_entries(entries: Iterable[Any], *, source: str) -> AccessRules:
    """``ACCESS_FILE``'s entries: each a rule as a string (``allow list to *``), or a mapping with ``allow`` or
    ``deny`` (actions), ``to`` (who), optional ``in`` (places), ``name`` and ``comment``. Lists may be YAML lists
    or comma-separated strings."""
    rules: list[Rule] = []
    for number, entry in enumerate(entries, start=1):
        if isinstance(entry, str):
            rules.append(parse_rule(entry, number))
            continue
        if not isinstance(entry, Mapping):
            raise AccessRulesError(f"rule {number}: expected a rule (a string, or a mapping with allow/deny and to)")
        unknown = [str(k) for k in entry if str(k) not in ("allow", "deny", "to", "in", "name", "comment")]
        if unknown:
            raise AccessRulesError(f"rule {number}: unknown word `{unknown[0]}` (keys: allow or deny, to, in, name)")
        effects = [e for e in (Effect.ALLOW, Effect.DENY) if e.value in entry]
        if len(effects) != 1:
            raise AccessRulesError(f"rule {number}: give exactly one of allow or deny")
        name = entry.get("name")
        rules.append(
            make_rule(
                number,
                effects[0],
                _listed(entry.get(effects[0].value)),
                _listed(entry.get("to")),
                _listed(entry.get("in")) or [ANYWHERE],
                name=str(name)[:80] if name is not None else None,
            )
        )
    return AccessRules(tuple(rules), source=source)


def _rule_words(text: str) -> list[str]:
    # "allow list, status to *": commas may have spaces around them; they separate items, not words.
    return re.sub(r"\s*,\s*", ",", text.strip()).split()


def _keyword(words: list[str], keyword: str) -> int | None:
    return next((i for i, w in enumerate(words) if w.lower() == keyword and i > 0), None)


def _items(words: Sequence[str]) -> list[str]:
    return [item for word in words for item in word.split(",") if item]


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return _items(_rule_words(value))
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [str(value)]


def _action(word: str, number: int) -> str:
    pattern = normalize_action(word)
    family, colon, type_glob = pattern.partition(":")
    known = _PATTERN_CHARS.match(pattern) is not None and (
        (colon and any(fnmatchcase(t, family) for t in TYPED_ACTIONS) and _TYPE_GLOB.match(type_glob) is not None)
        or (not colon and any(fnmatchcase(a, pattern) for a in (*PLAIN_ACTIONS, *(f"{t}:x" for t in TYPED_ACTIONS))))
    )
    if not known:
        near = difflib.get_close_matches(pattern, [*PLAIN_ACTIONS, *TYPED_ACTIONS], n=1, cutoff=0.6)
        hint = f" Did you mean `{near[0]}`?" if near else ""
        raise AccessRulesError(
            f"rule {number}: unknown action `{word[:60]}`.{hint} Actions: {', '.join(ACTION_WORDS)} (globs such as "
            "`schedule:*`, `rollout.*` or `*` are allowed)"
        )
    return pattern


def _principal(word: str, number: int) -> str:
    principal = word.removeprefix("@")
    if principal == EVERYONE or USER_ID.match(principal) or GROUP_ID.match(principal):
        return principal
    raise AccessRulesError(
        f"rule {number}: unknown word `{word[:60]}` after `to`: name a user (U…), a user group (S…) or *"
    )


def _place(word: str, number: int) -> str:
    place = word.removeprefix("#")
    if place.lower() == DM:
        return DM
    if place == ANYWHERE or (CHANNEL_ID.match(place) and not place.startswith("D")):
        return place
    raise AccessRulesError(
        f"rule {number}: unknown word `{word[:60]}` after `in`: name a channel id (C… or G…), dm or *"
    )


def read_action(word: str) -> str:
    """An action as a person names it (``/headless can schedule:reboot``), normalised; ``ValueError`` saying which
    actions exist when it is none of them."""
    try:
        return _action(word, 0)
    except AccessRulesError as exc:
        raise ValueError(str(exc).removeprefix("rule 0: ")) from None


def place_of(channel_id: str | None) -> str:
    """Where an interaction happens, as rules name places: its channel id, or ``dm`` for a direct message with the
    bot (``D…``) and for anything with no channel (the Home tab, a global shortcut, a form opened from either)."""
    if not channel_id or channel_id.startswith("D") or not CHANNEL_ID.match(channel_id):
        return DM
    return channel_id


class NotAllowed(Exception):
    """The person may not do this here (``verdict`` says which rule decided; ``hint`` what they could ask for)."""

    def __init__(self, verdict: Verdict, hint: Hint | None = None) -> None:
        self.verdict = verdict
        self.hint = hint or Hint()
        super().__init__(f"{verdict.action} not allowed in {verdict.place} ({verdict.outcome})")


__all__ = [
    "ACTION_WORDS",
    "DM",
    "PLAIN_ACTIONS",
    "TYPED_ACTIONS",
    "AccessRules",
    "AccessRulesError",
    "Effect",
    "Hint",
    "NotAllowed",
    "Outcome",
    "Rule",
    "Verdict",
    "make_rule",
    "normalize_action",
    "parse_rule",
    "parse_rules",
    "place_of",
    "rules_from_entries",
    "typed_action",
]
