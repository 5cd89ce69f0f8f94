"""The words the grammar knows, per language (accent-free, lower case): units, number words, days, parts of the
day, weekdays, months, and the little words around them.

Only data: :mod:`bot.when.grammar` compiles it into patterns for the active languages. ``DEFAULT_LANGUAGES`` are
the languages with a vocabulary here; any other configured language is read by dateparser
(:mod:`bot.when.fallback`). ``bot.settings`` imports this module to know them without importing dateparser.
"""

from __future__ import annotations

from typing import Final

DEFAULT_LANGUAGES: Final[tuple[str, ...]] = ("en", "es")

UNITS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "s": "seconds", "sec": "seconds", "secs": "seconds", "second": "seconds", "seconds": "seconds",
        "m": "minutes", "min": "minutes", "mins": "minutes", "minute": "minutes", "minutes": "minutes",
        "h": "hours", "hr": "hours", "hrs": "hours", "hour": "hours", "hours": "hours",
        "d": "days", "day": "days", "days": "days",
        "w": "weeks", "wk": "weeks", "wks": "weeks", "week": "weeks", "weeks": "weeks",
        "mo": "months", "month": "months", "months": "months",
        "y": "years", "yr": "years", "yrs": "years", "year": "years", "years": "years",
    },
    "es": {
        "segundo": "seconds", "segundos": "seconds", "seg": "seconds",
        "minuto": "minutes", "minutos": "minutes", "min": "minutes",
        "hora": "hours", "horas": "hours", "h": "hours", "hs": "hours",
        "dia": "days", "dias": "days",
        "semana": "weeks", "semanas": "weeks",
        "mes": "months", "meses": "months",
        "ano": "years", "anos": "years",
    },
}  # fmt: skip

NUMBER_WORDS: Final[dict[str, dict[str, float]]] = {
    "en": {
        "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
        "eight": 8,
        "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30,
        "forty": 40, "forty five": 45, "forty-five": 45, "ninety": 90, "half an": 0.5, "half a": 0.5,
    },
    "es": {
        "un": 1, "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7,
        "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "quince": 15, "veinte": 20, "treinta": 30,
        "cuarenta": 40, "cuarenta y cinco": 45, "noventa": 90, "media": 0.5, "medio": 0.5,
    },
}  # fmt: skip

DAY_WORDS: Final[dict[str, dict[str, int]]] = {
    "en": {
        "today": 0, "tomorrow": 1, "tmrw": 1, "tmr": 1, "tomorow": 1, "tommorow": 1, "tommorrow": 1,
        "the day after tomorrow": 2, "day after tomorrow": 2, "overmorrow": 2, "yesterday": -1,
        "the day before yesterday": -2, "day before yesterday": -2,
    },
    "es": {"hoy": 0, "manana": 1, "pasado manana": 2, "ayer": -1, "anteayer": -2, "antier": -2},
}  # fmt: skip

# (day offset or None, part of day)
DAY_POD_WORDS: Final[dict[str, dict[str, tuple[int | None, str]]]] = {
    "en": {
        "tonight": (0, "night"), "this morning": (0, "morning"), "this afternoon": (0, "afternoon"),
        "this evening": (0, "evening"), "this early morning": (None, "early"),
    },
    "es": {
        "esta noche": (0, "night"), "esta manana": (0, "morning"), "esta tarde": (0, "afternoon"),
        "esta madrugada": (None, "early"),
    },
}  # fmt: skip

POD_WORDS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "in the morning": "morning", "morning": "morning", "in the afternoon": "afternoon",
        "afternoon": "afternoon", "in the evening": "evening", "evening": "evening", "at night": "night",
        "night": "night", "early morning": "early", "in the early morning": "early",
    },
    "es": {
        "de la manana": "morning", "por la manana": "morning", "en la manana": "morning",
        "de la tarde": "afternoon", "por la tarde": "afternoon", "en la tarde": "afternoon",
        "tarde": "afternoon",
        "de la noche": "night", "por la noche": "night", "en la noche": "night", "noche": "night",
        "de la madrugada": "early", "por la madrugada": "early", "en la madrugada": "early",
        "madrugada": "early",
    },
}  # fmt: skip

