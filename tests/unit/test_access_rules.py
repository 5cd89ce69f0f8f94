"""The access-rule engine (``bot.domain.access``): reading rules, globs, deny wins, groups, dm, the default."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.access import (
    DM,
    AccessRules,
    AccessRulesError,
    Effect,
    Outcome,
    make_rule,
    parse_rules,
    place_of,
    read_action,
)
from bot.services.access import read_access_file

EXAMPLE = (
    "allow schedule:*,rollout:* to S0FWTEAM in C0FIRMWARE; allow schedule:reboot to S0NOC; "
    "allow approve:* to S0LEADS; allow list,status,devices,watch to *; deny * to U0CONTRACTOR"
)
FW, NOC, LEADS = "S0FWTEAM", "S0NOC", "S0LEADS"


def member_of(*groups: str) -> dict[str, bool | None]:
    return {g: g in groups for g in (FW, NOC, LEADS)}


@pytest.mark.parametrize(
    ("action", "user", "place", "groups", "allowed", "rule"),
    [
        ("schedule:firmware_update", "U01", "C0FIRMWARE", (FW,), True, 1),
        ("schedule:firmware_update", "U01", "C0OTHER", (FW,), False, None),  # the rule names a channel
        ("rollout:firmware_update", "U01", "C0FIRMWARE", (FW,), True, 1),
        ("schedule:reboot", "U02", "C0ANY", (NOC,), True, 2),
        ("schedule:reboot", "U02", DM, (NOC,), True, 2),  # no `in`: anywhere, a DM included
        ("schedule:firmware_update", "U02", "C0FIRMWARE", (NOC,), False, None),
        ("approve:reboot", "U03", "C0APPROVE", (LEADS,), True, 3),
        ("approve:reboot", "U02", "C0APPROVE", (NOC,), False, None),
        ("list", "U09", "C0ANY", (), True, 4),
        ("status", "U09", DM, (), True, 4),
        ("refresh", "U09", "C0ANY", (), False, None),  # nobody was given refresh: denied by default
        ("audit", "U09", "C0ANY", (), False, None),
        ("list", "U0CONTRACTOR", "C0ANY", (), False, 5),  # deny wins over the allow to *
        ("schedule:reboot", "U0CONTRACTOR", "C0ANY", (NOC,), False, 5),  # … and over a group's allow
        ("rollout.pause", "U01", "C0FIRMWARE", (FW,), False, None),  # rollout:* is not rollout.*
    ],
)
def test_the_example_of_the_issue(
    action: str, user: str, place: str, groups: tuple[str, ...], allowed: bool, rule: int | None
) -> None:
    rules = parse_rules(EXAMPLE)
    verdict = rules.evaluate(action, user, place, member_of(*groups))
    assert verdict.allowed is allowed
    assert (verdict.rule.number if verdict.rule else None) == rule
    if not allowed:
        assert verdict.outcome is (Outcome.DENIED if rule else Outcome.NO_RULE)


@pytest.mark.parametrize(
    ("text", "number", "word"),
    [
        ("allow sched:reboot to *", 1, "sched:reboot"),
        ("allow list to *; allow lisst to *", 2, "lisst"),
        ("allow list to *; allow list to *; permit list to *", 3, "permit"),
        ("allow list to bob", 1, "bob"),
        ("allow list to * in #general", 1, "#general"),
        ("allow list to * in D0DIRECT", 1, "D0DIRECT"),  # a DM is `dm`, not a D… id
        ("allow schedule:Re-boot! to *", 1, "Re-boot!"),
        ("allow rollout.stop to *", 1, "rollout.stop"),
    ],
)
def test_bad_rules_name_their_number_and_the_unknown_word(text: str, number: int, word: str) -> None:
    with pytest.raises(AccessRulesError) as error:
        parse_rules(text)
    message = str(error.value)
    assert f"rule {number}" in message
    assert word.lower() in message.lower()


@pytest.mark.parametrize(
    "text", ["allow list", "allow to *", "allow list to", "allow list to * in", "deny list in C0A to *"]
)
def test_rules_missing_a_part_are_refused_with_the_syntax(text: str) -> None:
    with pytest.raises(AccessRulesError, match="rule 1"):
        parse_rules(text)


def test_lists_take_spaces_after_commas_and_new_lines_separate_rules() -> None:
    rules = parse_rules("allow list, status , devices to U01, S0NOC\n deny refresh to * in C0A, dm")
    first, second = rules.rules
    assert first.actions == ("list", "status", "devices")
    assert first.principals == ("U01", "S0NOC")
    assert second.places == ("C0A", DM)
    assert second.effect is Effect.DENY


@pytest.mark.parametrize(
    ("pattern", "action", "matches"),
    [
        ("schedule:*", "schedule:reboot", True),
        ("schedule", "schedule:reboot", True),  # a family alone means any type
        ("schedule:fw_*", "schedule:fw_update", True),
        ("schedule:fw_*", "schedule:reboot", False),
        ("rollout.*", "rollout.abort", True),
        ("rollout.*", "rollout:reboot", False),
        ("*", "audit", True),
        ("*:reboot", "approve:reboot", True),
        ("*:reboot", "approve:firmware_update", False),
    ],
)
def test_globs(pattern: str, action: str, matches: bool) -> None:
    rules = parse_rules(f"allow {pattern} to *")
    assert rules.evaluate(action, "U01", "C0A").allowed is matches


def test_no_rules_is_unrestricted_never_deny_everything() -> None:
    verdict = AccessRules().evaluate("schedule:firmware_update", "U01", "C0A")
    assert verdict.allowed and verdict.outcome is Outcome.UNRESTRICTED
    assert parse_rules("  ").restricted is False


def test_an_unknown_membership_fails_closed_both_ways() -> None:
    rules = parse_rules("allow list to S0NOC; deny refresh to S0BANNED; allow refresh to *")
    unknown: dict[str, bool | None] = {"S0NOC": None, "S0BANNED": None}
    assert not rules.evaluate("list", "U01", "C0A", unknown).allowed  # an allow through an unknown group: no
    assert not rules.evaluate("refresh", "U01", "C0A", unknown).allowed  # a deny through one: yes
    known = {"S0NOC": True, "S0BANNED": False}
    assert rules.evaluate("list", "U01", "C0A", known).allowed
    assert rules.evaluate("refresh", "U01", "C0A", known).allowed


def test_places_dm_and_channels() -> None:
    assert place_of(None) == DM
    assert place_of("D0123ABC") == DM
    assert place_of("C0123ABC") == "C0123ABC"
    assert place_of("<script>") == DM
    rules = parse_rules("allow list to * in dm")
    assert rules.evaluate("list", "U01", DM).allowed
    assert not rules.evaluate("list", "U01", "C0A").allowed


def test_only_the_groups_that_matter_are_looked_up() -> None:
    rules = parse_rules(EXAMPLE)
    assert rules.groups_for("schedule:reboot", "C0ANY") == {NOC}
    assert rules.groups_for("schedule:reboot", "C0FIRMWARE") == {FW, NOC}
    assert rules.groups_for("list", "C0ANY") == set()


def test_the_hint_names_where_the_person_could_do_it_or_which_group_may() -> None:
    rules = parse_rules(EXAMPLE)
    hint = rules.hint("schedule:firmware_update", "U01", "C0OTHER", member_of(FW))
    assert hint.places == ("C0FIRMWARE",)
    hint = rules.hint("schedule:firmware_update", "U02", "C0OTHER", member_of())
    assert hint.places == () and hint.groups == (FW,)
    # A contractor is denied everywhere: no place is worth naming.
    assert rules.hint("schedule:firmware_update", "U0CONTRACTOR", "C0X", member_of(FW)).places == ()


def test_read_action_for_can() -> None:
    assert read_action("Schedule:Reboot") == "schedule:reboot"
    assert read_action("schedule") == "schedule:*"
    with pytest.raises(ValueError, match="unknown action"):
        read_action("launch")


def test_access_file_yaml(tmp_path: Path) -> None:
    path = tmp_path / "access.yaml"
    path.write_text(
        "rules:\n"
        "  - name: firmware team\n"
        "    comment: only in their channel\n"
        "    allow: [schedule:firmware_update, rollout:*]\n"
        "    to: S0FWTEAM\n"
        "    in: [C0FIRMWARE]\n"
        "  - allow list, status to *\n"
        "  - deny: '*'\n"
        "    to: [U0CONTRACTOR]\n",
        encoding="utf-8",
    )
    rules = read_access_file(path)
    assert [r.number for r in rules.rules] == [1, 2, 3]
    assert rules.rules[0].name == "firmware team"
    assert rules.rules[0].label == "rule 1 (firmware team)"
    assert rules.evaluate("schedule:firmware_update", "U01", "C0FIRMWARE", {FW: True}).allowed
    assert not rules.evaluate("list", "U0CONTRACTOR", "C0A").allowed


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("rules:\n  - allow: list\n    to: everyone\n", ["rule 1", "everyone"]),
        ("- allow list to *\n- allow: list\n  too: '*'\n", ["rule 2", "too"]),
        ("- allow list to *\n- {allow: list, deny: list, to: '*'}\n", ["rule 2", "exactly one"]),
        ("rules: 3\n", ["expected a list"]),
        ("rules: [\n", ["not YAML"]),
    ],
)
def test_a_bad_access_file_is_refused_in_one_line(tmp_path: Path, text: str, words: list[str]) -> None:
    path = tmp_path / "access.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AccessRulesError) as error:
        read_access_file(path)
    assert "\n" not in str(error.value)
    for word in words:
        assert word in str(error.value)


# ---------------------------------------------------------------------------------------------- properties

ACTIONS = st.sampled_from(
    ["list", "status", "refresh", "audit", "schedule:reboot", "schedule:firmware_update", "approve:reboot",
     "rollout:reboot", "rollout.pause", "rollout.abort"]
)  # fmt: skip
PATTERNS = st.sampled_from(
    ["*", "list", "status", "schedule:*", "schedule:reboot", "approve:*", "rollout.*", "rollout:*", "*:reboot", "audit"]
)
USERS = st.sampled_from(["U01", "U02", "U03"])
PRINCIPALS = st.sampled_from(["*", "U01", "U02", "U03", "S0A", "S0B"])
PLACES = st.sampled_from(["*", "C0A", "C0B", DM])
WHERE = st.sampled_from(["C0A", "C0B", DM])


@st.composite
def rule_sets(draw: st.DrawFn) -> list[tuple[Effect, list[str], list[str], list[str]]]:
    count = draw(st.integers(0, 6))
    return [
        (
            draw(st.sampled_from(list(Effect))),
            draw(st.lists(PATTERNS, min_size=1, max_size=3)),
            draw(st.lists(PRINCIPALS, min_size=1, max_size=2)),
            draw(st.lists(PLACES, min_size=1, max_size=2)),
        )
        for _ in range(count)
    ]


def build(spec: list[tuple[Effect, list[str], list[str], list[str]]]) -> AccessRules:
    return AccessRules(tuple(make_rule(i, *entry) for i, entry in enumerate(spec, start=1)))


MEMBERSHIPS = st.fixed_dictionaries(
    {"S0A": st.sampled_from([True, False, None]), "S0B": st.sampled_from([True, False, None])}
)


@settings(max_examples=300, deadline=None)
@given(
    spec=rule_sets(),
    deny=st.tuples(st.lists(PATTERNS, min_size=1, max_size=2), st.lists(PRINCIPALS, min_size=1, max_size=2),
                   st.lists(PLACES, min_size=1, max_size=2)),
    position=st.integers(0, 6),
    action=ACTIONS, user=USERS, place=WHERE, memberships=MEMBERSHIPS,
)  # fmt: skip
def test_adding_a_deny_never_grants_anything(
    spec: list[tuple[Effect, list[str], list[str], list[str]]],
    deny: tuple[list[str], list[str], list[str]],
    position: int,
    action: str,
    user: str,
    place: str,
    memberships: dict[str, bool | None],
) -> None:
    before = build(spec)  # no rules at all: unrestricted, so the first deny takes away (denied by default)
    after = build([*spec[:position], (Effect.DENY, *deny), *spec[position:]])
    allowed_after = after.evaluate(action, user, place, memberships).allowed
    allowed_before = before.evaluate(action, user, place, memberships).allowed
    assert not (allowed_after and not allowed_before)


@settings(max_examples=200, deadline=None)
@given(spec=rule_sets(), action=ACTIONS, user=USERS, place=WHERE, memberships=MEMBERSHIPS)
def test_rule_order_does_not_change_the_answer(
    spec: list[tuple[Effect, list[str], list[str], list[str]]],
    action: str,
    user: str,
    place: str,
    memberships: dict[str, bool | None],
) -> None:
    forward = build(spec).evaluate(action, user, place, memberships).allowed
    backward = build(list(reversed(spec))).evaluate(action, user, place, memberships).allowed
    assert forward == backward
