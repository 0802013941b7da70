"""Diary and profile: validation of every field, files, flags, the interactive questions, the docs table."""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kneeemg.cli import main
from kneeemg.cli import diary as diary_cli
from kneeemg.diary import (DAY_FIELDS, PROFILE_FIELDS, fields_markdown, load_diary_file, night_date, parse_value,
                           validate_day, validate_profile)
from kneeemg.errors import InputError
from kneeemg.store import Store

DOCS = Path(__file__).resolve().parents[1] / "docs" / "diary.md"

GOOD_DAY = {
    "date": "2026-11-20", "caffeine_drinks": 3, "caffeine_last_hours_before_bed": 2.5, "alcohol_drinks": 1,
    "water_glasses": 4, "exercise": "hard", "exercise_hours_before_bed": 1, "warmed_up": False, "activity_change": True,
    "sitting_hours": 9, "standing_hours": 2, "stress": 4, "anxiety": 2, "sleep_hours": 6.5, "stimulants": ["amphetamine"],
    "symptoms": ["tingling", "back_pain"], "notes": "<script>alert(1)</script> long day",
}


def test_every_public_field_is_accepted():
    assert {f.name for f in DAY_FIELDS} == set(GOOD_DAY)
    day = validate_day(GOOD_DAY)
    assert day.date == "2026-11-20" and day.get("symptoms") == ["back_pain", "tingling"] and day.get("warmed_up") is False
    assert day.get("exercise_hours_before_bed") == 1.0 and day.get("notes") == GOOD_DAY["notes"]
    prof = validate_profile({"age": 44, "sex": "male", "medications": ["diuretic", "my own pill"], "conditions": ["arthritis"],
                             "known_deficiencies": ["magnesium"], "twitching_since": "2026-09-01"})
    assert prof.get("medications") == ["diuretic", "my_own_pill"]  # free text is allowed for medicines
    assert {f.name for f in PROFILE_FIELDS} == {"age", "sex", "medications", "conditions", "known_deficiencies", "twitching_since"}
    assert validate_day({}).as_dict() == {}  # every field is optional
    assert validate_day({"date": "2026-11-20", "stress": None, "notes": ""}).as_dict() == {"date": "2026-11-20"}


def _bad_value(f):
    """A value each field must refuse, from its row of the field table."""
    return {"int": (f.hi or 0) + 1, "float": -1.0, "bool": "maybe", "date": "2026-13-01", "choice": "zzz",
            "text": 5}.get(f.kind) or ({"zzz": 1} if f.free_text or not f.choices else ["zzz"])


@pytest.mark.parametrize("f", DAY_FIELDS + PROFILE_FIELDS, ids=lambda f: f.name)
def test_every_field_refuses_a_bad_value_naming_itself(f):
    check = validate_profile if f in PROFILE_FIELDS else validate_day
    with pytest.raises(InputError) as info:
        check({f.name: _bad_value(f)})
    message = str(info.value)
    assert f"{f.name}" in message and "\n" not in message
    assert ("out of range" in message) if f.kind in ("int", "float") else ("not" in message)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("stress", 7, "diary 2026-11-20: stress=7 is out of range 0-5"),
        ("stress", "7", "diary 2026-11-20: stress=7 is out of range 0-5"),
        ("exercise", "extreme", "exercise=extreme is not allowed; use one of none, light, moderate, hard"),
        ("symptoms", ["itching"], "symptoms has itching, which is not one of severe_pain"),
        ("date", "20/11/2026", "a date like 2026-11-20"),
        ("date", datetime(2026, 11, 20, 22, 0), "a date like 2026-11-20"),  # a TOML date-time is not a day
        ("caffeine_drinks", 2.5, "whole number"),
        ("caffeine_drinks", True, "whole number"),
        ("caffeine_drinks", float("nan"), "out of range 0-50"),
        ("warmed_up", "maybe", "yes or no"),
        ("sleep_hours", 30, "out of range 0-24"),
        ("notes", "x" * 6000, "at most 5000"),
        ("coffee", 1, "unknown field(s) coffee; allowed are date, caffeine_drinks"),
    ],
)
def test_bad_values_name_the_field(field, value, message):
    day = {"date": "2026-11-20", field: value} if field != "date" else {field: value}
    with pytest.raises(InputError) as info:
        validate_day(day)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_values_are_read_from_words():
    by_name = {f.name: f for f in DAY_FIELDS}
    assert parse_value(by_name["warmed_up"], "Yes", "t") is True and parse_value(by_name["warmed_up"], "n", "t") is False
    assert parse_value(by_name["symptoms"], "Back pain, tingling; skin-color-change", "t") == [
        "back_pain", "skin_color_change", "tingling"]
    assert parse_value(by_name["caffeine_drinks"], " 3 ", "t") == 3 and parse_value(by_name["exercise"], "Hard", "t") == "hard"
    assert parse_value(by_name["date"], date(2026, 11, 20), "t") == "2026-11-20"


