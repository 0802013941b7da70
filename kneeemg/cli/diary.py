"""``kneeemg diary``: record a day or the profile (asked question by question, by flags, or from a file)."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

from .importcmd import add_db_option


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def register(sub: argparse._SubParsersAction) -> None:
    from ..diary import DAY_FIELDS, PROFILE_FIELDS

    p = sub.add_parser(
        "diary", help="record what a day was like, or the profile; every field is optional",
        description="Without field flags, asks question by question (Enter skips a question). With flags, stores "
                    "them, changing only the fields given. With --import, reads a TOML or JSON file of days and/or "
                    "a profile, replacing what was stored for those dates. Bad values are refused with the reason "
                    "and nothing is stored. See docs/diary.md.")
    p.add_argument("--import", dest="import_file", metavar="FILE", help="a TOML or JSON file of days and/or a profile")
    p.add_argument("--profile", action="store_true", help="set the profile (age, medicines, ...) instead of a day")
    p.add_argument("--replace", action="store_true",
                   help="with flags or questions: replace the stored entry instead of changing only the fields given")
    day = p.add_argument_group("day fields (the date defaults to the latest night: before noon, yesterday evening)")
    prof = p.add_argument_group("profile fields (with --profile)")
    for group, fields in ((day, DAY_FIELDS), (prof, PROFILE_FIELDS)):
        for f in fields:
            if f.kind == "list":
                group.add_argument(_flag(f.name), dest=f.name, action="append", metavar="WORDS",
                                   help=f"{f.allowed()} (a space inside a word stands for _); repeatable")
            else:
                group.add_argument(_flag(f.name), dest=f.name, metavar=f.kind.upper(), help=f.allowed())
    # an older spelling of --symptoms, kept working but not shown
    day.add_argument("--symptom", dest="symptoms", action="append", metavar="WORD", help=argparse.SUPPRESS)
    add_db_option(p)
    p.set_defaults(func=run)


def _interactive() -> bool:
    return sys.stdin.isatty()


def run(args: argparse.Namespace) -> int:
    from datetime import date

    from ..diary import (DAY_FIELDS, PROFILE_FIELDS, check_not_after, far_past_note, load_diary_file, night_date,
                         validate_day, validate_profile)
    from ..errors import InputError
    from ..paths import check_db_apart, check_db_given, check_given
    from ..store import Store
    from ..words import plural

    day_values = _given(args, DAY_FIELDS)
    profile_values = _given(args, PROFILE_FIELDS)
    check_given(args.import_file, "--import", "a TOML or JSON file")
    check_db_given(args.db)  # before any question is asked
    merge = not args.replace
    asked = False  # the questions were asked in the terminal
    if args.import_file:
        if day_values or profile_values or args.profile or args.replace:
            raise InputError("give either --import FILE or field flags (and --profile), not both")
        check_db_apart(args.db, [args.import_file], "the diary file given with --import")
        days, profile = load_diary_file(args.import_file, latest=date.today())
        merge = False
    elif args.profile:
        if day_values:
            raise InputError(f"{_flag(next(iter(day_values)))} is a day field; leave out --profile to record a day")
        if not profile_values:
            _require_terminal()
            profile_values, asked = _ask(PROFILE_FIELDS), True
        days, profile = [], validate_profile(profile_values)
    else:
        if profile_values:
            raise InputError(f"{_flag(next(iter(profile_values)))} is a profile field; add --profile to set it")
        default_date = night_date()
        if day_values.get("date") and len(day_values) == 1:  # the day chosen, nothing about it given: asked
            _require_terminal()
            on = validate_day(day_values).date
            check_not_after(on, date.today(), "--date")
            day_values, asked = {"date": on, **_ask([f for f in DAY_FIELDS if f.name != "date"])}, True
        elif not day_values:
            _require_terminal()
            day_values, asked = _ask(DAY_FIELDS, {"date": default_date}), True
        day_values.setdefault("date", default_date)
        days, profile = [validate_day(day_values)], None
    if not args.import_file:  # (a file's dates were checked as it was read)
        for d in days:
            check_not_after(d.date, date.today(), "--date")
        if profile is not None and profile.get("twitching_since"):
            check_not_after(profile.get("twitching_since"), date.today(), "--twitching-since", note="")
    if asked and not (profile.as_dict() if profile is not None else set(days[0].as_dict()) - {"date"}):
        # every question skipped: the stored entry stays as it is (also with --replace)
        what = "the profile" if profile is not None else f"the diary of {days[0].date}"
        print(f"nothing answered: {what} was not changed")
        return 0
    with Store(args.db) as store:
        store.save_days(days, profile, merge=merge)
        where = store.path
        # a list given is added to the stored one: say what it holds now
        stored = [(d.as_dict(), store.day(d.date).as_dict()) for d in days] if merge else []
        if merge and profile is not None:
            stored.append((profile.as_dict(), store.profile().as_dict()))
    parts = []
    if len(days) == 1:
        parts.append(f"the diary of {days[0].date} ({plural(len(days[0].as_dict()) - 1, 'field')} given)")
    elif days:
        parts.append(f"{len(days)} diary days ({days[0].date} to {days[-1].date})")
    if profile is not None:
        parts.append(f"the profile ({plural(len(profile.as_dict()), 'field')} given)")
    print(f"saved {' and '.join(parts) or 'nothing (the file was empty)'} in {where}")
    note = far_past_note(days[0].date, date.today()) if len(days) == 1 else ""  # (a file of many days: on purpose)
    if note:
        print(f"note: {note}")
    for given, now in stored:
        for key, value in given.items():
            if isinstance(value, list) and now.get(key) != value:
                print(f"{_flag(key)} now holds {', '.join(now[key])} (added to what was stored; --replace sets it anew)")
    return 0


def _given(args: argparse.Namespace, fields: Sequence[Any]) -> dict[str, Any]:
    """The field flags given. One given as empty text is refused: it would otherwise be taken
    as left out, and with --replace clear what was stored (or, for a list, as "none")."""
    from ..errors import InputError

    given = {}
    for f in fields:
        value = getattr(args, f.name, None)
        if value is None:
            continue
        if any(not str(v).strip() for v in (value if isinstance(value, list) else [value])):
            none = "; `none` says there was none" if f.kind == "list" else ""
            raise InputError(f"{_flag(f.name)} is empty; give {f.allowed()}, or leave the flag out{none}")
        given[f.name] = value
    return given


def _require_terminal() -> None:
    from ..errors import InputError

    if not _interactive():
        raise InputError("nothing to record: give field flags (see `kneeemg diary --help`) or --import FILE, "
                         "or run in a terminal to be asked")


def _ask(fields: Sequence[Any], defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    print("Press Enter to skip a question.")
    return ask(fields, defaults)


def ask(fields: Sequence[Any], defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """Ask each field in turn and return the checked answers.

    An empty answer skips the field (or takes its default, shown in brackets); a bad answer
    is asked again with the reason.
    """
    from datetime import date

    from ..diary import check_not_after, parse_value
    from ..errors import InputError

    defaults = defaults or {}
    answers: dict[str, Any] = {}
    for f in fields:
        hint = f"Enter = {defaults[f.name]}" if f.name in defaults else f.allowed()
        while True:
            try:
                raw = input(f"{f.question} [{hint}] ").strip()
            except EOFError:  # Ctrl-D, or the end of piped answers
                print()
                raise InputError("the answers ended before the last question (Ctrl-D or the end of the input); "
                                 "nothing was saved -- run the command again, or give the fields as options") from None
            if not raw:
                if f.name in defaults:
                    answers[f.name] = defaults[f.name]
                break
            try:
                value = parse_value(f, raw, "answer")
                if f.kind == "date":  # asked again at once, not after every other question
                    check_not_after(value, date.today(), "answer", note="")
                answers[f.name] = value
                break
            except InputError as exc:
                print(f"  {exc}; try again, or press Enter to skip")
    return answers
