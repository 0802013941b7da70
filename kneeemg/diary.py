"""The diary (one entry per day) and the profile: a public format.

One table of fields (:data:`DAY_FIELDS`, :data:`PROFILE_FIELDS`) drives validation, the
questions ``kneeemg diary`` asks, and ``docs/diary.md``. Every field is optional; unknown
fields are refused so that typos are caught. Fields may be added in later versions; none
will be renamed.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Mapping, Sequence

from .errors import InputError

SYMPTOMS = ("severe_pain", "swelling", "redness", "warmth", "weakness", "numbness", "tingling", "burning", "stiffness",
            "fever", "chills", "skin_color_change", "twitching_elsewhere", "back_pain", "limited_movement")
MEDICATIONS = ("diuretic", "corticosteroid", "oestrogen", "antidepressant", "statin", "stimulant")
CONDITIONS = ("arthritis", "diabetes", "back_surgery", "knee_injury", "patellar_tendonitis", "peroneal_nerve_injury",
              "pinched_nerve", "multiple_sclerosis", "parkinsons", "neuromyotonia", "als")
DEFICIENCIES = ("vitamin_b12", "vitamin_b6", "vitamin_d", "calcium", "magnesium", "potassium")
#: Words that answer a list question with "none" (no stimulants taken, no medicines): they add
#: nothing to the list, so "none" is an empty list, never a stimulant or a medicine called "none".
NONE_WORDS = ("none", "no", "nothing", "nil")
EXERCISE = ("none", "light", "moderate", "hard")
#: Longest ``notes`` text and longest word in a list, characters.
MAX_TEXT_CHARS = 5000
MAX_WORD_CHARS = 60
#: Dates before this are refused as given (:func:`check_not_after`).
EARLIEST_DATE = date(1900, 1, 1)
#: A date as text: YYYY-MM-DD only (``date.fromisoformat`` also takes 20261120 and 2026-W47-1).
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def is_iso_day(text: Any) -> bool:
    """Whether ``text`` is written as a date, YYYY-MM-DD (spaces around it aside)."""
    return isinstance(text, str) and _ISO_DAY.fullmatch(text.strip()) is not None


#: A number as text: plain decimals only ("3", "2.5", ".5"); no exponent, no "_" between digits.
_NUMBER_TEXT = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)\s*")


@dataclass(frozen=True)
class Field:
    """One diary or profile field.

    ``kind`` is int, float, bool, choice, list, date or text. ``choices`` restricts a choice
    or a list; ``free_text`` lets a list take other words too (medications).
    """

    name: str
    kind: str
    question: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    free_text: bool = False
    hint: str = ""  # what a choice means, where its name alone could mislead

    def allowed(self) -> str:
        """What the field accepts, in words."""
        if self.kind in ("int", "float"):
            return f"a {'whole ' if self.kind == 'int' else ''}number from {self.lo:g} to {self.hi:g}"
        if self.kind == "bool":
            return "yes or no"
        if self.kind == "date":
            return "a date like 2026-11-20"
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "list":
            if not self.choices:
                return "words separated by commas"
            return ("any of " + ", ".join(self.choices) + (" or other words" if self.free_text else "") + ", separated by commas"
                    + (f" ({self.hint})" if self.hint else ""))
        return "text"


DAY_FIELDS: tuple[Field, ...] = (
    Field("date", "date", "Which evening did the night begin (YYYY-MM-DD)?"),
    Field("caffeine_drinks", "int", "How many caffeinated drinks (coffee, tea, cola, energy drinks)?", 0, 50),
    Field("caffeine_last_hours_before_bed", "float", "How many hours before bed was the last one?", 0, 24),
    Field("alcohol_drinks", "int", "How many alcoholic drinks?", 0, 50),
    Field("water_glasses", "int", "How many glasses of water?", 0, 50),
    Field("exercise", "choice", "How hard did you exercise?", choices=EXERCISE),
    Field("exercise_hours_before_bed", "float", "How many hours before bed did you exercise?", 0, 24),
    Field("warmed_up", "bool", "Did you warm up before exercising?"),
    Field("activity_change", "bool", "Was there a sudden change in how active you were?"),
    Field("sitting_hours", "float", "Hours spent sitting?", 0, 24),
    Field("standing_hours", "float", "Hours spent standing?", 0, 24),
    Field("stress", "int", "Stress today, 0 (none) to 5 (extreme)?", 0, 5),
    Field("anxiety", "int", "Anxiety today, 0 (none) to 5 (extreme)?", 0, 5),
    Field("sleep_hours", "float", "Hours slept that night?", 0, 24),
    Field("stimulants", "list", "Other stimulants taken (e.g. amphetamine)?", free_text=True),
    Field("symptoms", "list", "Symptoms that day?", choices=SYMPTOMS,
          hint="stiffness that limits how far the knee bends or straightens is limited_movement"),
    Field("notes", "text", "Anything else?"),
)

PROFILE_FIELDS: tuple[Field, ...] = (
    Field("age", "int", "Age in years?", 0, 120),
    Field("sex", "choice", "Sex?", choices=("female", "male", "other")),
    Field("medications", "list", "Regular medicines?", choices=MEDICATIONS, free_text=True),
    Field("conditions", "list", "Known conditions?", choices=CONDITIONS),
    Field("known_deficiencies", "list", "Deficiencies found in a blood test?", choices=DEFICIENCIES),
    Field("twitching_since", "date", "Since when has the knee been twitching (YYYY-MM-DD)?"),
)


def night_date(moment: datetime | None = None) -> str:
    """The evening a night began, for a moment during or around it (default: now).

    A moment after midnight and before noon belongs to the night that began the evening
    before; from noon on, to the night beginning that evening. A moment with a time zone
    (a recorder's UTC clock) is read in the computer's local time, where evenings are.
    """
    moment = datetime.now() if moment is None else moment
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    # (a morning of 0001-01-01, a zero time some tools write for an unknown one, stays that day)
    day = moment.date() - timedelta(days=1) if moment.hour < 12 and moment.date() > date.min else moment.date()
    return day.isoformat()


def iso_date(value: Any, what: str) -> str:
    """``value`` (an ISO date string, or a :class:`datetime.date`) as ``YYYY-MM-DD``; an
    :class:`InputError` naming ``what`` when it is not a date."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and len(value) == 10 and is_iso_day(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise InputError(f"{what} {value!r} is not a date; give it as YYYY-MM-DD (e.g. 2026-11-05)")


def check_not_after(iso_date: str, latest: date, where: str, note: str = "a night is dated by the evening it began") -> None:
    """Refuse a date after ``latest`` (today, for what was recorded), or before 1900: most often
    a mistyped year, which would otherwise sort the entry after, or before, every real one (and
    a year such as 0001 breaks the date arithmetic of trends and reports).

    Raises
    ------
    InputError
        One line naming ``where`` and the date (and ``note``, when given).
    """
    if date.fromisoformat(iso_date) > latest:
        raise InputError(f"{where}: date {iso_date} is after today ({latest.isoformat()}); "
                         f"{note + ', so ' if note else ''}check the year and the day")
    if date.fromisoformat(iso_date) < EARLIEST_DATE:
        raise InputError(f"{where}: date {iso_date} is before {EARLIEST_DATE.year}; check the year")


#: A date more than this many days before today gets a note (most often a mistyped year).
FAR_PAST_DAYS = 366


def far_past_note(iso_date: str, today: date) -> str:
    """A note when ``iso_date`` lies more than a year before ``today`` ("" otherwise): kept as
    given, but a triage reads only the recent weeks, so a mistyped year would hide the entry."""
    if (today - date.fromisoformat(iso_date)).days <= FAR_PAST_DAYS:
        return ""
    return (f"{iso_date} is more than a year ago; kneeemg's guidance reads only the recent weeks, so if you meant a "
            "recent day, check the year")


def fields_markdown(fields: Sequence[Field]) -> str:
    """A Markdown table of ``fields``: name, the question asked, what is allowed (used in docs/diary.md)."""
    lines = ["| field | question | allowed |", "|---|---|---|"]
    lines += [f"| `{f.name}` | {f.question} | {f.allowed()} |" for f in fields]
    return "\n".join(lines) + "\n"


def _show(raw: Any) -> str:
    """A value as the user typed it, on one short line."""
    if isinstance(raw, (int, float, date)):
        text = str(raw)
    elif isinstance(raw, str) and raw.isprintable() and raw.strip() == raw and raw:
        text = raw
    else:
        text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_value(f: Field, raw: Any, where: str) -> Any:
    """Check and convert one value; raise InputError naming the field and what is allowed."""
    shown = _show(raw)
    bad = InputError(f"{where}: {f.name}={shown} is not allowed; use {f.allowed()}")
    if f.kind in ("int", "float"):
        if isinstance(raw, bool) or (isinstance(raw, str) and not _NUMBER_TEXT.fullmatch(raw)):
            raise bad  # ("3_0" and "1e0" are typos as often as numbers)
        try:
            num = float(raw)
        except (TypeError, ValueError):
            raise bad from None
        if not f.lo <= num <= f.hi:  # also refuses NaN and infinities
            raise InputError(f"{where}: {f.name}={shown} is out of range {f.lo:g}-{f.hi:g}")
        if f.kind == "int" and num != int(num):
            raise bad
        return int(num) if f.kind == "int" else num
    if f.kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("yes", "y", "true", "1"):
            return True
        if text in ("no", "n", "false", "0"):
            return False
        raise bad
    if f.kind == "date":
        if isinstance(raw, datetime):  # a TOML date-time: the field wants a day
            raise bad
        if isinstance(raw, date):
            return raw.isoformat()
        if not is_iso_day(raw):
            raise bad
        try:
            return date.fromisoformat(raw.strip()).isoformat()
        except ValueError:
            raise bad from None
    if f.kind == "choice":
        text = str(raw).strip().lower()
        if text not in f.choices:
            raise bad
        return text
    if f.kind == "list":
        # a string, or a list of strings (a file's list, repeated flags), each of them
        # comma-separated words: "tingling, back pain" is two words however it is given
        if isinstance(raw, str):
            items = raw.replace(";", ",").split(",")
        elif isinstance(raw, (list, tuple)) and all(isinstance(item, str) for item in raw):
            items = [word for item in raw for word in item.replace(";", ",").split(",")]
        else:
            raise InputError(f"{where}: {f.name}={shown} is not allowed; use a list of words: {f.allowed()}")
        out = []
        for item in items:
            _check_text(item, f, where)
            word = "_".join(item.strip().lower().replace("-", " ").split())
            if len(word) > MAX_WORD_CHARS:
                raise InputError(f"{where}: {f.name} has a word of {len(word)} characters; use at most {MAX_WORD_CHARS}")
            if not word or word in NONE_WORDS:
                continue
            if f.choices and word not in f.choices and not f.free_text:
                raise InputError(f"{where}: {f.name} has {_show(item.strip())}, which is not one of {', '.join(f.choices)}")
            out.append(word)
        return sorted(set(out))
    if not isinstance(raw, str):
        raise bad
    if len(raw) > MAX_TEXT_CHARS:
        raise InputError(f"{where}: {f.name} is {len(raw)} characters long; use at most {MAX_TEXT_CHARS}")
    _check_text(raw, f, where)
    return raw


def _check_text(text: str, f: Field, where: str) -> None:
    """Refuse text that cannot be written as UTF-8: bytes of another encoding passed on by the
    terminal, or a lone \\uD800-\\uDFFF escape in a JSON file (the reports could not be written)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"{where}: {f.name}={_show(text)} holds characters that are not UTF-8 text; type it again in "
                         "a UTF-8 terminal, or save the file as UTF-8 without \\uD800-\\uDFFF escapes") from None


@dataclass(frozen=True)
class _Entry:
    values: Mapping[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def as_dict(self) -> dict[str, Any]:
        """The set fields only (unset fields are unknown, not "no")."""
        return dict(self.values)


@dataclass(frozen=True)
class DiaryDay(_Entry):
    """One day's entry; ``date`` is the evening the night began."""

    @property
    def date(self) -> str | None:
        return self.values.get("date")


@dataclass(frozen=True)
class Profile(_Entry):
    """Things that do not change from day to day."""


def _validate(mapping: Mapping[str, Any], fields: Sequence[Field], where: str) -> dict[str, Any]:
    if not isinstance(mapping, Mapping):
        raise InputError(f"{where}: expected a table of fields, got {type(mapping).__name__}")
    known = {f.name: f for f in fields}
    unknown = sorted(set(mapping) - set(known))
    if unknown:
        raise InputError(f"{where}: unknown field(s) {', '.join(unknown)}; allowed are {', '.join(known)}")
    out = {}
    for name, raw in mapping.items():
        if raw is None or raw == "":
            continue
        out[name] = parse_value(known[name], raw, where)
    return out


def validate_day(mapping: Mapping[str, Any], where: str = "diary") -> DiaryDay:
    """A checked :class:`DiaryDay` from a mapping (a parsed JSON/TOML table or flags)."""
    label = f"{where} {mapping.get('date')}" if isinstance(mapping, Mapping) and str(mapping.get("date") or "").strip() else where
    return DiaryDay(_validate(mapping, DAY_FIELDS, label))


def validate_profile(mapping: Mapping[str, Any], where: str = "profile") -> Profile:
    """A checked :class:`Profile` from a mapping."""
    return Profile(_validate(mapping, PROFILE_FIELDS, where))


def load_diary_file(path: str | os.PathLike[str], latest: date | None = None) -> tuple[list[DiaryDay], Profile | None]:
    """Days and profile from a TOML or JSON file, all checked before anything is returned.

    A file holds one day (a table of day fields), a list of days, or a table with
    ``days`` (a list) and/or ``profile``. Messages name the file, and in a list the day
    (``days[i]``). With ``latest`` (today, for what was recorded), a day or a
    ``twitching_since`` after it is refused (:func:`check_not_after`).
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p} does not exist; check the path")
    if p.is_dir():
        raise InputError(f"{p} is a folder; name a TOML or JSON diary file")
    try:
        if p.suffix.lower() == ".toml":
            import tomllib

            data: Any = tomllib.loads(p.read_text(encoding="utf-8"))
        else:
            data = json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: not valid {'TOML' if p.suffix.lower() == '.toml' else 'JSON'} ({exc})") from None
    except RecursionError:
        raise InputError(f"{p}: lists or tables nested too deeply to read; a diary file nests a few levels") from None
    profile = None
    one_day = False  # a file of one day is named by the file alone, a list's days by place
    if isinstance(data, list):
        raw_days = data
    elif isinstance(data, dict) and ({"days", "profile"} & set(data)) and not ({f.name for f in DAY_FIELDS} & set(data)):
        unknown = set(data) - {"days", "profile"}
        if unknown:
            raise InputError(f"{p}: unknown section(s) {', '.join(sorted(unknown))}; use days and profile")
        raw_days = data.get("days", [])
        if not isinstance(raw_days, list):
            hint = ("[days] makes one table; write [[days]] before each day" if p.suffix.lower() == ".toml"
                    else 'write "days": [{...}, {...}]')
            what = "one table" if isinstance(raw_days, dict) else f"the value {raw_days!r}"
            raise InputError(f"{p}: days must be a list of days, not {what}; {hint}")
        if "profile" in data:
            profile = validate_profile(data["profile"], where=f"{p.name} profile")
    else:
        if isinstance(data, dict) and data and not ({f.name for f in DAY_FIELDS} & set(data)):  # neither sections nor a day
            raise InputError(f"{p}: unknown section(s) {', '.join(sorted(map(str, data)))}; use days and profile, "
                             "or the fields of one day (date, stress, ...)")
        raw_days = [data]
        one_day = True
    labels = [p.name if one_day else f"{p.name} days[{i}]" for i in range(len(raw_days))]
    days = [validate_day(d, where=label) for d, label in zip(raw_days, labels)]
    seen: dict[str, int] = {}
    for i, (d, label) in enumerate(zip(days, labels)):
        if d.date is None:
            raise InputError(f"{label}: date is missing; every day needs the date its night began")
        if d.date in seen:
            raise InputError(f"{label}: date {d.date} is already used by days[{seen[d.date]}]; give each date once")
        seen[d.date] = i
        if latest is not None:
            check_not_after(d.date, latest, label)
    if latest is not None and profile is not None and profile.get("twitching_since"):
        check_not_after(profile.get("twitching_since"), latest, f"{p.name} profile: twitching_since", note="")
    return days, profile
