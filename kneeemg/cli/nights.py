"""``kneeemg nights``: the nights in the history."""

from __future__ import annotations

import argparse

from .importcmd import add_db_option
from .triage import add_set_option


#: Below this terminal width the nights list leaves out the source column.
NARROW_COLUMNS = 100


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("nights", help="list the nights in the history",
                       description="One row per stored night: usable hours, counts, twitch rate per usable hour, "
                                   "clusters, and the periodic leg-movement index (from the muscle recorded: the thigh, with kneeemg's "
                                   "sensor; a sleep lab's leg channels are the shin). A night "
                                   "with less usable time than the guidance's min_usable_hours (1 h by default) "
                                   "gives no rate, as in trends, triage and report. The recordings of one date are one night in "
                                   "trends and guidance: a line under the table names them, with their numbers "
                                   "together.")
    add_set_option(p, help="change one of the guidance's thresholds as for trends, triage and report (repeatable); "
                           "here min_usable_hours, the usable hours a night needs to give a rate, e.g. --set "
                           "min_usable_hours=0.5, is the one that changes the table")
    p.add_argument("--forget", nargs="+", default=None, metavar="NIGHT",
                   help="remove these nights (each by its id, or its date when that date has one night) from the "
                        "history, with their events, before listing the others; the recordings and the diary are not "
                        "touched, and importing a recording again brings its night back")
    p.add_argument("--csv", default=None, metavar="FILE",
                   help="also write the table to FILE as CSV, for a spreadsheet or a doctor: hours, counts and rates "
                        "as numbers, an empty cell where a night gives no rate (an earlier nights CSV is replaced, "
                        "any other file is not)")
    add_db_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .render import list_table, make_console, print_list

    from ..guidance import TriageConfig
    from ..guidance.features import hours_text
    from ..config import MAX_TREND_DAYS
    from ..nightlist import check_nights_csv, night_rows, write_nights_csv
    from ..paths import path_text
    from ..store import Store
    from ..trends import together_words, too_short_words

    config = TriageConfig.with_settings(args.settings or ())
    console = make_console()
    with Store(args.db, create=False) as store:
        csv_path = check_nights_csv(args.csv, inputs=(store.path,)) if args.csv is not None else None  # before any change
        for n in store.forget_nights(args.forget) if args.forget is not None else []:
            console.print(f"forgot night {n.id} of {n.date or 'no date'} ({path_text(n.source)}); the recording itself is "
                          "untouched, and `kneeemg import` of it brings the night back",
                          soft_wrap=True, markup=False, highlight=False)
        nights = store.nights()
        together = together_words(store.trend(MAX_TREND_DAYS, config=config)) if nights else []
        where = store.path
    rows = night_rows(nights, config)
    if csv_path is not None:
        console.print(f"nights: {path_text(write_nights_csv(rows, csv_path, inputs=(where,)))}", soft_wrap=True,
                      markup=False, highlight=False)
    if not nights:
        console.print(f"No nights in {where} yet: import one with `kneeemg import FILE`.")
        return 0
    def text(value: object, fmt: str = "", missing: str = "") -> str:
        return missing if value is None else format(value, fmt)

    # whole numbers and dates are never cut; the channels (a rate counts every channel's
    # twitches) and the source fold; in a narrow terminal the channels are counted and the
    # source is left out
    wide = console.width >= NARROW_COLUMNS
    cells = [[str(r["id"]), r["date"] or "-", hours_text(r["usable_h"]), text(r["twitches"]), text(r["twitches_per_h"], ".1f", "-"),
              text(r["spasms"]), text(r["cramps"]), text(r["clusters"]), text(r["plm_per_h"], ".1f", "-"),
              *([r["channels"], r["source"]] if wide else [str(len(n.labels))])] for n, r in zip(nights, rows)]
    columns = ("id", "date", "usable h", "twitches", "per h", "spasms", "cramps", "clusters", "PLM/h",
               *(["channels", "source"] if wide else ["ch."]))
    print_list(console, list_table(str(where), columns, cells, folding=("channels", "source")))
    if not wide:
        console.print("(ch.: how many channels; their names and the file each night came from: in a terminal wider "
                      f"than {NARROW_COLUMNS} columns, or in `kneeemg nights --csv FILE`)", highlight=False)
    short = too_short_words(sum(r["twitches_per_h"] is None for r in rows), "shown with -", config.min_usable_hours)
    if short:
        console.print(f"{short[0].upper()}{short[1:]}.")
    for line in together:
        console.print(f"{line}.")
    return 0