def _valid_value(f):
    if f.kind == "int":
        return st.integers(int(f.lo), int(f.hi))
    if f.kind == "float":
        return st.floats(f.lo, f.hi, allow_nan=False)
    if f.kind == "bool":
        return st.booleans()
    if f.kind == "date":
        return st.dates(date(2000, 1, 1), date(2100, 1, 1))
    if f.kind == "choice":
        return st.sampled_from(f.choices)
    if f.kind == "list":
        words = st.sampled_from(f.choices) if f.choices else st.from_regex(r"[a-z]{1,12}", fullmatch=True)
        return st.lists(words, max_size=4)
    return st.text(max_size=50).filter(lambda t: t != "")


@settings(max_examples=60, deadline=None)
@given(st.fixed_dictionaries({}, optional={f.name: _valid_value(f) for f in DAY_FIELDS}))
def test_a_checked_day_checks_again_to_itself(values):
    day = validate_day(values)
    assert set(day.as_dict()) <= set(values)
    assert validate_day(day.as_dict()) == day
    assert validate_day(json.loads(json.dumps(day.as_dict()))) == day  # and survives JSON, as stored


def test_night_date_is_the_evening_it_began():
    assert night_date(datetime(2026, 11, 21, 7, 30)) == "2026-11-20"
    assert night_date(datetime(2026, 11, 20, 21, 0)) == "2026-11-20"
    assert night_date(datetime(2026, 11, 20, 12, 0)) == "2026-11-20"


