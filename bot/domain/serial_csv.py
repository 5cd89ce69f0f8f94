"""The device serials of an uploaded CSV: only the ``serial`` column counts. Pure: no I/O (downloading the file is
``bot.slack.uploads``'s).

* A header line is required and names a ``serial`` column (any case, spaces around ignored); the other columns
  (``zone``, ``site``, a spreadsheet's own) are ignored, so an inventory export or a spreadsheet works as is.
  Commas, semicolons or tabs separate the columns (whichever the header line uses).
* One exception: a file of one column and no header, where the first line already is a serial with a digit in it
  (``SN123456789``), is read as a list of serials, as if pasted. A one-word header like ``devices`` has no digit,
  so it is not mistaken for a serial (and is refused with the columns it has).
* Each serial is checked as a typed one is (``bot.domain.ids.SERIAL``); bad lines are refused with their line
  numbers, so the person fixes the file, not guesses. Blank lines are skipped; duplicates are kept here (the
  request drops them, as for typed serials).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence

from bot.domain.ids import SERIAL
from bot.i18n import _

SERIAL_COLUMN = "serial"
MAX_PROBLEMS_SHOWN = 5
_DELIMITERS = (",", ";", "\t")
_HAS_DIGIT = re.compile(r"\d")


class SerialCsvError(ValueError):
    """A file whose serials cannot be read; the message says what to change (plain text, no mrkdwn)."""


def serials_from_csv(text: str) -> list[str]:
    """The serials of ``text`` (a CSV, BOM allowed), in file order; ``SerialCsvError`` saying what to fix."""
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise SerialCsvError(_("The file is not a text file. Save it as CSV (UTF-8) with a serial column."))
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        raise SerialCsvError(_("The file is empty. Give a header line with a serial column, then one serial a line."))
    delimiter = _delimiter(first)
    try:
        rows = list(_rows(text, delimiter))
    except csv.Error as exc:
        raise SerialCsvError(
            _("The file is not a readable CSV ({error}). Save it as CSV (UTF-8).").format(error=exc)
        ) from None
    line_no, header = rows[0]
    names = [cell.strip().casefold() for cell in header]
    if SERIAL_COLUMN in names:
        return _column(rows[1:], names.index(SERIAL_COLUMN))
    if len(header) == 1 and SERIAL.match(header[0].strip()) and _HAS_DIGIT.search(header[0]):
        return _column(rows, 0)
    raise SerialCsvError(
        _(
            "The file has no serial column (its first line, line {line}, has: {columns}). "
            "Add a header line naming a column serial; other columns are ignored."
        ).format(line=line_no, columns=_shown(header))
    )


def _delimiter(header: str) -> str:
    """The delimiter the header line uses: the one that finds a ``serial`` column, else the most frequent."""
    for delimiter in _DELIMITERS:
        if SERIAL_COLUMN in (cell.strip().casefold() for cell in header.split(delimiter)):
            return delimiter
    return max(_DELIMITERS, key=header.count)


def _rows(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """The non-blank rows with the line each starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    for row in reader:
        if any(cell.strip() for cell in row):
            rows.append((start, row))
        start = reader.line_num + 1
    return rows


def _column(rows: Sequence[tuple[int, list[str]]], index: int) -> list[str]:
    serials: list[str] = []
    problems: list[str] = []
    for line_no, row in rows:
        value = row[index].strip() if index < len(row) else ""
        if not value:
            problems.append(_("line {line} has no serial").format(line=line_no))
        elif not SERIAL.match(value):
            problems.append(
                _("line {line}: {value} is not a device serial").format(line=line_no, value=repr(value[:40]))
            )
        else:
            serials.append(value)
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
        if len(problems) > MAX_PROBLEMS_SHOWN:
            text = _(
                "{problems} (and {count} more). A serial is letters, digits, '.', '_', ':' or '-', 3 to 64 "
                "characters, like SN123456789; fix those lines and upload the file again."
            )
        else:
            text = _(
                "{problems}. A serial is letters, digits, '.', '_', ':' or '-', 3 to 64 characters, "
                "like SN123456789; fix those lines and upload the file again."
            )
        raise SerialCsvError(text.format(problems=shown, count=len(problems) - MAX_PROBLEMS_SHOWN))
    if not serials:
        raise SerialCsvError(_("The file has a serial column but no serials under it. Add one serial a line."))
    return serials


def _shown(header: Sequence[str]) -> str:
    cells = ", ".join(cell.strip()[:30] or _("(empty)") for cell in header[:8])
    if len(header) > 8:
        return _("{columns} and {count} more").format(columns=cells, count=len(header) - 8)
    return cells
