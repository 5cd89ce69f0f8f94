"""The serials of an uploaded CSV (``bot.domain.serial_csv``): the serial column, whatever else the file has."""

from __future__ import annotations

import pytest

from bot.domain.serial_csv import SerialCsvError, serials_from_csv


@pytest.mark.parametrize(
    ("text", "serials"),
    [
        ("serial\nSN100000001\nSN100000002\n", ["SN100000001", "SN100000002"]),
        ("\ufeffZone,SERIAL,site\nUTC,SN100000001,x\r\nUTC,SN100000002,y\r\n", ["SN100000001", "SN100000002"]),
        ("site; serial ;tags\nmadrid;SN100000001;a,b\n", ["SN100000001"]),
        ('serial\tnote\nSN100000001\t"two\nlines"\n\nSN100000002\tx\n', ["SN100000001", "SN100000002"]),
        ("serial,zone\nSN100000001\nSN100000001,UTC\n", ["SN100000001", "SN100000001"]),
        ("SN100000001\nSN100000002\n", ["SN100000001", "SN100000002"]),  # one column, no header
    ],
)
def test_the_serial_column_is_read(text: str, serials: list[str]) -> None:
    assert serials_from_csv(text) == serials


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "The file is empty"),
        ("\n  \n", "The file is empty"),
        ("devices\nSN100000001\n", "no serial column (its first line, line 1, has: devices)"),
        ("device,zone\nSN1,UTC\n", "has: device, zone"),
        ("serial\n", "no serials under it"),
        ("serial,x\nSN100000001,a\nbad serial!,b\n,c\n", "line 3: 'bad serial!' is not a device serial; line 4 has no"),
        ("serial\n" + "x\n" * 8, "line 2: 'x' is not a device serial; line 3"),
        ("serial\n" + "x\n" * 8, "(and 3 more)"),
        ('serial,note\n"SN1,"x\n"open', "not a readable CSV"),
        ("serial\x00\n", "not a text file"),
    ],
)
def test_what_cannot_be_read_says_what_to_fix(text: str, words: str) -> None:
    with pytest.raises(SerialCsvError) as caught:
        serials_from_csv(text)
    assert words in str(caught.value)


def test_line_numbers_count_lines_inside_quoted_cells() -> None:
    with pytest.raises(SerialCsvError, match="line 4: 'no way' is not"):
        serials_from_csv('serial,note\nSN100000001,"a\nb"\nno way,x\n')
