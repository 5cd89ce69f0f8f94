"""The dateparser fallback: asked only for what the grammar does not know (another configured language, another
phrasing), never at import.

dateparser reads naive local wall time (``RELATIVE_BASE``, ``TIMEZONE='UTC'`` so it does pure wall-clock
arithmetic); its answer is re-localised with zoneinfo (DST gap/overlap detection; elapsed vs wall-clock decided by
the phrase's units). The caller (:mod:`bot.when.parse`) checks that it agrees with what the grammar did read and
that it is a safe future instant, like every other result.
"""

from __future__ import annotations

import functools
import logging
import re
from datetime import UTC, datetime, tzinfo
from types import SimpleNamespace

from bot.i18n import _
from bot.when.errors import WhenError
from bot.when.format import day_label
from bot.when.grammar import RX_SPACES
from bot.when.resolve import Ctx, localize

# The logger keeps the name it had when bot.when was one module: log filters and dashboards use it.
log = logging.getLogger("bot.when")


@functools.cache
def load_dateparser() -> SimpleNamespace:
    """dateparser's entry points, imported on first use (``warm_up`` at start, or the first phrase that needs it)."""
    from dateparser.conf import settings as dp_default_settings  # deliberately lazy
    from dateparser.date import DateDataParser
    from dateparser.languages.loader import default_loader
    from dateparser.timezone_parser import pop_tz_offset_from_string

    return SimpleNamespace(
        DateDataParser=DateDataParser,
        loader=default_loader,
        pop_tz=pop_tz_offset_from_string,
        default_settings=dp_default_settings,
    )


def dateparser_settings(base: datetime, date_order: str) -> dict[str, object]:
    return {
        # Read and return naive-UTC wall clock: dateparser then does pure wall-clock arithmetic from the local
        # wall-time base, and zoneinfo (not pytz) does the DST work afterwards.
        "TIMEZONE": "UTC",
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": base,
        "DATE_ORDER": date_order,
        "PREFER_LOCALE_DATE_ORDER": False,
        "PARSERS": ["relative-time", "absolute-time"],
    }


_RX_TRANSLATED_SUBDAY = re.compile(r"\b(?:hour|minute|second)s?\b", re.ASCII)
_RX_TRANSLATED_DURATION = re.compile(r"^in (?:[0-9]+ (?:day|week|month|year)s? ?)+$", re.ASCII)


def read_with_dateparser(text: str, zone: tzinfo, ctx: Ctx) -> datetime | None:
    """Ask dateparser; ``None`` if it finds nothing. The answer is re-localised and checked by the caller."""
    dp = load_dateparser()
    local_now = ctx.now.astimezone(zone)
    base = local_now.replace(tzinfo=None)
    try:
        _rest, tz_in_text = dp.pop_tz(text)
        if tz_in_text is not None:
            raise WhenError(
                _(
                    "I don't know the time zone in “{text}”. Use UTC, an offset such as “UTC+3”, or an IANA name "
                    "such as “America/Costa_Rica”, e.g. “tomorrow 02:00 UTC”."
                ).format(text=text),
                reason="unknown_zone",
            )
        data = dp.DateDataParser(languages=list(ctx.languages), settings=dateparser_settings(base, ctx.date_order))
        dd = data.get_date_data(text)
    except WhenError:
        raise
    except Exception:  # dateparser is third-party: never let its bugs reach the person
        log.warning("dateparser failed on %r", text, exc_info=True)
        return None
    if dd.date_obj is None:
        return None
    obj: datetime = dd.date_obj
    if obj.utcoffset():
        return obj.astimezone(UTC)  # dateparser found an offset we did not: that is an absolute instant
    wall = obj.replace(tzinfo=None)
    translated = ""
    if dd.locale:
        try:
            locale = dp.loader.get_locale(dd.locale)
            translated = locale.translate(text, keep_formatting=False, settings=dp.default_settings)
        except Exception:
            log.debug("dateparser could not translate %r", text, exc_info=True)
    translated = RX_SPACES.sub(" ", str(translated)).strip().lower()
    if "time" not in (dd.parts or ()) and not _RX_TRANSLATED_DURATION.match(translated):
        label = day_label(wall.date(), local_now.year)
        raise WhenError(
            _("I read “{text}” as {day} but there is no time of day. Add one, e.g. “tomorrow 02:00”.").format(
                text=text, day=label
            ),
            understood=label,
            reason="no_time",
        )
    elapsed_instant = ctx.now + (wall - base)
    try:
        wall_instant: datetime | None = localize(wall, zone, ctx.now, ctx.notes)
        wall_error: WhenError | None = None
    except WhenError as exc:
        wall_instant, wall_error = None, exc
    if wall_instant == elapsed_instant:
        return wall_instant
    if _RX_TRANSLATED_SUBDAY.search(translated):
        if ctx.notes is not None:
            ctx.notes.clear_dst()  # the wall reading was not taken
        return elapsed_instant  # "dans 2 heures": elapsed time across the DST change
    if wall_error is not None:
        raise wall_error
    return wall_instant
