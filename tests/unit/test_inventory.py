"""The device inventory: reading CSV and YAML (every problem with its line), selectors, and reloading the file."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.inventory import Device, Inventory, SelectorError
from bot.services.inventory import InventoryError, InventoryFile, parse_inventory
from bot.slack.wording import selector_refused

CSV = """serial,zone,site,tags,rack
SN1001,America/Los_Angeles,san-jose,gateway;prod,r1
SN1002,America/Los_Angeles,san-jose,camera,
SN1234,Asia/Kolkata,mumbai,gateway,r7
sn1235,Asia/Kathmandu,mumbai,,
AB:CD:01,UTC,lab,lab;beta,
"""


def serials(inventory: Inventory, selector: str) -> list[str]:
    return [d.serial for d in inventory.select(selector).devices]


@pytest.fixture
def inventory() -> Inventory:
    return parse_inventory(CSV)


def test_csv_fields_tags_and_labels(inventory: Inventory) -> None:
    assert len(inventory) == 5
    first = inventory.devices[0]
    assert first == Device("SN1001", "America/Los_Angeles", "san-jose", ("gateway", "prod"), (("rack", "r1"),))
    assert inventory.devices[3].tags == () and inventory.devices[3].labels is None
    assert inventory.get("SN1235") is inventory.devices[3]  # serials compare without case


def test_yaml_same_fields() -> None:
    text = "- serial: SN1001\n  zone: UTC\n  site: lab\n  tags: [a, b]\n  rack: 3\n"
    text += "- {serial: SN1002, zone: UTC, site: lab}\n"
    devices = parse_inventory(text, source="devices.yaml").devices
    assert devices == (Device("SN1001", "UTC", "lab", ("a", "b"), (("rack", "3"),)), Device("SN1002", "UTC", "lab"))


def test_every_problem_listed_with_its_line() -> None:
    text = (
        "serial,zone,site,tags\nSN1001,UTC,a,\nSN1002,Mars/Base,a,\nx,UTC,a,\nsn1001,UTC,a,\nSN1003,,b,\n"
        "SN1004,UTC,,\nSN1005,UTC,a,b,extra\n"
    )
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text)
    assert caught.value.problems == [
        "line 3: zone 'Mars/Base' is not an IANA time zone",
        "line 4: serial 'x' is not a device serial (3–64 letters, digits, . _ : -)",
        "line 5: serial 'sn1001' is already on line 2",
        "line 6: no zone",
        "line 7: no site",
        "line 8: 5 fields where the header has 4",
    ]
    assert "\n" not in str(caught.value)


def test_problems_are_capped() -> None:
    text = "serial,zone,site,tags\n" + "".join(f"SN{n:04d},Mars/Base,a,\n" for n in range(100))
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text)
    assert len(caught.value.problems) == 21 and caught.value.problems[-1] == "…"


@pytest.mark.parametrize(
    ("text", "source", "expected"),
    [
        ("", "x.csv", "line 1: the file is empty"),
        ("serial,zone,site\nSN1,UTC,a\n", "x.csv", "line 1: the header lacks tags"),
        ("serial: [\n", "x.yaml", "not valid YAML"),
        ("serial: SN1\n", "x.yml", "line 1: expected a list of devices"),
        ("- serial: SN1001\n  zone: Mars/Base\n  site: a\n", "x.yml", "line 1: zone 'Mars/Base' is not an IANA"),
    ],
)
def test_unusable_files(text: str, source: str, expected: str) -> None:
    with pytest.raises(InventoryError, match=expected.replace("[", r"\[")):
        parse_inventory(text, source=source)


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", ["SN1001", "SN1002", "SN1234", "sn1235", "AB:CD:01"]),
        ("SN1002", ["SN1002"]),
        ("sn1234", ["SN1234"]),
        ("SN123*", ["SN1234", "sn1235"]),
        ("site:san-jose", ["SN1001", "SN1002"]),
        ("site:SAN-JOSE+tag:gateway", ["SN1001"]),
        ("tag:gateway", ["SN1001", "SN1234"]),
        ("zone:asia/kolkata, zone:Asia/Kathmandu", ["SN1234", "sn1235"]),
        ("tag:gateway, SN1002", ["SN1001", "SN1002", "SN1234"]),  # inventory order, no repeats
        ("AB:CD:01", ["AB:CD:01"]),  # a serial with colons is a serial, not a selector kind
        ("site:mumbai+SN12*+tag:gateway", ["SN1234"]),
    ],
)
def test_selectors(inventory: Inventory, selector: str, expected: list[str]) -> None:
    assert serials(inventory, selector) == expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("rack:r1", "unknown selector kind `rack:`"),
        ("site:", "names no site"),
        ("site:paris", "No device in the inventory matches `site:paris`"),
        ("site:san-jose+tag:lab", r"matches `site:san-jose\+tag:lab`\.\Z"),  # each part matches some device
        ("site:san-jose+tag:nope", r"matches `site:san-jose\+tag:nope`\. \(`tag:nope` matches no device at all\.\)"),
        ("SN9*, tag:x+site:a", r"\(`SN9\*`, `tag:x`, `site:a` match no device at all\.\)"),
        ("tag:gateway+", "empty part"),
        ("SN9999", "matches `SN9999`"),
    ],
)
def test_selector_errors(inventory: Inventory, selector: str, expected: str) -> None:
    with pytest.raises(SelectorError, match=expected if "\\" in expected else re.escape(expected)):
        inventory.select(selector)


def test_counts(inventory: Inventory) -> None:
    selection = inventory.select("SN*")
    assert selection.by_site == [("mumbai", 2), ("san-jose", 2)]
    assert selection.by_tag == [("gateway", 2), ("camera", 1), ("prod", 1)]


SITES = st.sampled_from(["a", "b", "c"])
TAGS = st.lists(st.sampled_from(["x", "y", "z"]), unique=True, max_size=3)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(SITES, TAGS), min_size=1, max_size=40), site=SITES, tag=st.sampled_from("xyz"))
def test_selectors_agree_with_a_plain_filter(rows: list[tuple[str, list[str]]], site: str, tag: str) -> None:
    """Union and intersection through the indexes pick what a plain scan of the devices picks."""
    inventory = Inventory(tuple(Device(f"SN{n:04d}", "UTC", s, tuple(t)) for n, (s, t) in enumerate(rows)))
    cases = {
        f"site:{site}+tag:{tag}": [d for d in inventory.devices if d.site == site and tag in d.tags],
        f"site:{site},tag:{tag}": [d for d in inventory.devices if d.site == site or tag in d.tags],
        f"SN000*+site:{site}": [d for d in inventory.devices if d.serial.startswith("SN000") and d.site == site],
    }
    for selector, expected in cases.items():
        if expected:
            assert list(inventory.select(selector).devices) == expected
        else:
            with pytest.raises(SelectorError):
                inventory.select(selector)


def test_reload_on_change_and_bad_file_keeps_the_previous(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "inventory.csv"
    path.write_text("serial,zone,site,tags\nSN1001,UTC,a,\n")
    source = InventoryFile(path)
    source.load()
    assert not source.check()  # unchanged: nothing read
    path.write_text("serial,zone,site,tags\nSN1001,UTC,a,\nSN1002,UTC,b,\n")
    os.utime(path, ns=(1, 1))
    assert source.check() and source.current is not None and len(source.current) == 2
    path.write_text("serial,zone,site,tags\nSN1001,Mars/Base,a,\n")
    with caplog.at_level("WARNING", logger="bot.inventory"):
        assert not source.check()
        assert not source.check()  # the same bad file: not read again, not logged again
    assert [r.getMessage() for r in caplog.records] == [
        f"INVENTORY_FILE {path}: line 2: zone 'Mars/Base' is not an IANA time zone; "
        "the previous inventory stays in force"
    ]
    assert source.current is not None and len(source.current) == 2  # the previous one stays in force
    assert source.health() == {
        "file": str(path),
        "devices": 2,
        "problem": f"INVENTORY_FILE {path}: line 2: zone 'Mars/Base' is not an IANA time zone",
    }
    path.write_text("serial,zone,site,tags\nSN1009,UTC,a,\n")
    assert source.check() and source.problem is None
    path.unlink()
    assert not source.check() and "cannot be read" in str(source.problem)


def test_missing_file_at_start(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="cannot be read"):
        InventoryFile(tmp_path / "nope.csv").load()


def test_refusal_echoes_the_selector_escaped(inventory: Inventory) -> None:
    with pytest.raises(SelectorError) as caught:
        inventory.select("<!channel>*`x")
    shown = selector_refused(caught.value)
    assert "<!channel>" not in shown
    assert shown.startswith(":warning: No device in the inventory matches `&lt;!channel&gt;*\u02cbx`.")


NAMES = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1)
LABEL = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["UTC", "Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Kiritimati"]),
            NAMES.filter(lambda s: ";" not in s and s.strip() == s),
            st.lists(NAMES.filter(lambda s: ";" not in s and s.strip() == s), unique=True, max_size=3),
            LABEL.filter(lambda s: s.strip() == s),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_what_a_csv_writer_writes_reads_back(rows: list[tuple[str, str, list[str], str]]) -> None:
    """Sites, tags and labels with commas, quotes and any script survive the CSV quoting a spreadsheet uses."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["serial", "zone", "site", "tags", "note"])
    for n, (zone, site, tags, note) in enumerate(rows):
        writer.writerow([f"SN{n:04d}", zone, site, ";".join(tags), note])
    devices = parse_inventory(out.getvalue()).devices
    assert [(d.zone, d.site, list(d.tags), dict(d.labels or ()).get("note", "")) for d in devices] == rows