def test_files_are_all_or_nothing(tmp_path):
    toml = tmp_path / "days.toml"
    toml.write_text('[profile]\nage = 50\n\n[[days]]\ndate = 2026-11-19\nwater_glasses = 8\n\n[[days]]\ndate = "2026-11-20"\nstress = 2\n')
    days, prof = load_diary_file(toml)
    assert [d.date for d in days] == ["2026-11-19", "2026-11-20"] and prof.get("age") == 50
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"date": "2026-11-21", "stress": 1}, {"date": "2026-11-22", "stress": 9}]))
    db = tmp_path / "h.db"
    assert main(["diary", "--db", str(db), "--import", str(bad)]) == 2
    with Store(db) as store:
        assert store.days() == []  # the good first day was not stored either
    assert main(["diary", "--db", str(db), "--import", str(toml)]) == 0
    with Store(db) as store:
        assert [d.date for d in store.days()] == ["2026-11-19", "2026-11-20"]
        assert store.profile().get("age") == 50


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("one.json", '{"date": "2026-11-20", "stres": 1}', "one.json 2026-11-20: unknown field(s) stres"),
        ("list.json", '[{"date": "2026-11-20"}, {"date": "2026-11-21", "stres": 1}]',
         "list.json days[1] 2026-11-21: unknown field(s) stres"),
        ("dup.json", '[{"date": "2026-11-20"}, {"date": "2026-11-20"}]', "date 2026-11-20 is already used by days[0]"),
        ("nodate.json", '[{"stress": 1}]', "date is missing"),
        ("broken.json", '{"date": "2026-11-20",', "not valid JSON"),
        ("broken.toml", "date = \n", "not valid TOML"),
        ("when.toml", "date = 2026-11-20T22:00:00\n", "date=2026-11-20 22:00:00 is not allowed"),
        ("extra.toml", "[profile]\nage = 3\n[other]\nx = 1\n", "unknown section(s) other"),
        ("prof.toml", "[profile]\nage = 300\n", "prof.toml profile: age=300 is out of range 0-120"),
        ("count.toml", "days = 3\n", "days must be a list of days, not the value 3; [days] makes one table"),
        ("table.toml", "[days]\ndate = 2026-11-20\n", "days must be a list of days, not one table; [days] makes one table; "
         "write [[days]] before each day"),
        ("count.json", '{"days": 5}', 'days must be a list of days, not the value 5; write "days": [{...}, {...}]'),
    ],
)
def test_bad_files_are_refused_with_the_reason(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_diary_file(path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_one_day_in_a_json_file(tmp_path):
    path = tmp_path / "day.json"
    path.write_text(json.dumps(GOOD_DAY))
    days, prof = load_diary_file(path)
    assert prof is None and days == [validate_day(GOOD_DAY)]
    with pytest.raises(InputError, match="does not exist"):
        load_diary_file(tmp_path / "missing.json")


def test_the_diary_file_is_never_the_history(tmp_path, capsys):
    empty = tmp_path / "d.toml"
    empty.write_bytes(b"")
    assert main(["diary", "--import", str(empty), "--db", str(empty)]) == 2
    assert "is the diary file given with --import; give another --db" in capsys.readouterr().err
    assert empty.read_bytes() == b""


def test_a_folder_given_as_the_diary_file_is_an_input_error(tmp_path, capsys):
    with pytest.raises(InputError, match=r"is a folder; name a TOML or JSON diary file$"):
        load_diary_file(tmp_path)
    assert main(["diary", "--import", str(tmp_path), "--db", str(tmp_path / "h.db")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kneeemg: error: ") and "is a folder" in err and err.count("\n") == 1


def test_flags_change_only_the_fields_given(tmp_path, capsys):
    db = str(tmp_path / "h.db")
    assert main(["diary", "--db", db, "--date", "2026-11-20", "--stress", "3", "--symptom", "tingling",
                 "--symptom", "back pain"]) == 0
    assert main(["diary", "--db", db, "--date", "2026-11-20", "--water-glasses", "5", "--warmed-up", "yes"]) == 0
    assert "saved the diary of 2026-11-20" in capsys.readouterr().out
    with Store(db) as store:
        assert store.day("2026-11-20").as_dict() == {"date": "2026-11-20", "stress": 3, "symptoms": ["back_pain", "tingling"],
                                                     "water_glasses": 5, "warmed_up": True}
    assert main(["diary", "--db", db, "--date", "2026-11-20", "--sleep-hours", "7", "--replace"]) == 0
    assert main(["diary", "--db", db, "--profile", "--age", "52", "--medications", "diuretic", "--medications", "statin"]) == 0
    assert main(["diary", "--db", db, "--profile", "--sex", "female"]) == 0
    with Store(db) as store:
        assert store.day("2026-11-20").as_dict() == {"date": "2026-11-20", "sleep_hours": 7.0}
        assert store.profile().as_dict() == {"age": 52, "medications": ["diuretic", "statin"], "sex": "female"}


def test_flags_without_a_date_take_the_latest_night(tmp_path):
    db = str(tmp_path / "h.db")
    before = night_date()
    assert main(["diary", "--db", db, "--alcohol-drinks", "2"]) == 0
    with Store(db) as store:
        assert [d.date for d in store.days()] in ([before], [night_date()])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--date", "2026-11-20", "--stress", "9"], "stress=9 is out of range 0-5"),
        (["--age", "40"], "--age is a profile field; add --profile"),
        (["--profile", "--stress", "2"], "--stress is a day field; leave out --profile"),
        (["--import", "x.json", "--stress", "2"], "either --import FILE or field flags"),
        ([], "nothing to record"),  # not a terminal: nothing to ask
        (["--date", "2206-11-20", "--stress", "2"], "--date: date 2206-11-20 is after today"),
        (["--date", " ", "--stress", "2"], "kneeemg: error: --date is empty; give a date like 2026-11-20, or leave the flag out"),
        (["--date", "", "--stress", "2"], "kneeemg: error: --date is empty; give a date like 2026-11-20, or leave the flag out"),
        (["--date", "2026-11-20", "--stimulants", ""], "--stimulants is empty; give words separated by commas, or leave the "
                                                        "flag out; `none` says there was none"),
        (["--date", "2026-11-20", "--water-glasses", "3_0"], "water_glasses=3_0 is not allowed; use a whole number"),
        (["--date", "2026-11-20", "--stress", "1e0"], "stress=1e0 is not allowed"),
        (["--profile", "--twitching-since", "2206-01-01"], "--twitching-since: date 2206-01-01 is after today"),
    ],
)
def test_bad_flags_store_nothing(tmp_path, capsys, argv, message):
    db = tmp_path / "h.db"
    assert main(["diary", "--db", str(db), *argv]) == 2
    assert message in capsys.readouterr().err
    with Store(db) as store:
        assert store.days() == [] and store.profile().as_dict() == {}


def test_interactive_questions_skip_and_retry(monkeypatch, capsys):
    # a date after today (refused, asked again at once), the date, 12 drinks, skip the hours,
    # a stress of 9 (refused, asked again), then 3
    answers = iter(["2206-11-20", "2026-11-20", "12", "", "9", "3"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    fields = [f for f in DAY_FIELDS if f.name in ("date", "caffeine_drinks", "caffeine_last_hours_before_bed", "stress")]
    got = diary_cli.ask(fields)
    assert got == {"date": "2026-11-20", "caffeine_drinks": 12, "stress": 3}
    out = capsys.readouterr().out
    assert "out of range 0-5; try again" in out and "answer: date 2206-11-20 is after today" in out


def test_a_refused_answer_then_enter_skips_the_question(monkeypatch):
    answers = iter(["2206-01-01", ""])  # a date after today, refused; then Enter: skipped
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    assert diary_cli.ask([f for f in PROFILE_FIELDS if f.name == "twitching_since"]) == {}


def test_interactive_day_and_profile_through_the_command(tmp_path, monkeypatch, capsys):
    db = str(tmp_path / "h.db")
    prompts = []
    monkeypatch.setattr(diary_cli, "_interactive", lambda: True)
    # Enter on the date takes the latest night; "lots" is refused and 2 is taken; the rest skipped
    answers = iter(["", "lots", "2"] + [""] * (len(DAY_FIELDS) - 2))
    monkeypatch.setattr("builtins.input", lambda prompt="": prompts.append(prompt) or next(answers))
    assert main(["diary", "--db", db]) == 0
    assert f"Enter = {night_date()}" in prompts[0] and "yes or no" in prompts[8]
    answers = iter(["61", "", "Diuretic, my own pill"] + [""] * 3)
    assert main(["diary", "--db", db, "--profile"]) == 0
    assert "caffeine_drinks=lots is not allowed" in capsys.readouterr().out
    with Store(db) as store:
        assert store.day(night_date()).as_dict() == {"date": night_date(), "caffeine_drinks": 2}
        assert store.profile().as_dict() == {"age": 61, "medications": ["diuretic", "my_own_pill"]}


def test_answers_that_end_early_save_nothing(tmp_path, monkeypatch, capsys):
    db = str(tmp_path / "h.db")
    monkeypatch.setattr(diary_cli, "_interactive", lambda: True)
    answers = iter(["2026-11-20", "3"])

    def typed(prompt=""):
        try:
            return next(answers)
        except StopIteration:
            raise EOFError from None  # Ctrl-D

    monkeypatch.setattr("builtins.input", typed)
    assert main(["diary", "--db", db]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the answers ended before the last question" in err and "nothing was saved" in err
    with Store(db) as store:
        assert store.days() == []


def test_the_docs_show_the_field_table():
    text = DOCS.read_text(encoding="utf-8")
    assert fields_markdown(DAY_FIELDS) in text and fields_markdown(PROFILE_FIELDS) in text


@pytest.mark.parametrize(
    "argv, field, expected",
    [
        (["--symptoms", "tingling, back pain"], "symptoms", ["back_pain", "tingling"]),
        (["--symptoms", " tingling ,back_pain ", "--symptoms", "fever"], "symptoms", ["back_pain", "fever", "tingling"]),
        (["--symptom", "tingling, fever"], "symptoms", ["fever", "tingling"]),  # the older spelling still works
        (["--stimulants", "amphetamine, modafinil"], "stimulants", ["amphetamine", "modafinil"]),
        (["--profile", "--medications", "diuretic, my own pill"], "medications", ["diuretic", "my_own_pill"]),
        (["--profile", "--conditions", "arthritis,knee injury"], "conditions", ["arthritis", "knee_injury"]),
        (["--profile", "--known-deficiencies", "vitamin d, magnesium"], "known_deficiencies", ["magnesium", "vitamin_d"]),
    ],
)
def test_list_flags_take_words_separated_by_commas(tmp_path, capsys, argv, field, expected):
    db = str(tmp_path / "h.db")
    day = [] if "--profile" in argv else ["--date", "2026-11-20"]
    assert main(["diary", "--db", db, *day, *argv]) == 0
    with Store(db) as store:
        entry = store.profile() if "--profile" in argv else store.day("2026-11-20")
        assert entry.as_dict()[field] == expected


def test_a_list_in_a_file_may_hold_comma_separated_words():
    assert validate_day({"symptoms": ["tingling, back pain", "fever"]}).as_dict()["symptoms"] == ["back_pain", "fever", "tingling"]
    with pytest.raises(InputError, match="symptoms has itch, which is not one of"):
        validate_day({"symptoms": "tingling, itch"})


def test_one_documented_spelling_of_the_symptoms_flag(capsys):
    with pytest.raises(SystemExit):
        main(["diary", "--help"])
    text = capsys.readouterr().out
    assert "--symptoms WORDS" in text and "--symptom " not in text and "separated by commas" in text


def test_a_file_of_one_day_is_named_by_the_file_alone(tmp_path, capsys):
    day = tmp_path / "day.toml"
    day.write_text("date = 2206-01-02\nstress = 2\n")
    assert main(["diary", "--db", str(tmp_path / "h.db"), "--import", str(day)]) == 2
    err = capsys.readouterr().err
    assert "day.toml: date 2206-01-02 is after today" in err and "days[" not in err
    assert not (tmp_path / "h.db").exists()


def test_a_file_profile_twitching_since_after_today_is_refused_when_checked(tmp_path):
    path = tmp_path / "prof.toml"
    path.write_text("[profile]\ntwitching_since = 2206-01-01\n")
    assert load_diary_file(path)[1].get("twitching_since") == "2206-01-01"  # read as stored
    with pytest.raises(InputError) as info:
        load_diary_file(path, latest=date(2026, 11, 20))
    assert str(info.value).startswith("prof.toml profile: twitching_since: date 2206-01-01 is after today (2026-11-20)")


def test_an_imported_day_after_today_stores_nothing(tmp_path, capsys):
    db = tmp_path / "h.db"
    days = tmp_path / "days.toml"
    days.write_text("[[days]]\ndate = 2026-11-20\nstress = 2\n[[days]]\ndate = 2206-01-02\n")
    assert main(["diary", "--db", str(db), "--import", str(days)]) == 2
    err = capsys.readouterr().err
    assert "days.toml days[1]: date 2206-01-02 is after today" in err and err.count("\n") == 1
    assert not db.exists()  # nothing stored, not even the good day


@pytest.mark.parametrize("argv", [["--profile", "--replace", "--sex", ""], ["--date", "2026-11-21", "--replace", "--notes", " "],
                                  ["--date", "2026-11-21", "--symptoms", ""], ["--profile", "--medications", "statin", "--age", ""]])
def test_an_empty_flag_is_refused_and_nothing_stored_changes(tmp_path, capsys, argv):
    # an empty value would be taken as left out: with --replace it would clear the entry
    db = str(tmp_path / "h.db")
    assert main(["diary", "--db", db, "--profile", "--age", "50", "--conditions", "als"]) == 0
    assert main(["diary", "--db", db, "--date", "2026-11-21", "--stress", "3", "--symptoms", "swelling"]) == 0
    capsys.readouterr()
    with Store(db) as store:
        before = (store.profile().as_dict(), [d.as_dict() for d in store.days()])
    assert main(["diary", "--db", db, *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and " is empty; give " in err and "or leave the flag out" in err
    with Store(db) as store:
        assert (store.profile().as_dict(), [d.as_dict() for d in store.days()]) == before


@pytest.mark.parametrize("argv", [["diary", "--date", "0001-01-01", "--stress", "2"],
                                  ["diary", "--profile", "--twitching-since", "1899-12-31"],
                                  ["import", "x.kemg", "--date", "0001-01-01"]])
def test_a_date_before_1900_is_refused(tmp_path, capsys, argv):
    db = tmp_path / "h.db"
    assert main([*argv, "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "is before 1900; check the year" in err and err.count("\n") == 1
    assert not db.exists()


@pytest.mark.parametrize("argv", [["--date", "2026-11-20", "--notes", "caf\udce9"],  # a Latin-1 terminal's é
                                  ["--date", "2026-11-20", "--stimulants", "caf\udce9"],
                                  ["--profile", "--medications", "caf\udce9"]])
def test_text_that_is_not_utf8_is_refused(tmp_path, capsys, argv):
    db = tmp_path / "h.db"
    assert main(["diary", "--db", str(db), *argv]) == 2
    err = capsys.readouterr().err
    assert "holds characters that are not UTF-8 text" in err and err.count("\n") == 1
    assert not db.exists()


def test_a_file_with_a_lone_surrogate_escape_is_refused(tmp_path):
    path = tmp_path / "d.json"
    path.write_text('{"date": "2026-11-20", "notes": "a \\ud800 b"}', encoding="utf-8")
    with pytest.raises(InputError, match="notes='a \\\\ud800 b' holds characters that are not UTF-8 text"):
        load_diary_file(path)


def test_a_date_alone_asks_the_day_and_never_empties_its_entry(tmp_path, monkeypatch, capsys):
    db = str(tmp_path / "h.db")
    assert main(["diary", "--db", db, "--date", "2026-11-20", "--stress", "3", "--symptoms", "fever"]) == 0
    capsys.readouterr()
    for extra in ([], ["--replace"]):  # no field given, and no terminal to ask them in
        assert main(["diary", "--db", db, "--date", "2026-11-20", *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "nothing to record" in err
    with Store(db) as store:
        assert store.day("2026-11-20").as_dict() == {"date": "2026-11-20", "stress": 3, "symptoms": ["fever"]}
    # in a terminal, the day's questions are asked for the date given (not the date again)
    prompts = []
    monkeypatch.setattr(diary_cli, "_interactive", lambda: True)
    answers = iter(["2"] + [""] * (len(DAY_FIELDS) - 2))
    monkeypatch.setattr("builtins.input", lambda prompt="": prompts.append(prompt) or next(answers))
    assert main(["diary", "--db", db, "--date", "2026-11-20", "--replace"]) == 0
    assert "caffeinated" in prompts[0] and len(prompts) == len(DAY_FIELDS) - 1
    with Store(db) as store:
        assert store.day("2026-11-20").as_dict() == {"date": "2026-11-20", "caffeine_drinks": 2}


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
@pytest.mark.parametrize("argv, what", [(["--date", "2026-11-20"], "the diary of 2026-11-20"),
                                        (["--profile"], "the profile")])
@pytest.mark.parametrize("replace", [[], ["--replace"]], ids=["merge", "replace"])
def test_every_question_skipped_in_a_terminal_changes_nothing(tmp_path, argv, what, replace):
    import subprocess
    import sys

    import kneeemg

    db = str(tmp_path / "h.db")
    assert main(["diary", "--db", db, "--date", "2026-11-20", "--stress", "3", "--symptoms", "fever"]) == 0
    assert main(["diary", "--db", db, "--profile", "--age", "61"]) == 0
    master, slave = os.openpty()
    try:
        os.write(master, b"\n" * (len(DAY_FIELDS) + 2))  # Enter at every question
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(kneeemg.__file__).parent.parent),
                                                            os.environ.get("PYTHONPATH", "")])}
        done = subprocess.run([sys.executable, "-m", "kneeemg", "diary", "--db", db, *argv, *replace], stdin=slave,
                              capture_output=True, text=True, env=env, timeout=120)
    finally:
        os.close(master)
        os.close(slave)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith(f"nothing answered: {what} was not changed")
    with Store(db) as store:
        assert store.day("2026-11-20").as_dict() == {"date": "2026-11-20", "stress": 3, "symptoms": ["fever"]}
        assert store.profile().as_dict() == {"age": 61}


@pytest.mark.parametrize("name, text, message", [
    ("deep.json", '{"days": ' + "[" * 5000 + "]" * 5000 + "}", "lists or tables nested too deeply to read"),
    ("deep.toml", "[profile]\nnotes = " + "[" * 100000 + "]" * 100000, "lists or tables nested too deeply to read"),
    ("dayz.json", '{"dayz": []}', "unknown section(s) dayz; use days and profile, or the fields of one day"),
])
def test_diary_files_that_cannot_be_read_are_refused_in_one_line(tmp_path, capsys, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    db = tmp_path / "h.db"
    assert main(["diary", "--db", str(db), "--import", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not db.exists()
