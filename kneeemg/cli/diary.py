"""``kneeemg diary``: record a day (asked question by question, by flags, or from a file)."""

from __future__ import annotations

import argparse
import sys

from .importcmd import add_db_option


def register(sub: argparse._SubParsersAction) -> None:
    from ..diary import DAY_FIELDS, PROFILE_FIELDS

    p = sub.add_parser("diary", help="record what a day was like (or the profile); every field is optional",
                       description="Without flags, asks question by question (press Enter to skip one). With flags, "
                                   "stores them. With --import, reads a TOML or JSON file of days and/or a profile. "
                                   "Bad values are refused with the reason and nothing is stored.")
    p.add_argument("--import", dest="import_file", metavar="FILE", help="a TOML or JSON file of days and/or a profile")
    p.add_argument("--profile", action="store_true", help="set the profile instead of a day")
    for f in (*DAY_FIELDS, *[f for f in PROFILE_FIELDS]):
        flag = "--" + f.name.replace("_", "-")
        if f.name in ("symptoms", "stimulants", "medications", "conditions", "known_deficiencies"):
            p.add_argument(flag, dest=f.name, action="append", default=None, metavar="WORD", help=f"{f.allowed()} (repeatable)")
        elif f.name == "symptoms":
            continue
        else:
            p.add_argument(flag, dest=f.name, default=None, help=f.allowed())
    p.add_argument("--symptom", dest="symptoms", action="append", help="a symptom (repeatable)")
    add_db_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..diary import DAY_FIELDS, PROFILE_FIELDS, load_diary_file, validate_day, validate_profile
    from ..store import Store

    fields = PROFILE_FIELDS if args.profile else DAY_FIELDS
    values = {f.name: getattr(args, f.name) for f in fields if getattr(args, f.name, None) is not None}
    days, profile = [], None
    if args.import_file:
        days, profile = load_diary_file(args.import_file)
    elif values:
        if args.profile:
            profile = validate_profile(values, where="--profile")
        else:
            days = [validate_day(values, where="flags")]
    elif sys.stdin.isatty():
        answers = ask(fields)
        if args.profile:
            profile = validate_profile(answers)
        else:
            days = [validate_day(answers)]
    else:
        print("kneeemg: error: nothing to record; give flags (see --help), --import FILE, or run in a terminal to be asked",
              file=sys.stderr)
        return 2
    with Store(args.db) as store:
        n = store.save_days(days, profile)
    parts = [f"{n} day(s)" if n else "", "the profile" if profile is not None else ""]
    print(f"saved {' and '.join(p for p in parts if p)}")
    return 0


def ask(fields) -> dict:
    """Ask each field in turn; an empty answer skips it, a bad one is asked again with the reason."""
    from ..diary import parse_value
    from ..errors import InputError

    answers = {}
    for f in fields:
        while True:
            raw = input(f"{f.question} [{f.allowed()}] ").strip()
            if not raw:
                break
            try:
                answers[f.name] = parse_value(f, raw, "answer")
                break
            except InputError as exc:
                print(f"  {exc}; try again or press Enter to skip")
    return answers
