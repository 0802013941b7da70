"""``kneeemg import``: detect recordings and add the nights to the history."""

from __future__ import annotations

import argparse

from .replay import add_detector_options, detector_config


def add_db_option(p: argparse.ArgumentParser) -> None:
    """The ``--db`` option of the commands that use the history."""
    p.add_argument("--db", default=None, help="history database (default: $KNEEEMG_DB, or history.sqlite3 in the "
                                              "user data folder)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="detect recordings and add the nights to the history",
                       description="Runs the detector over each recording, computes the night's metrics and stores "
                                   "them. A recording already stored with the same settings is not stored again.")
    p.add_argument("files", nargs="+", metavar="FILE", help="recordings (.kemg, EDF/BDF, CSV, WFDB, UCI text, .mat)")
    p.add_argument("--date", default=None,
                   help="the evening the night began, YYYY-MM-DD (one FILE only; default: from the recording's start "
                        "time, or else from the file's time)")
    add_detector_options(p)
    add_db_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..diary import DAY_FIELDS, parse_value
    from ..errors import InputError
    from ..store import Store, import_recording

    day = None
    if args.date:
        if len(args.files) > 1:
            raise InputError("--date names one night; give one FILE with it, or leave --date out")
        day = parse_value(next(f for f in DAY_FIELDS if f.name == "date"), args.date, "--date")
    config = detector_config(args)
    with Store(args.db) as store:
        for file in args.files:
            out = import_recording(store, file, config=config, date=day, channels=args.channels,
                                   resample_hz=args.resample, fs_hz=args.fs)
            if not out.created:
                print(f"{file}: already in the history as night {out.night_id} ({out.date}); not imported again")
                continue
            note = " (date from the file's time; give --date to set it)" if out.date_from == "file time" else ""
            print(f"{file}: imported as night {out.night_id} of {out.date}{note} into {store.path}")
    return 0
