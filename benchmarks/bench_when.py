"""How fast is parse_when, beside plain dateparser.parse on the same phrases, in the same run?

Prints:
  1. import cost (fresh processes, median): ``python -c pass``, ``import dateparser``, ``import bot.when``,
     ``import bot.when; warm_up()``;
  2. first-call cost (fresh processes, median): plain ``dateparser.parse`` right after import; ``parse_when``
     without ``warm_up()`` (a phrase on the grammar's path and one that needs dateparser); ``parse_when`` after
     ``warm_up()``;
  3. steady-state per-parse latency over a few hundred phrases (several zones, English and Spanish, valid and
     invalid): p50/p90/p99/max for ``parse_when`` and for ``dateparser.parse`` with the recommended settings.

Usage: ``python benchmarks/bench_when.py [--runs 15] [--passes 5]``
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent  # the repository: where child processes run

NOW = datetime(2026, 3, 6, 15, 20, tzinfo=UTC)
ZONES = ["America/New_York", "Europe/Madrid", "America/Costa_Rica", "Asia/Tokyo", "UTC"]

# What people type into the "when" field; a few hundred after expansion over zones.
PHRASES = [
    # ISO 8601
    "2026-03-07T02:00:00-06:00", "2026-03-07T08:00:00Z", "2026-03-09 14:30", "2026-04-01 09:00",
    # durations
    "in 2 hours", "in 30 min", "in 90 minutes", "in 3 days", "in 1 week", "in 45 minutes", "en 2 horas",
    "dentro de 30 minutos", "en 3 horas", "in 1 hour", "2 hours from now", "in 2 days",
    # clock times
    "14:00", "02:00", "23:30", "at 2am", "at 3pm", "9am", "at 14:00", "10:30 pm", "noon", "midnight",
    "14:00 UTC", "02:00 UTC", "09:00 EST",
    # days and weekdays
    "tomorrow at 2am", "tomorrow at 9am", "tomorrow 14:00", "tomorrow at 14:30", "today at 5pm",
    "sat 02:00", "saturday at 2am", "next sat 4am", "monday 9am", "friday 10pm", "sunday at 03:00",
    "mañana a las 15:00", "mañana a las 3 de la tarde", "el lunes a las 9:00", "sábado a las 02:00",
    "pasado mañana a las 10:00", "hoy a las 22:00",
    # dates
    "March 10 at 3pm", "10 March 14:00", "Mar 20 09:00", "10/03 14:00", "10 de marzo a las 14:00",
    # rejections
    "tomorrow", "at 2", "5", "asdf qwerty", "yesterday 3pm", "Feb 30 10:00", "25:00", "reboot tomorrow at 2am",
]  # fmt: skip


# Fresh processes get a bytecode cache, as an installed bot has (pip compiles on install). This environment
# may set PYTHONDONTWRITEBYTECODE, which would make every process recompile bot/when.py from source; the cache
# lives in a temporary directory so nothing is written into the repository.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
CHILD_ENV["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="bench_when_pycache_")
atexit.register(shutil.rmtree, CHILD_ENV["PYTHONPYCACHEPREFIX"], ignore_errors=True)


def run_snippet(code: str, runs: int) -> list[dict[str, float]]:
    """Run ``code`` in ``runs`` fresh interpreters (after one unmeasured run that fills the bytecode cache);
    each prints a JSON dict of timings (ms)."""
    out = []
    subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, cwd=ROOT, env=CHILD_ENV)
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            timeout=120,
            env=CHILD_ENV,
        )
        wall = (time.perf_counter() - start) * 1000
        data = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
        data["process_wall"] = wall
        out.append(data)
    return out


def median_of(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in rows)


PRELUDE = "import json, time\nt0 = time.perf_counter()\n"
DP_SETTINGS = """
from datetime import datetime, timezone
settings = {"TIMEZONE": "America/New_York", "TO_TIMEZONE": "UTC", "RETURN_AS_TIMEZONE_AWARE": True,
            "PREFER_DATES_FROM": "future", "RELATIVE_BASE": datetime(2026, 3, 6, 10, 20), "DATE_ORDER": "MDY",
            "PREFER_LOCALE_DATE_ORDER": False, "PARSERS": ["relative-time", "absolute-time"]}
