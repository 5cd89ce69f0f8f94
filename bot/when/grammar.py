"""The grammar: text normalised for matching, and the patterns that read it, compiled once per set of languages.

``normalise`` lower-cases, strips accents and quotes, and turns ``a.m.`` into ``am``. ``compile_grammar`` builds,
from :mod:`bot.when.vocabulary`, the patterns of durations, days, parts of the day, weekdays, dates and clock
times for the active languages (cached); the language-neutral patterns (ISO 8601, numeric dates, ``HH:MM``, zone
names and offsets) are module constants. Nothing here reads a phrase: :mod:`bot.when.extract` does.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, TypeVar

from bot.when.vocabulary import (
    AGO_PREFIX,
    AGO_SUFFIX,
    AND,
    AT,
    DAY_POD_WORDS,
    DAY_WORDS,
    DURATION_PREFIX,
    DURATION_SUFFIX,
    FILLERS,
    HALF,
    MIDNIGHT_WORDS,
    MONTHS,
    NEXT_WINDOW,
    NOON_WORDS,
    NOW_WORDS,
    NUMBER_WORDS,
    OCLOCK,
    ORDINAL,
    POD_WORDS,
    UNITS,
    WEEKDAY_POST,
    WEEKDAY_PRE,
    WEEKDAYS,
)
from bot.when.zones import ABBREVIATIONS

_V = TypeVar("_V")

_QUOTES = str.maketrans({c: " " for c in "\"'`´‘’‚‛“”„‟«»‹›"})
_RX_AMPM_DOTS = re.compile(r"\b([ap])\s?\.\s?m\b\.?", re.ASCII)
RX_SPACES = re.compile(r"\s+")
_RX_COMMA = re.compile(r",(?![0-9])|(?<![0-9]),")


def _strip_accents(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def normalise(text: str) -> str:
    """Lower case, no accents, no quotes, ``a.m.`` → ``am``, ``@`` → ``at``, single spaces."""
    s = unicodedata.normalize("NFKC", text)
    s = s.replace("o'clock", "oclock").replace("o’clock", "oclock")
    s = _strip_accents(s.translate(_QUOTES)).casefold()
    s = _RX_AMPM_DOTS.sub(r"\1m ", s)
    s = s.replace("@", " at ")
    s = _RX_COMMA.sub(" ", s)
    s = RX_SPACES.sub(" ", s).strip()
    return s.strip(" .!?;")


def _alt(phrases: Iterable[str]) -> str:
    """A regex alternation of literal phrases, longest first, spaces matching any whitespace."""
    uniq = sorted(set(phrases), key=lambda p: (-len(p), p))
    return "(?:" + "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in uniq) + ")"


def phrase_key(s: str) -> str:
    """A matched phrase as the vocabulary spells it (single spaces), to look it up."""
    return RX_SPACES.sub(" ", s.strip())


@dataclass(frozen=True)
class Grammar:
    """The vocabulary and patterns of one set of active languages. A pattern is ``None`` when none of the
    languages has words for it."""

    langs: tuple[str, ...]
    units: dict[str, str]
    numbers: dict[str, float]
    day_words: dict[str, int]
    day_pod: dict[str, tuple[int | None, str]]
    pods: dict[str, str]
    weekdays: dict[str, int]
    wd_pre: dict[str, str]
    wd_post: dict[str, str]
    months: dict[str, int]
    fillers: frozenset[str]
    known_words: frozenset[str]
    next_window: re.Pattern[str] | None
    now_words: re.Pattern[str] | None
    dur_pair: re.Pattern[str]
    dur_prefix: re.Pattern[str] | None
    dur_suffix: re.Pattern[str] | None
    dur_ago_suffix: re.Pattern[str] | None
    dur_ago_prefix: re.Pattern[str] | None
    dur_bare: re.Pattern[str]
    rx_day_pod: re.Pattern[str] | None
    rx_day_long: re.Pattern[str] | None
    rx_day: re.Pattern[str] | None
    rx_pod: re.Pattern[str] | None
    rx_weekday: re.Pattern[str] | None
    rx_month_day: re.Pattern[str] | None
    rx_day_month: re.Pattern[str] | None
    rx_month_only: re.Pattern[str] | None
    rx_dom: re.Pattern[str] | None
    rx_noon: re.Pattern[str] | None
    rx_midnight: re.Pattern[str] | None
    rx_at_hour: re.Pattern[str]
    rx_at_dot: re.Pattern[str]
    rx_at_military: re.Pattern[str]
    rx_in_number: re.Pattern[str]


def _merge(table: dict[str, dict[str, _V]], langs: tuple[str, ...]) -> dict[str, _V]:
    out: dict[str, _V] = {}
    for lang in langs:
        out.update(table.get(lang, {}))
    return out


def _opt(pattern: str, flags: int = re.ASCII) -> re.Pattern[str] | None:
    return re.compile(pattern, flags) if pattern else None


def _words(table: dict[str, tuple[str, ...]], known: tuple[str, ...]) -> list[str]:
    return [w for lang in known for w in table.get(lang, ())]


def _phrase_rx(table: dict[str, tuple[str, ...]], known: tuple[str, ...], template: str) -> re.Pattern[str] | None:
    """``template`` with ``{alt}`` replaced by the table's phrases in the known languages; ``None`` without any."""
    ws = _words(table, known)
    return re.compile(template.replace("{alt}", _alt(ws)), re.ASCII) if ws else None


