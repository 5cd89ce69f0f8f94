"""Which devices a request names (``parse_targets``): serials, globs and selectors against the inventory."""

from __future__ import annotations

import pytest

from bot.domain.inventory import Device, Inventory
from bot.services.inputs import InputError
from bot.services.targets import parse_targets

ZONES = ("America/Los_Angeles", "Asia/Kolkata", "Europe/Madrid")
SITES = ("san-jose", "mumbai", "madrid")


def fleet(count: int = 30) -> Inventory:
    """``count`` devices SN0000…; site and zone go together; every third one is a gateway."""
    return Inventory(
        tuple(
            Device(f"SN{n:04d}", ZONES[n % 3], SITES[n % 3], ("gateway",) if n % 3 == 0 else ("camera",))
            for n in range(count)
        )
    )


def test_without_an_inventory_serials_are_read_as_always() -> None:
    targets = parse_targets("SN123456789, sn123456789\nSN987654321", None, limit=5)
    assert targets.serials == ("SN123456789", "SN987654321")
    assert not targets.selected and targets.unknown == ()
    with pytest.raises(InputError, match="3 devices is more than 2 in one request"):
        parse_targets("SNA000001 SNA000002 SNA000003", None, limit=2)


def test_pasted_serials_keep_their_order_and_the_inventory_spelling() -> None:
    targets = parse_targets("sn0005 SN0002,SN0005;SN0001", fleet(), limit=100)
    assert targets.serials == ("SN0005", "SN0002", "SN0001")
    assert not targets.selected
    assert targets.zones == {"SN0005": "Europe/Madrid", "SN0002": "Europe/Madrid", "SN0001": "Asia/Kolkata"}


def test_selectors_intersect_with_plus_and_unite_with_commas_and_spaces() -> None:
    inventory = fleet()
    gateways_in_san_jose = parse_targets("site:san-jose+tag:gateway", inventory, limit=100)
    assert gateways_in_san_jose.selected
    assert gateways_in_san_jose.serials == tuple(f"SN{n:04d}" for n in range(0, 30, 3))
    union = parse_targets("SN001*, zone:asia/kolkata", inventory, limit=100)
    expected = {f"SN{n:04d}" for n in range(10, 20)} | {f"SN{n:04d}" for n in range(1, 30, 3)}
    assert set(union.serials) == expected and len(union.serials) == len(expected)
    assert union.serials[0] == "SN0010"  # the first word's devices first, in inventory order


def test_unknown_serials_are_refused_and_listed_when_strict() -> None:
    with pytest.raises(InputError) as raised:
        parse_targets("SN0001 NOPE001 SN0002 NOPE002 nope003", fleet(), limit=100)
    assert "3 serials are not in the inventory: NOPE001, NOPE002, nope003." in str(raised.value)
    with pytest.raises(InputError, match="1 serial is not in the inventory: NOPE001"):
        parse_targets("NOPE001", fleet(), limit=100)


def test_unknown_serials_are_kept_as_typed_when_not_strict() -> None:
    targets = parse_targets("SN0001 NOPE001", fleet(), limit=100, strict=False)
    assert targets.serials == ("SN0001", "NOPE001")
    assert targets.unknown == ("NOPE001",)
    assert "NOPE001" not in targets.zones


def test_a_selector_part_matching_nothing_is_always_refused() -> None:
    for strict in (True, False):
        with pytest.raises(InputError) as raised:
            parse_targets("site:san-jsoe SN0001 tag:gateway+zone:asia/kolkata", fleet(), limit=100, strict=strict)
        message = str(raised.value)
        assert "No device in the inventory matches site:san-jsoe, tag:gateway+zone:asia/kolkata" in message


def test_bad_words_and_selectors_say_what_to_type() -> None:
    with pytest.raises(InputError, match="unknown selector kind `rack:`"):
        parse_targets("rack:r1", fleet(), limit=100)
    with pytest.raises(InputError, match="empty part around"):
        parse_targets("site:mumbai+", fleet(), limit=100)
    with pytest.raises(InputError, match="is not a device serial or selectors"):
        parse_targets("SN0001 !!", fleet(), limit=100)
    with pytest.raises(InputError, match="at least one device serial or a selector"):
        parse_targets(" \n ", fleet(), limit=100)


def test_the_limit_counts_devices_however_they_were_named() -> None:
    with pytest.raises(InputError, match="30 devices is more than 29 in one request"):
        parse_targets("SN00*", fleet(), limit=29)
    assert len(parse_targets("SN00*", fleet(), limit=30).serials) == 30


def test_five_thousand_pasted_serials_from_a_large_inventory() -> None:
    inventory = Inventory(tuple(Device(f"GW{n:06d}", ZONES[n % 3], SITES[n % 3]) for n in range(100_000)))
    text = "\n".join(f"gw{n:06d}" for n in range(0, 100_000, 20))
    targets = parse_targets(text, inventory, limit=5000)
    assert len(targets.serials) == 5000
    assert targets.serials[:2] == ("GW000000", "GW000020")
    with pytest.raises(InputError, match="5,001 devices is more than 5,000"):
        parse_targets(text + "\ngw000001", inventory, limit=5000)
