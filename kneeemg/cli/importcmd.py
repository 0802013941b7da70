"""``kneeemg import``: detect recordings and add the nights to the history."""

from __future__ import annotations

import argparse

from .replay import add_detector_options, detector_config, unused_fs_note


def add_db_option(p: argparse.ArgumentParser) -> None:
    """The ``--db`` option of the commands that use the history."""
    p.add_argument("--db", default=None, help="history database (default: $KNEEEMG_DB, or history.sqlite3 in the "
                                              "user data folder)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="detect recordings and add the nights to the history",
                       description="Runs the detector over each recording, computes the night's metrics and stores "
                                   "them. A recording already stored with the same settings is not stored again; "
                                   "found at a new path, its stored path is updated. A file that cannot be imported "
                                   "is reported and skipped, the others go on, and the exit code is not 0 at the end.")
    p.add_argument("files", nargs="+", metavar="FILE", help="recordings (.kemg, EDF/BDF, CSV, WFDB, UCI text, .mat)")
    p.add_argument("--date", default=None,
                   help="the evening the night began, YYYY-MM-DD (one FILE only; default: from the recording's start "
                        "time, or else from the file's time)")
    add_detector_options(p)
    add_db_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys
    from datetime import date

    from ..diary import DAY_FIELDS, check_not_after, parse_value
    from ..errors import InputError
    from ..paths import check_recording_named, db_path, path_text
    from ..store import ImportFailure, import_failed, import_into

    for file in args.files:  # (before the history is opened)
        check_recording_named(file)
    day = None
    if args.date:
        if len(args.files) > 1:
            raise InputError("--date names one night; give one FILE with it, or leave --date out")
        day = parse_value(next(f for f in DAY_FIELDS if f.name == "date"), args.date, "--date")
        check_not_after(day, date.today(), "--date")
    config = detector_config(args)
    failures = []
    dates = []  # of the nights stored now
    for file, out in import_into(args.db, args.files, config=config, date=day, channels=args.channels,
                                 resample_hz=args.resample, fs_hz=args.fs):
        if isinstance(out, ImportFailure):
            failures.append(out)
            print(f"kneeemg: error: {out.message}", file=sys.stderr)
            continue
        print(outcome_line(path_text(file), out, path_text(db_path(args.db))))
        if out.created and out.date:
            dates.append(out.date)
        note = unused_fs_note(argparse.Namespace(fs=args.fs, resample=args.resample, file=file), out.info)
        for w in (getattr(out.info, "warnings", None) or []) + ([note] if note else []):
            print(f"note: {w}")
    if dates:
        from ..store import Store
        from ..trends import dates_together_words

        with Store(args.db, create=False) as store:
            for words in dates_together_words(store, dates):
                print(f"note: {words}")
    if failures:
        raise import_failed(failures, len(args.files))
    return 0


def outcome_line(file: str, out, db) -> str:
    """What happened to one file, in one line."""
    return _what_happened(file, out, db) + _replaces_note(out)


def _what_happened(file: str, out, db) -> str:
    if out.created:
        return f"{file}: imported as night {out.night_id} of {out.date}{_date_note(out.date_from)} into {db}"
    of = f" of {out.date}" if out.date else ""
    if out.moved_from:
        return (f"{file}: already in the history as night {out.night_id}{of}; its stored recording path now "
                f"points to this file instead of {out.moved_from} (not imported again)")
    if out.dated and out.previous_date:
        return f"{file}: already in the history as night {out.night_id}; its date is now {out.date} (was {out.previous_date})"
    if out.dated:
        return (f"{file}: already in the history as night {out.night_id}, which had no date: now dated "
                f"{out.date}" + (" (from the file's time)" if out.date_from == "file time" else ""))
    return f"{file}: already in the history as night {out.night_id}{of}; not imported again"


def _replaces_note(out) -> str:
    """Which night of the same recording this one replaces in trends and guidance, and how to go back."""
    import shlex

    from ..store import import_options

    night = out.replaces
    if night is None:
        return ""
    if out.replaces_earlier_file:
        return (f"; it replaces night {night.id} ({', '.join(night.labels)}) in trends and guidance: that night is "
                f"this file as it was when imported before (its first {night.recording_s:.0f} s)")
    opts = import_options(night.settings)
    how = f"with {' '.join(shlex.quote(o) for o in opts)}" if opts else "with no options"
    return (f"; it {'replaces' if out.created else 'counts again instead of'} night {night.id} "
            f"({', '.join(night.labels)}) of the same recording in trends and guidance (import the file again "
            f"{how} to count night {night.id} again)")


def _date_note(date_from: str) -> str:
    return " (date from the file's time; import it again with --date to change it)" if date_from == "file time" else ""