def _known_words(known: tuple[str, ...], *vocabularies: Iterable[str]) -> frozenset[str]:
    """Every word of every phrase the grammar knows: a leftover made only of these is not worth asking dateparser."""
    phrases: list[str] = [
        *(w for vocabulary in vocabularies for w in vocabulary),
        *(w for table in (NOON_WORDS, MIDNIGHT_WORDS, NOW_WORDS, DURATION_PREFIX, DURATION_SUFFIX,
                          AGO_SUFFIX, AGO_PREFIX, HALF, AND, AT, OCLOCK) for w in _words(table, known)),
        "am pm in at from now next this window maintenance ventana proxima siguiente mantenimiento durante",
    ]  # fmt: skip
    return frozenset(w for p in phrases for w in p.replace("-", " ").split())


def _duration_patterns(
    numbers: dict[str, float], units: dict[str, str], known: tuple[str, ...]
) -> tuple[str, re.Pattern[str]]:
    """The regex text of a duration (``2 hours and 30 min``, group ``body``) and the pattern of one amount+unit."""
    # digits may touch their unit ("2h", "90min"); a number word may not ("mediodía" is not "medio día")
    digits = r"[0-9]+(?:[.,][0-9]+)?"
    word_amount = _alt(numbers) if numbers else "(?!)"
    unit_alt = _alt(units) if units else r"(?:s|m|h|d|w)"
    half = rf"(?:\s+{_alt(_words(HALF, known))}\b)?" if _words(HALF, known) else ""
    hm = r"[0-9]+h[0-9]{1,2}(?:m|min)?\b"
    pair = rf"(?:{hm}|(?:{digits}\s*|\b{word_amount}\s+){unit_alt}\b{half})"
    and_words = _words(AND, known)
    sep = r"(?:\s*,?\s*(?:" + "|".join([*map(re.escape, and_words)]) + r")?\s*)" if and_words else r"\s*"
    body = rf"(?P<body>{pair}(?:{sep}{pair})*)"
    pair_rx = re.compile(
        rf"(?P<hm>(?P<hh>[0-9]+)h(?P<mm>[0-9]{{1,2}})(?:m|min)?\b)"
        rf"|(?:(?P<amt>{digits})\s*|\b(?P<wamt>{word_amount})\s+)(?P<unit>{unit_alt})\b"
        + (rf"(?P<half>{half})" if half else ""),
        re.ASCII,
    )
    return body, pair_rx


def _weekday_rx(weekdays: dict[str, int], wd_pre: dict[str, str], wd_post: dict[str, str]) -> re.Pattern[str] | None:
    if not weekdays:
        return None
    return _opt(
        rf"\b(?:(?P<pre>{_alt(wd_pre)})\s+)?(?P<wd>{_alt(weekdays)})\.?(?![\w])"
        + (rf"(?:\s+(?P<post>{_alt(wd_post)})\b)?" if wd_post else "")
    )


def _date_patterns(months: dict[str, int]) -> tuple[re.Pattern[str] | None, ...]:
    """``Mar 10 (2026)``, ``10 (de) marzo (de 2026)`` and a month alone, or ``None`` each without month names."""
    if not months:
        return None, None, None
    month_alt = _alt(months)
    month_day = _opt(
        rf"\b(?P<mon>{month_alt})\.?\s+(?P<day>[0-9]{{1,2}}){ORDINAL}(?![0-9:.h])\b"
        rf"(?:\s+(?:de\s+|del\s+)?(?P<year>[0-9]{{4}})(?![0-9:]))?"
    )
    day_month = _opt(
        rf"(?<![0-9:.])\b(?P<day>[0-9]{{1,2}}){ORDINAL}\s+(?:of\s+|de\s+)?(?P<mon>{month_alt})\b\.?"
        rf"(?:\s+(?:de\s+|del\s+|of\s+)?(?P<year>[0-9]{{4}})(?![0-9:]))?"
    )
    return month_day, day_month, _opt(rf"\b(?P<mon>{month_alt})\b")


