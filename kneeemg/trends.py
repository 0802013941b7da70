"""Trend of nightly twitch rates, in plain words."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from .config import MAX_TREND_DAYS
from .guidance.features import TriageConfig, hours_text
from .words import plural

#: Change of the mean rate (last 7 nights against the 7 before) that counts as a change.
CHANGE_FRACTION = 0.2
#: Nights in the recent half of a trend, and fewest nights with a rate in each half.
RECENT_NIGHTS = 7
MIN_NIGHTS_EACH = 4
#: Weeks of nights over which a slow drift is looked for when week to week looks the same.
DRIFT_WEEKS = 4


def direction(rows: Sequence[dict[str, Any]], config: TriageConfig | None = None) -> str:
    """"Fewer", "more" or "about the same" twitches: the last 7 nights against the 7 before;
    "slowly more" or "slowly fewer" when those two look the same but each of the last four
    weeks moved the same way, by more than a fifth in all (:func:`_drift_words`).

    ``rows`` are :meth:`kneeemg.store.Store.trend` rows, oldest first. Needs at least 4
    nights with a rate in each half. A rate counts the twitches of every channel, so only the
    nights recorded with as many channels as the latest one that gives a rate are compared (the words say so
    when others were left out). ``config``: the guidance's thresholds the rows were made with
    (its ``min_usable_hours``, in the words on nights too short to give a rate).
    """
    rated = [r for r in rows if r.get("twitch_per_hour") is not None]
    n_ch = len(rated[-1].get("channels") or ()) if rated else 0  # (the latest night that gives a rate)
    same = [r for r in rated if len(r.get("channels") or ()) == n_ch]
    words = direction_words([r["twitch_per_hour"] for r in same])
    if len(same) < len(rated):
        left_out = len(rated) - len(same)
        words += (f" ({plural(left_out, 'night')} with another number of channels than the latest night's "
                  f"{plural(n_ch, 'channel')} {'is' if left_out == 1 else 'are'} left out of this comparison: a rate "
                  "counts the twitches of every channel.)")
    compared = same[-2 * RECENT_NIGHTS :]
    since = compared[0]["date"] if len(compared) >= RECENT_NIGHTS + MIN_NIGHTS_EACH else ""
    short = short_words([r for r in rows if r["date"] >= since], "left out of this comparison",
                        config.min_usable_hours if config else None)
    return f"{words} ({short[0].upper()}{short[1:]}.)" if short else words


def short_words(rows: Sequence[dict[str, Any]], what: str, min_usable_hours: float | None = None) -> str:
    """How many of ``rows`` (:meth:`kneeemg.store.Store.trend` rows, made with the guidance's
    ``min_usable_hours``; its default when None) are too short to give a rate, and that they
    are ``what`` (``""`` when none is): e.g. "2 nights with less than 1 usable hour each are
    too short to give a rate and are left out of these rates"."""
    return too_short_words(sum(r.get("twitch_per_hour") is None for r in rows), what, min_usable_hours)


def too_short_words(n: int, what: str, min_usable_hours: float | None = None) -> str:
    """:func:`short_words` for ``n`` nights too short to give a rate."""
    hours = TriageConfig().min_usable_hours if min_usable_hours is None else min_usable_hours
    are = "is" if n == 1 else "are"
    return (f"{plural(n, 'night')} with less than {hours:g} usable hour{'' if hours == 1 else 's'}"
            f"{'' if n == 1 else ' each'} {are} too short to give a rate and {are} {what}" if n else "")


def together_words(rows: Sequence[dict[str, Any]], ids: bool = True,
                   rate_text: Callable[[float], str] = "{:.1f}".format) -> list[str]:
    """A sentence for each of ``rows`` (:meth:`kneeemg.store.Store.trend` rows) that adds up
    several recordings of its date (``night_ids``), as trends, the guidance and the reports' trend
    count them, while ``kneeemg nights`` lists each recording with its own numbers: "2026-11-10
    is 2 recordings (nights 10 and 11), one night in trends and guidance: 100
    twitches in 1.4 usable hours, 71.5 an hour". ``ids=False`` leaves the night ids out (the
    report shows none), ``rate_text`` writes the rate."""
    words = []
    for r in rows:
        nights = [str(i) for i in r.get("night_ids") or ()]
        if len(nights) < 2:
            continue
        rate = r["twitch_per_hour"]
        named = f" (nights {', '.join(nights[:-1])} and {nights[-1]})" if ids else ""
        words.append(f"{r['date']} is {plural(len(nights), 'recording')}{named}, one night in trends and guidance: "
                     f"{plural(r['twitches'], 'twitch')} in {hours_text(r['usable_hours'])} usable hours, "
                     + ("too short to give a rate" if rate is None else f"{rate_text(rate)} an hour"))
    return words


