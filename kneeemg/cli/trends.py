"""``kneeemg trends``: nightly rates over the last weeks, with a 7-night rolling mean and the direction in words."""

from __future__ import annotations

import argparse

from ..config import MAX_TREND_DAYS
from .importcmd import add_db_option
from .replay import whole_number
from .triage import add_set_option


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("trends", help="nightly twitch rates over the last weeks, and whether they go down or up",
                       description="Lists each night of the last --days days with its twitch rate per usable hour "
                                   "and a 7-night rolling mean, then says in words whether the last 7 nights had "
                                   "fewer, more or about the same twitches an hour as the 7 before. A night with "
                                   "less usable time than the guidance's min_usable_hours (1 h by default; change it "
                                   "with --set min_usable_hours=..., as for triage and report) gives no rate. See "
                                   "docs/metrics.md.")
    p.add_argument("--days", type=whole_number, default=28,
                   help=f"how many days back from the latest night, 1 to {MAX_TREND_DAYS} (default 28)")
    add_set_option(p, help="change one of the guidance's thresholds as for triage and report (repeatable); here "
                           "min_usable_hours, the usable hours a night needs to give a rate, e.g. --set "
                           "min_usable_hours=0.5, is the one that changes the trend (docs/guidance.md lists them all)")
    add_db_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .render import list_table, make_console, print_list

    from ..guidance import TriageConfig
    from ..guidance.features import hours_text
    from ..store import Store
    from ..trends import short_words, store_direction, together_words
    from ..words import plural

    config = TriageConfig.with_settings(args.settings or ())
    with Store(args.db, create=False) as store:
        rows = store.trend(args.days, config=config)
        words = store_direction(store, config=config)
    console = make_console()
    if not rows:
        console.print("No nights yet: import one with `kneeemg import FILE`.")
        return 0
    cells = [[r["date"], hours_text(r["usable_hours"]), str(r["twitches"]),
              "-" if r["twitch_per_hour"] is None else f"{r['twitch_per_hour']:.1f}",
              "-" if r["rolling7_twitch_per_hour"] is None else f"{r['rolling7_twitch_per_hour']:.1f}",
              str(r["spasms"]), str(r["cramps"]), str(len(r["channels"]))] for r in rows]
    table = list_table(f"The {plural(args.days, 'day')} up to the latest night, {rows[-1]['date']}",
                       ("date", "usable h", "twitches", "per h", "7-night mean", "spasms", "cramps", "channels"), cells)
    print_list(console, table)
    short = short_words(rows, "shown with - and left out of the means", config.min_usable_hours)
    if short:
        console.print(f"{short[0].upper()}{short[1:]}.")
    for line in together_words(rows):
        console.print(f"{line}.")
    console.print(words)
    return 0
