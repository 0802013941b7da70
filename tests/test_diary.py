"""Diary and profile: validation, files, the interactive questions."""

from __future__ import annotations

import json

import pytest

from kneeemg.cli import main
from kneeemg.diary import DAY_FIELDS, PROFILE_FIELDS, load_diary_file, validate_day, validate_profile
from kneeemg.errors import InputError
from kneeemg.store import Store

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
    prof = validate_profile({"age": 44, "sex": "male", "medications": ["diuretic", "my own pill"], "conditions": ["arthritis"],
                             "known_deficiencies": ["magnesium"], "twitching_since": "2026-09-01"})
    assert prof.get("medications") == ["diuretic", "my_own_pill"]  # free text is allowed for medicines
    assert {f.name for f in PROFILE_FIELDS} == {"age", "sex", "medications", "conditions", "known_deficiencies", "twitching_since"}
    assert validate_day({}).as_dict() == {}  # every field is optional


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("stress", 7, "stress=7 is out of range 0-5"),
        ("exercise", "extreme", "use one of none, light, moderate, hard"),
        ("symptoms", ["itching"], "not one of severe_pain"),
        ("date", "20/11/2026", "a date like 2026-11-20"),
        ("caffeine_drinks", 2.5, "whole number"),
        ("warmed_up", "maybe", "yes or no"),
        ("sleep_hours", 30, "out of range 0-24"),
        ("coffee", 1, "unknown field(s) coffee"),
    ],
)
def test_bad_values_name_the_field(field, value, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        validate_day({"date": "2026-11-20", field: value})
    assert "\n" not in str(info.value)


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


def test_interactive_questions_skip_and_retry(tmp_path, monkeypatch, capsys):
    from kneeemg.cli import diary as diary_cli

    # date, 12 drinks, skip the hours, a stress of 9 (refused, asked again), then 3
    answers = iter(["2026-11-20", "12", "", "9", "3"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    fields = [f for f in DAY_FIELDS if f.name in ("date", "caffeine_drinks", "caffeine_last_hours_before_bed", "stress")]
    got = diary_cli.ask(fields)
    assert got == {"date": "2026-11-20", "caffeine_drinks": 12, "stress": 3}
    assert "out of range 0-5" in capsys.readouterr().out