def dates_together_words(store: Any, dates: Sequence[str]) -> list[str]:
    """:func:`together_words` for those of ``dates`` (ISO dates) whose night in ``store`` (a
    :class:`kneeemg.store.Store`) is several recordings: what ``import`` says of a file that
    joins others of its date."""
    rows = []
    for day in sorted(set(dates)):
        rows += [r for r in store.trend(1, until=day) if r["date"] == day]
    return together_words(rows)


def direction_words(rates: Sequence[float]) -> str:
    """:func:`direction` of nightly rates, oldest first."""
    recent, before = rates[-RECENT_NIGHTS:], rates[-2 * RECENT_NIGHTS : -RECENT_NIGHTS]
    if len(recent) < MIN_NIGHTS_EACH or len(before) < MIN_NIGHTS_EACH:
        need = RECENT_NIGHTS + MIN_NIGHTS_EACH
        return (f"Too few nights for a trend yet ({len(rates)} with a rate; a trend needs {need} or more: "
                f"the last {RECENT_NIGHTS} and at least {MIN_NIGHTS_EACH} before them).")
    a, b = sum(before) / len(before), sum(recent) / len(recent)
    if b < a * (1 - CHANGE_FRACTION):
        word = "fewer"
    elif b > a * (1 + CHANGE_FRACTION):
        word = "more"
    else:
        return _drift_words(rates, len(recent), len(before)) or (
            f"About the same as before: {b:.1f} twitches an hour over the last {len(recent)} nights, {a:.1f} in the "
            f"{len(before)} before.")
    return f"{word.capitalize()} twitches: {b:.1f} an hour over the last {len(recent)} nights, against {a:.1f} in the {len(before)} before."


def _drift_words(rates: Sequence[float], n_recent: int, n_before: int) -> str:
    """The words when the last week looks like the one before but the rate drifted the same
    way week after week over :data:`DRIFT_WEEKS` weeks of nights (each holding at least
    :data:`MIN_NIGHTS_EACH` nights with a rate), by more than :data:`CHANGE_FRACTION` in
    all; else ``""``. ``n_recent``, ``n_before``: the nights of the last two weeks."""
    weeks, n_first = [], 0
    for k in range(DRIFT_WEEKS):
        end = len(rates) - RECENT_NIGHTS * k
        week = rates[max(0, end - RECENT_NIGHTS) : max(0, end)]
        if len(week) < MIN_NIGHTS_EACH:
            return ""
        weeks.append(sum(week) / len(week))  # (newest first)
        n_first = len(week)
    steps = [newer - older for newer, older in zip(weeks, weeks[1:])]
    if weeks[0] > weeks[-1] * (1 + CHANGE_FRACTION) and all(d > 0 for d in steps):
        word, way = "more", "rise"
    elif weeks[0] < weeks[-1] * (1 - CHANGE_FRACTION) and all(d < 0 for d in steps):
        word, way = "fewer", "fall"
    else:
        return ""
    return (f"Slowly {word} twitches: {weeks[0]:.1f} an hour over the last {n_recent} nights, against {weeks[1]:.1f} in "
            f"the {n_before} before and {weeks[-1]:.1f} in the {n_first} nights of {DRIFT_WEEKS} weeks ago; a small "
            f"{way} every week.")


def store_direction(store: Any, until: str | None = None, own: int | None = None,
                    config: TriageConfig | None = None) -> str:
    """:func:`direction` of a :class:`kneeemg.store.Store`'s nights up to ``until`` (an ISO
    date; default: all), whatever span of days a table beside it shows (``own`` and
    ``config``: as :meth:`~kneeemg.store.Store.trend` takes them)."""
    return direction(store.trend(MAX_TREND_DAYS, until=until, own=own, config=config), config)