"""
NOW_CODE = "from datetime import datetime, UTC\nnow = datetime(2026, 3, 6, 15, 20, tzinfo=UTC)\n"


def cold_costs(runs: int) -> None:
    print(f"== 1. import cost (median of {runs} fresh processes) ==")
    base = run_snippet("pass", runs)
    imp_dp = run_snippet(PRELUDE + "import dateparser\nprint(json.dumps({'t': (time.perf_counter()-t0)*1000}))", runs)
    imp_when = run_snippet(
        PRELUDE
        + "import bot.when\nimport sys\n"
        + "print(json.dumps({'t': (time.perf_counter()-t0)*1000, 'dp': 'dateparser' in sys.modules}))",
        runs,
    )
    imp_warm = run_snippet(
        PRELUDE
        + "import bot.when\nt1 = time.perf_counter()\nbot.when.warm_up(('en', 'es'))\n"
        + "print(json.dumps({'t': (time.perf_counter()-t0)*1000, 'warm': (time.perf_counter()-t1)*1000}))",
        runs,
    )
    py = median_of(base, "process_wall")
    print(f"  python -c pass                      process {py:7.1f} ms")
    for label, rows in (
        ("import dateparser", imp_dp),
        ("import bot.when", imp_when),
        ("import bot.when + warm_up()", imp_warm),
    ):
        print(
            f"  {label:35} process {median_of(rows, 'process_wall'):7.1f} ms   "
            f"in-process {median_of(rows, 't'):7.1f} ms"
        )
    print(f"  (bot.when imports dateparser eagerly: {bool(imp_when[0]['dp'])}; warm_up() alone: "
          f"{median_of(imp_warm, 'warm'):.1f} ms)")  # fmt: skip

    print(f"\n== 2. first-call cost (median of {runs} fresh processes) ==")
    dp_first = run_snippet(
        "import json, time\nimport dateparser\n"
        + DP_SETTINGS
        + "t0 = time.perf_counter()\n"
        + "dateparser.parse('tomorrow at 2am', languages=['en', 'es'], settings=settings)\n"
        + "t1 = time.perf_counter()\n"
        + "dateparser.parse('tomorrow at 3am', languages=['en', 'es'], settings=settings)\n"
        + "print(json.dumps({'first': (t1-t0)*1000, 'second': (time.perf_counter()-t1)*1000}))",
        runs,
    )
    rows = []
    for phrase in ("tomorrow at 2am", "demain à 9:00"):
        rows.append(
            run_snippet(
                "import json, time\nfrom bot.when import parse_when\n"
                + NOW_CODE
                + "t0 = time.perf_counter()\n"
                + f"parse_when({phrase!r}, tz='America/New_York', now=now, languages=('en', 'es', 'fr'))\n"
                + "t1 = time.perf_counter()\n"
                + f"parse_when({phrase!r}, tz='America/New_York', now=now, languages=('en', 'es', 'fr'))\n"
                + "print(json.dumps({'first': (t1-t0)*1000, 'second': (time.perf_counter()-t1)*1000}))",
                runs,
            )
        )
    warm_first = run_snippet(
        "import json, time\nfrom bot.when import parse_when, warm_up\nwarm_up(('en', 'es', 'fr'))\n"
        + NOW_CODE
        + "t0 = time.perf_counter()\n"
        + "parse_when('demain à 9:00', tz='America/New_York', now=now, languages=('en', 'es', 'fr'))\n"
        + "t1 = time.perf_counter()\n"
        + "parse_when('mañana a las 15:00', tz='Europe/Madrid', now=now, languages=('en', 'es', 'fr'))\n"
        + "print(json.dumps({'first': (t1-t0)*1000, 'second': (time.perf_counter()-t1)*1000}))",
        runs,
    )
    print(
        f"  dateparser.parse('tomorrow at 2am') after import      first {median_of(dp_first, 'first'):7.2f} ms"
        f"   second {median_of(dp_first, 'second'):6.2f} ms"
    )
    print(
        f"  parse_when('tomorrow at 2am'), no warm_up (grammar)   first {median_of(rows[0], 'first'):7.2f} ms"
        f"   second {median_of(rows[0], 'second'):6.2f} ms"
    )
    print(
        f"  parse_when('demain à 9:00'), no warm_up (dateparser)  first {median_of(rows[1], 'first'):7.2f} ms"
        f"   second {median_of(rows[1], 'second'):6.2f} ms"
    )
    print(
        f"  parse_when('demain à 9:00') after warm_up()           first {median_of(warm_first, 'first'):7.2f} ms"
        f"   then Spanish {median_of(warm_first, 'second'):6.2f} ms"
    )


def percentiles(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)

    def pct(p: float) -> float:
        return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]

    return {"p50": pct(50), "p90": pct(90), "p99": pct(99), "max": s[-1], "mean": statistics.fmean(s)}


def steady_state(passes: int) -> None:
    import dateparser

    from bot.when import WhenError, parse_when, warm_up

    warm_up(("en", "es"))
    cases = [(text, tz) for tz in ZONES for text in PHRASES]
    settings_by_tz = {
        tz: {
            "TIMEZONE": tz,
            "TO_TIMEZONE": "UTC",
            "RETURN_AS_TIMEZONE_AWARE": True,
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": NOW.astimezone(ZoneInfo(tz)).replace(tzinfo=None),
            "DATE_ORDER": "MDY" if tz == "America/New_York" else "DMY",
            "PREFER_LOCALE_DATE_ORDER": False,
            "PARSERS": ["relative-time", "absolute-time"],
        }
        for tz in ZONES
    }

    def when(text: str, tz: str) -> None:
        try:
            parse_when(text, tz=tz, now=NOW)
        except WhenError:
            pass

    def plain(text: str, tz: str) -> None:
        dateparser.parse(text, languages=["en", "es"], settings=settings_by_tz[tz])

    for text, tz in cases:  # one untimed pass each to load everything
        when(text, tz)
        plain(text, tz)

    timings: dict[str, list[float]] = {"parse_when": [], "dateparser.parse": []}
    per_phrase: dict[str, list[float]] = {}
    for _ in range(passes):
        for text, tz in cases:
            t0 = time.perf_counter()
            when(text, tz)
            t1 = time.perf_counter()
            plain(text, tz)
            t2 = time.perf_counter()
            timings["parse_when"].append((t1 - t0) * 1000)
            timings["dateparser.parse"].append((t2 - t1) * 1000)
            per_phrase.setdefault(text, []).append((t1 - t0) * 1000)

    print(f"\n== 3. steady state: {len(cases)} phrases ({len(PHRASES)} × {len(ZONES)} zones) × {passes} passes ==")
    stats = {k: percentiles(v) for k, v in timings.items()}
    print(f"  {'':18} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8} {'mean':>8}   (ms per parse)")
    for name, st in stats.items():
        print(f"  {name:18} {st['p50']:8.3f} {st['p90']:8.3f} {st['p99']:8.3f} {st['max']:8.3f} {st['mean']:8.3f}")
    for key in ("p50", "p99", "mean"):
        ratio = stats["parse_when"][key] / stats["dateparser.parse"][key]
        print(f"  parse_when / dateparser at {key}: {ratio:.2f}×")
    slowest = sorted(per_phrase.items(), key=lambda kv: -statistics.median(kv[1]))[:5]
    print("  slowest parse_when phrases (median ms): " + ", ".join(
        f"{text!r} {statistics.median(v):.3f}" for text, v in slowest
    ))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15, help="fresh processes per cold measurement")
    ap.add_argument("--passes", type=int, default=5, help="timed passes over the phrase set")
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]} on {sys.platform}; now = {NOW.isoformat()}; horizon = {timedelta(365)}")
    cold_costs(args.runs)
    steady_state(args.passes)


if __name__ == "__main__":
    main()
