"""``kneeemg import``: detect a recording and add it to the history."""

from __future__ import annotations

import argparse

from .replay import add_detector_options, detector_config


def add_db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default=None, help="history database (default: the user data folder, or $KNEEEMG_DB)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="detect a recording and add the night to the history")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--date", default=None, help="the evening the night began (default: from the recording's start time)")
    add_detector_options(p)
    add_db_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..diary import parse_value, DAY_FIELDS
    from ..store import Store, import_recording

    day = parse_value(DAY_FIELDS[0], args.date, "--date") if args.date else None
    with Store(args.db) as store:
        out = import_recording(store, args.file, config=detector_config(args), date=day, channels=args.channels,
                               resample_hz=args.resample)
        where = store.path
    verb = "imported" if out.created else "already in the history, not imported again:"
    print(f"{verb} night {out.night_id} ({out.date}) from {args.file} into {where}")
    return 0
