"""``kneeemg triage``: case files, the history database, JSON and the walk-through."""

from __future__ import annotations

import json

import pytest

from kneeemg.cli import main


CASE = {
    "profile": {"medications": ["diuretic"]},
    "diary": [{"date": "2026-11-20", "water_glasses": 2, "caffeine_drinks": 5}],
    "nights": [{"date": "2026-11-20", "usable_hours": 7.0, "twitches": 40, "spasms": 2, "cramps": 1, "longest_cramp_s": 14.0,
                "periodic_series": 0}],
}


@pytest.fixture
def case_file(tmp_path):
    path = tmp_path / "case.json"
    path.write_text(json.dumps(CASE))
    return path


def test_json_output_has_the_public_fields(case_file, capsys):
    assert main(["triage", "--case", str(case_file), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"level", "reasons", "causes", "advice", "disclaimer"}
    assert out["level"] == "see_doctor" and all(isinstance(r, str) for r in out["reasons"])
    assert [c["score"] for c in out["causes"]] == sorted((c["score"] for c in out["causes"]), reverse=True)
    assert out["causes"][0]["id"] in ("dehydration", "medication_side_effect", "stimulants")
    for c in out["causes"]:
        assert set(c) >= {"id", "score", "evidence_for", "evidence_against", "sources"}
    for a in out["advice"]:
        assert set(a) == {"text", "source"}
    assert "not a diagnosis" in out["disclaimer"]


def test_plain_and_explained_output(case_file, capsys):
    assert main(["triage", "--case", str(case_file)]) == 0
    plain = capsys.readouterr().out
    assert "Make an appointment with a doctor" in plain and "not a diagnosis" in plain and "Drug Side Effects" in plain
    assert main(["triage", "--case", str(case_file), "--explain"]) == 0
    explained = capsys.readouterr().out
    assert "prior" in explained and "log-odds" in explained and "x 3 (log +1.10)" in explained


@pytest.mark.parametrize(
    "case, message",
    [
        ({"diary": [{"date": "2026-11-20", "stress": 7}]}, "stress=7"),
        ({"nights": [{"date": "2026-11-20", "usable_hours": "seven", "twitches": 3}]}, "case.json: nights[0].usable_hours='seven'"),
        ({"nights": [{"date": "2026-11-20", "usable_hours": 7}]}, "case.json: nights[0].twitches is missing"),
        ({"profile": {"age": 300}}, "age=300"),
        ({"patient": {}}, "unknown key(s) patient"),
        ([1, 2], "expected an object"),
    ],
)
def test_a_bad_case_file_gets_one_line_naming_the_field(tmp_path, capsys, case, message):
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    assert main(["triage", "--case", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "case.json" in err


def test_missing_or_broken_case_files(tmp_path, capsys):
    assert main(["triage", "--case", str(tmp_path / "none.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["triage", "--case", str(bad)]) == 2
    assert "bad.json: not valid JSON" in capsys.readouterr().err


def test_triage_from_the_history(tmp_path, capsys):
    from kneeemg.diary import validate_day, validate_profile
    from kneeemg.store import Store

    db = tmp_path / "h.db"
    with Store(db) as s:
        s.save_profile(validate_profile({"conditions": ["arthritis"]}))
        s.save_day(validate_day({"date": "2026-11-20", "symptoms": ["fever"]}))
    assert main(["triage", "--db", str(db), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["level"] == "see_doctor_asap" and out["causes"][0]["id"] == "arthritis"
    assert main(["triage", "--db", str(db), "--nights", "0"]) == 2