NOON_WORDS: Final[dict[str, tuple[str, ...]]] = {"en": ("noon", "midday"), "es": ("mediodia",)}
MIDNIGHT_WORDS: Final[dict[str, tuple[str, ...]]] = {"en": ("midnight",), "es": ("medianoche",)}
NOW_WORDS: Final[dict[str, tuple[str, ...]]] = {
    "en": ("now", "right now", "asap", "immediately", "right away"),
    "es": ("ahora", "ahora mismo", "ya", "inmediatamente", "de inmediato"),
}

WEEKDAYS: Final[dict[str, dict[str, int]]] = {
    "en": {
        "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2, "thursday": 3,
        "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5, "sunday": 6,
        "sun": 6,
    },
    "es": {
        "lunes": 0, "lun": 0, "martes": 1, "miercoles": 2, "mie": 2, "jueves": 3, "jue": 3, "viernes": 4,
        "vie": 4, "sabado": 5, "sab": 5, "domingo": 6, "dom": 6,
    },
}  # fmt: skip

WEEKDAY_PRE: Final[dict[str, dict[str, str]]] = {
    "en": {"next": "next", "this": "this", "this coming": "coming", "coming": "coming", "on": "bare"},
    "es": {
        "el proximo": "next", "proximo": "next", "el siguiente": "next", "siguiente": "next", "este": "this",
        "el": "bare",
    },
}  # fmt: skip
WEEKDAY_POST: Final[dict[str, dict[str, str]]] = {"en": {}, "es": {"que viene": "next", "proximo": "next"}}

MONTHS: Final[dict[str, dict[str, int]]] = {
    "en": {
        "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
        "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
        "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
    },
    "es": {
        "enero": 1, "ene": 1, "febrero": 2, "feb": 2, "marzo": 3, "mar": 3, "abril": 4, "abr": 4, "mayo": 5,
        "may": 5, "junio": 6, "jun": 6, "julio": 7, "jul": 7, "agosto": 8, "ago": 8, "septiembre": 9,
        "setiembre": 9, "sep": 9, "sept": 9, "octubre": 10, "oct": 10, "noviembre": 11, "nov": 11,
        "diciembre": 12, "dic": 12,
    },
}  # fmt: skip

DURATION_PREFIX: Final[dict[str, tuple[str, ...]]] = {"en": ("in",), "es": ("en", "dentro de")}
DURATION_SUFFIX: Final[dict[str, tuple[str, ...]]] = {
    "en": ("from now", "later", "hence"),
    "es": ("desde ahora", "a partir de ahora", "mas tarde"),
}
AGO_SUFFIX: Final[dict[str, tuple[str, ...]]] = {"en": ("ago",), "es": ()}
AGO_PREFIX: Final[dict[str, tuple[str, ...]]] = {"en": (), "es": ("hace",)}
HALF: Final[dict[str, tuple[str, ...]]] = {"en": ("and a half",), "es": ("y media", "y medio")}
AND: Final[dict[str, tuple[str, ...]]] = {"en": ("and",), "es": ("y",)}
AT: Final[dict[str, tuple[str, ...]]] = {
    "en": ("at", "at around", "at about", "around", "about"),
    "es": ("a las", "a la", "sobre las", "hacia las", "a eso de las", "para las"),
}
OCLOCK: Final[dict[str, tuple[str, ...]]] = {"en": ("oclock",), "es": ("en punto", "horas", "hrs", "hs")}
FILLERS: Final[dict[str, frozenset[str]]] = {
    "en": frozenset({"at", "on", "the", "of", "around", "about", "local", "time", "my", "hrs", "hours", "h"}),
    "es": frozenset({"a", "las", "la", "el", "de", "del", "al", "para", "sobre", "hacia", "eso", "hora",
                     "local", "mi", "hrs", "hs", "horas", "h"}),
}  # fmt: skip
NEXT_WINDOW: Final[dict[str, str]] = {
    "en": r"(?:(?:in|at|during|for)\s+)?(?:the\s+)?next\s+(?:maintenance\s+)?window"
    r"|(?:the\s+)?next\s+maintenance",
    "es": r"(?:(?:en|durante|para)\s+)?(?:la\s+)?(?:proxima|siguiente)\s+ventana(?:\s+de\s+mantenimiento)?",
}
ORDINAL: Final[str] = r"(?:st|nd|rd|th|o|a|ro|do|to|er)?"