def _clock_patterns(known: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """``at 5``/``5 o'clock``, ``at 14.30``/``2.30pm`` and ``at 0200``/``0200 hrs`` in the known languages."""
    at_alt = _alt([*_words(AT, known), "at"])
    oclock = _alt(_words(OCLOCK, known)) if _words(OCLOCK, known) else "(?!)"
    at_hour = re.compile(
        rf"(?:\b{at_alt}\s+(?P<h1>[0-9]{{1,2}})(?:\s*{oclock})?|(?<![0-9:./\-+])\b(?P<h2>[0-9]{{1,2}})\s*{oclock})"
        r"(?![0-9]|\s*[:./\-]\s*[0-9])\b",
        re.ASCII,
    )
    at_dot = re.compile(
        rf"\b{at_alt}\s+(?P<h1>[0-9]{{1,2}})\.(?P<m1>[0-9]{{2}})\b"
        r"|(?<![0-9.:/+])\b(?P<h2>[0-9]{1,2})\.(?P<m2>[0-9]{2})\s*(?P<ap>am|pm|h|hrs|hs)\b",
        re.ASCII,
    )
    at_military = re.compile(
        rf"\b{at_alt}\s+(?P<h1>[01][0-9]|2[0-3])(?P<m1>[0-5][0-9])\b(?!\s*[:./\-][0-9])"
        r"|\b(?P<h2>[01][0-9]|2[0-3])(?P<m2>[0-5][0-9])\s*(?:hrs|hs|h|hours|horas)\b",
        re.ASCII,
    )
    return at_hour, at_dot, at_military


def _in_number_rx(known: tuple[str, ...]) -> re.Pattern[str]:
    """``in 5``: a duration without its unit."""
    return re.compile(
        r"^(?:"
        + "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in [*_words(DURATION_PREFIX, known), "in"])
        + r")\s+[0-9]+(?:[.,][0-9]+)?$",
        re.ASCII,
    )


@functools.lru_cache(maxsize=16)
def compile_grammar(langs: tuple[str, ...]) -> Grammar:
    """Compile the grammar for the active languages (only ``en`` and ``es`` have a vocabulary here)."""
    known = tuple(lang for lang in langs if lang in ("en", "es"))
    units: dict[str, str] = _merge(UNITS, known)
    numbers: dict[str, float] = _merge(NUMBER_WORDS, known)
    day_words: dict[str, int] = _merge(DAY_WORDS, known)
    day_pod: dict[str, tuple[int | None, str]] = _merge(DAY_POD_WORDS, known)
    pods: dict[str, str] = _merge(POD_WORDS, known)
    weekdays: dict[str, int] = _merge(WEEKDAYS, known)
    wd_pre: dict[str, str] = _merge(WEEKDAY_PRE, known)
    wd_post: dict[str, str] = _merge(WEEKDAY_POST, known)
    months: dict[str, int] = _merge(MONTHS, known)
    long_days = [w for w in day_words if " " in w]
    known_words = _known_words(known, units, numbers, day_words, day_pod, pods, weekdays, wd_pre, wd_post, months)
    fillers = frozenset().union(*(FILLERS[lang] for lang in known)) if known else frozenset()
    body, pair_rx = _duration_patterns(numbers, units, known)
    month_day, day_month, month_only = _date_patterns(months)
    at_hour, at_dot, at_military = _clock_patterns(known)
    next_window = "|".join(f"(?:{NEXT_WINDOW[lang]})" for lang in known)

    return Grammar(
        langs=known,
        units=units,
        numbers=numbers,
        day_words=day_words,
        day_pod=day_pod,
        pods=pods,
        weekdays=weekdays,
        wd_pre=wd_pre,
        wd_post=wd_post,
        months=months,
        fillers=fillers,
        known_words=known_words | fillers,
        next_window=_opt(rf"^(?:{next_window})$") if next_window else None,
        now_words=_phrase_rx(NOW_WORDS, known, r"^(?:right\s+)?{alt}$"),
        dur_pair=pair_rx,
        dur_prefix=_phrase_rx(DURATION_PREFIX, known, r"\b{alt}\s+" + body),
        dur_suffix=_phrase_rx(DURATION_SUFFIX, known, r"(?<![\w:])" + body + r"\s+{alt}\b"),
        dur_ago_suffix=_phrase_rx(AGO_SUFFIX, known, r"(?<![\w:])" + body + r"\s+{alt}\b"),
        dur_ago_prefix=_phrase_rx(AGO_PREFIX, known, r"\b{alt}\s+" + body),
        dur_bare=re.compile(rf"^{body}$", re.ASCII),
        rx_day_pod=_opt(rf"\b{_alt(day_pod)}\b" if day_pod else ""),
        rx_day_long=_opt(rf"\b{_alt(long_days)}\b" if long_days else ""),
        rx_day=_opt(rf"\b{_alt(day_words)}\b" if day_words else ""),
        rx_pod=_opt(rf"\b{_alt(pods)}\b" if pods else ""),
        rx_weekday=_weekday_rx(weekdays, wd_pre, wd_post),
        rx_month_day=month_day,
        rx_day_month=day_month,
        rx_month_only=month_only,
        rx_dom=_opt(r"\b(?:on\s+)?the\s+(?P<day>[0-9]{1,2})(?:st|nd|rd|th)\b" if "en" in known else ""),
        rx_noon=_phrase_rx(NOON_WORDS, known, r"\b(?:12\s*)?{alt}\b"),
        rx_midnight=_phrase_rx(MIDNIGHT_WORDS, known, r"\b(?:12\s*)?{alt}\b"),
        rx_at_hour=at_hour,
        rx_at_dot=at_dot,
        rx_at_military=at_military,
        rx_in_number=_in_number_rx(known),
    )


# Language-neutral patterns.
RX_ISO = re.compile(
    r"^(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})"
    r"(?:[t ](?P<h>[0-9]{2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2})(?:[.,](?P<f>[0-9]{1,9}))?)?)?"
    r"\s*(?P<z>z|[+-][0-9]{2}(?::?[0-9]{2})?)?$",
    re.ASCII,
)
RX_YMD = re.compile(r"(?<![0-9:./\-+])(?P<y>[0-9]{4})([-/.])(?P<mo>[0-9]{1,2})\2(?P<d>[0-9]{1,2})"
                     r"(?:t(?=[0-9]))?"
                     r"(?![0-9]|[./\-][0-9])", re.ASCII)  # fmt: skip
RX_NUMERIC_DATE = re.compile(
    r"(?<![0-9:./\-+])(?P<a>[0-9]{1,2})(?P<sep>[/.\-])(?P<b>[0-9]{1,2})(?:(?P=sep)(?P<c>[0-9]{4}|[0-9]{2}))?"
    r"(?![0-9]|[:./\-][0-9])",
    re.ASCII,
)
RX_HHMM = re.compile(
    r"(?<![0-9:./\-+])(?P<h>[0-9]{1,2}):(?P<m>[0-9]{2})(?::(?P<s>[0-9]{2}))?(?:\s*(?P<ap>am|pm)\b)?"
    r"(?:\s*(?:hrs|hs|h|horas)\b)?(?![0-9:])",
    re.ASCII,
)
_AT_PREFIX: Final[str] = r"(?:(?P<at>\b(?:at|a\s+las|a\s+la)\s+))?"
RX_H_MM = re.compile(_AT_PREFIX + r"(?<![0-9:./\-+])\b(?P<h>[0-9]{1,2})h(?P<m>[0-9]{2})\b", re.ASCII)
RX_H_ONLY = re.compile(_AT_PREFIX + r"(?<![0-9:./\-+])\b(?P<h>[0-9]{1,2})h\b", re.ASCII)
RX_AMPM = re.compile(r"(?<![0-9:./\-+])\b(?P<h>[0-9]{1,3})\s*(?P<ap>am|pm)\b", re.ASCII)
RX_NUMBER = re.compile(r"[0-9]+", re.ASCII)

# Zone names and offsets (the abbreviations come from bot.when.zones); extract.pop_zone reads them first.
RX_ZONE_UTC_OFFSET = re.compile(r"\b(?:utc|gmt)\s*([+-])\s*([0-9]{1,2})(?::?([0-9]{2}))?\b", re.ASCII)
RX_ZONE_TIME_OFFSET = re.compile(
    r"(?P<t>\b[0-9]{1,2}(?::[0-9]{2}(?::[0-9]{2})?)?(?:\s*(?:am|pm))?)\s*(?P<s>[+-])(?P<h>[0-9]{2}):?(?P<m>[0-9]{2})\b",
    re.ASCII,
)
RX_ZONE_MILITARY = re.compile(r"\b([01][0-9]|2[0-3])([0-5][0-9])z\b", re.ASCII)
RX_ZONE_Z = re.compile(r"(?<=[0-9])z\b|\bz\b", re.ASCII)
RX_ZONE_UTC = re.compile(r"\b(?:utc|gmt)\b", re.ASCII)
RX_ZONE_ABBR = re.compile(r"\b(" + "|".join(sorted(ABBREVIATIONS, key=len, reverse=True)) + r")\b", re.ASCII)
RX_ZONE_GENERIC = re.compile(
    r"\b(eastern|central|mountain|pacific)(?:\s+(?:standard\s+|daylight\s+)?time)?\b|\b(et|ct|mt|pt)\b",
    re.ASCII,
)
RX_ZONE_IANA = re.compile(r"(?<![\w/])([a-z][a-z_\-]*(?:/[a-z0-9_+\-]+){1,2})(?![\w/])", re.ASCII)
