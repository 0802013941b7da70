"""The SQLite history: WAL, migrations, imports stored once, all-or-nothing writes, trends, a week of nights."""

from __future__ import annotations

import os
import re
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kneeemg.cli import main
from kneeemg.config import DetectorConfig
from kneeemg.diary import validate_day, validate_profile
from kneeemg.errors import InputError, StoreError
from kneeemg.guidance import TriageConfig
from kneeemg.metrics import night_metrics
from kneeemg.paths import DB_ENV_VAR, db_path, user_data_path
from kneeemg.simulate import simulate_night, write_simulated
from kneeemg.store import MAX_TREND_DAYS, MIGRATIONS, Store, fallback_date, import_recording, night_settings, settings_hash
from kneeemg.trends import direction
from signals import add, hand_made


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """Seven short simulated nights (three minutes each)."""
    folder = tmp_path_factory.mktemp("week")
    files = []
    for i in range(7):
        night = simulate_night(hours=0.05, n_channels=2, seed=100 + i)
        files.append(write_simulated(night, folder / f"night{i}.kemg")["recording"])
    return folder, files


def test_where_the_database_lives(tmp_path, monkeypatch):
    monkeypatch.delenv(DB_ENV_VAR, raising=False)
    assert db_path() == user_data_path() / "history.sqlite3" and "kneeemg" in str(user_data_path())
    monkeypatch.setenv(DB_ENV_VAR, str(tmp_path / "env.db"))
    assert db_path() == tmp_path / "env.db"
    assert db_path(tmp_path / "flag.db") == tmp_path / "flag.db"  # --db wins over the environment
    with Store() as s:
        assert s.path == tmp_path / "env.db"
        s.save_profile(validate_profile({"age": 40}))
    assert (tmp_path / "env.db").exists()


def test_importing_only_missing_files_makes_no_history(week, tmp_path, capsys):
    db = tmp_path / "h.db"
    assert main(["import", str(tmp_path / "missing.kemg"), "--db", str(db)]) != 0
    assert "missing.kemg does not exist" in capsys.readouterr().err and not db.exists()
    code = main(["import", str(tmp_path / "missing.kemg"), str(tmp_path / "gone.kemg"), "--db", str(db)])
    assert code != 0 and "missing.kemg does not exist" in capsys.readouterr().err
    assert not db.exists()
    assert main(["import", str(week[1][0]), "--db", str(db)]) == 0
    before = db.read_bytes()
    assert main(["import", str(tmp_path / "missing.kemg"), "--db", str(db)]) != 0
    assert db.read_bytes() == before  # an existing history stays, whatever happens


def test_a_db_that_is_one_of_the_recordings_is_refused_and_left_as_it_was(week, tmp_path, capsys, monkeypatch):
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    assert main(["import", str(empty), "--db", str(empty)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--db {empty} is one of the recordings to import; give another --db" in err
    assert empty.read_bytes() == b""  # not made an SQLite database
    rec = week[1][0]
    before = rec.read_bytes()
    assert main(["import", str(week[1][1]), str(rec), "--db", str(rec)]) == 2
    assert rec.read_bytes() == before
    monkeypatch.setenv(DB_ENV_VAR, str(empty))
    assert main(["import", str(empty)]) == 2
    assert f"${DB_ENV_VAR} {empty} is one of the recordings to import" in capsys.readouterr().err
    assert empty.read_bytes() == b""


def test_wal_foreign_keys_and_schema(tmp_path):
    with Store(tmp_path / "sub" / "h.db") as s:  # the folder is created
        assert s.version == len(MIGRATIONS)
        assert s._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s._db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        nid, _ = add(s, 5, "2026-11-01")
        s._db.execute("DELETE FROM nights WHERE id=?", (nid,))  # cascades
        assert s._db.execute("SELECT count(*) FROM events").fetchone()[0] == 0


def test_upgrade_from_version_one(tmp_path):
    path = tmp_path / "old.db"
    s = Store.__new__(Store)  # an old file: only the first migration applied
    s.path = path
    s._db = sqlite3.connect(path)
    s._db.row_factory = sqlite3.Row
    s.migrate(to=1)
    s._db.execute("INSERT INTO diary VALUES ('2026-11-01', '{\"stress\": 2, \"date\": \"2026-11-01\"}', 'then')")
    s._db.execute("INSERT INTO nights (date, source, content_hash, settings_hash, metrics, labels, recording_s, usable_s,"
                  " fs_hz, imported_at) VALUES ('2026-11-01', 'old', 'h', 's', '{}', '[]', 60, 60, 1000, 'then')")
    s._db.commit()
    assert s.version == 1
    s.close()
    with Store(path) as s:
        assert s.version == len(MIGRATIONS)
        assert s.day("2026-11-01").get("stress") == 2  # data kept across the upgrade
        assert [n.source for n in s.nights()] == ["old"] and s.epochs(s.nights()[0].id) is None
        assert s._db.execute("SELECT count(*) FROM epochs").fetchone()[0] == 0


@pytest.mark.parametrize("error", ["database or disk is full", "disk I/O error"])
def test_a_full_disk_is_named_as_such(tmp_path, monkeypatch, capsys, error):
    import shutil
    from collections import namedtuple

    db = tmp_path / "h.db"
    with Store(db) as s:
        s.save_days([validate_day({"date": "2026-11-20", "stress": 3})])

    def full(*args, **kwargs):
        raise sqlite3.OperationalError(error)

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(1000, 1000, 0))  # (SQLite's "disk I/O error" with no space left)
    monkeypatch.setattr(Store, "migrate", full)
    assert main(["nights", "--db", str(db)]) == 4
    err = capsys.readouterr().err
    assert err == f"kneeemg: error: cannot use the history database {db}: the disk is full; free some space on it and run the command again\n"
    monkeypatch.undo()
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(1000, 1000, 0))
    monkeypatch.setattr(Store, "_put_day", full)
    assert main(["diary", "--db", str(db), "--date", "2026-11-21", "--stress", "4"]) == 4
    assert "could not store the diary in" in (err := capsys.readouterr().err) and "the disk is full; free some space" in err
    assert "(nothing was changed)" in err
    monkeypatch.undo()
    with Store(db) as s:
        assert s.day("2026-11-20").as_dict()["stress"] == 3 and s.day("2026-11-21") is None


def test_a_disk_io_error_with_space_left_is_not_called_a_full_disk(tmp_path, monkeypatch, capsys):
    db = tmp_path / "h.db"
    Store(db).close()

    def failing(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(Store, "migrate", failing)
    assert main(["nights", "--db", str(db)]) == 4
    err = capsys.readouterr().err
    assert "(disk I/O error); check that it is writable" in err and "full" not in err


def test_files_that_are_not_ours_are_left_alone(tmp_path):
    bad = tmp_path / "x.db"
    bad.write_text("this is not sqlite " * 100)
    with pytest.raises(StoreError, match="not a kneeemg history database"):
        Store(bad)
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    before = other.read_bytes()
    with pytest.raises(StoreError, match="another program"):
        Store(other)
    assert other.read_bytes() == before
    newer = tmp_path / "newer.db"
    con = sqlite3.connect(newer)
    con.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    con.close()
    with pytest.raises(StoreError, match="newer kneeemg"):
        Store(newer)


def test_night_round_trip(tmp_path):
    res = hand_made(40, minutes=10, usable_minutes=8)
    with Store(tmp_path / "h.db") as s:
        nid, created = s.add_night(res, night_metrics(res, date="2026-11-02"), "hand-made", "abc")
        assert created and s.add_night(res, night_metrics(res, date="2026-11-02"), "hand-made", "abc") == (nid, False)
        n = s.night(nid)
        assert n == s.night("2026-11-02") == s.night() and n.usable_s == 480 and n.labels == ("left", "right")
        assert n.metrics["counts"]["twitch"] == 40 and n.settings == DetectorConfig().as_dict()
        assert s.events(nid) == res.events and s.leg_movements(nid) == res.leg_movements
        assert s.excluded(nid) == res.excluded
        epoch_s, flags, floor = s.epochs(nid)
        assert epoch_s == 1.0 and np.array_equal(flags, res.epoch_flags) and np.array_equal(floor, res.floor_uv)
        with pytest.raises(InputError, match="no night '2026-01-01'"):
            s.night("2026-01-01")
    with Store(tmp_path / "empty.db") as s, pytest.raises(InputError, match="no nights in .* yet"):
        s.night()


def test_a_night_stored_meanwhile_is_not_stored_twice(tmp_path):
    with Store(tmp_path / "h.db") as s:
        nid, _ = add(s, 3, "2026-11-03", key="same")
        s.find_night = lambda *a: None  # as if another process stored it after this one looked
        res = hand_made(3)
        assert s.add_night(res, night_metrics(res, date="2026-11-03"), "hand-made", "same") == (nid, False)
        del s.find_night
        assert len(s.nights()) == 1


def test_failed_import_leaves_nothing_half_written(week, tmp_path):
    _, files = week
    db = tmp_path / "h.db"
    with Store(db) as store:
        original = store._db

        class Failing:
            def __getattr__(self, name):
                return getattr(original, name)

            def executemany(self, sql, rows):
                if "INTO excluded" in sql:
                    raise sqlite3.OperationalError("disk I/O error")
                return original.executemany(sql, rows)

        store._db = Failing()
        with pytest.raises(StoreError, match="nothing was changed"):
            import_recording(store, files[1], date="2026-11-11")
        store._db = original
        assert store.nights() == []
        assert store._db.execute("SELECT count(*) FROM events").fetchone()[0] == 0
        assert import_recording(store, files[1], date="2026-11-11").created  # and it works afterwards


def test_import_settings_make_a_different_night(week, tmp_path, capsys):
    _, files = week
    with Store(tmp_path / "h.db") as s:
        a = import_recording(s, files[2])
        b = import_recording(s, files[2], channels=["left"])
        c = import_recording(s, files[2])
        assert a.created and b.created and not c.created and c.night_id == a.night_id
        assert a.date_from == "file time" and a.date is not None
        assert s.night(b.night_id).labels == ("left",) and s.night(b.night_id).settings["import_channels"] == ["left"]
        with pytest.raises(InputError, match="missing.kemg does not exist; check the path"):
            import_recording(s, tmp_path / "missing.kemg")
    db = str(tmp_path / "h2.db")
    assert main(["import", str(files[3]), str(files[4]), "--db", db]) == 0
    assert capsys.readouterr().out.count("imported as night") == 2
    assert main(["import", str(files[3]), str(files[4]), "--db", db, "--date", "2026-11-01"]) == 2
    assert "one FILE" in capsys.readouterr().err
    assert main(["import", str(files[3]), "--db", db, "--date", "2206-11-01"]) == 2
    assert "--date: date 2206-11-01 is after today" in capsys.readouterr().err


def test_a_recording_imported_again_counts_once_as_its_latest_import(week, tmp_path):
    # two imports of one file (all channels, then one) are not two parts of a night
    _, files = week
    with Store(tmp_path / "h.db") as s:
        a = import_recording(s, files[2], date="2026-11-20")
        b = import_recording(s, files[2], date="2026-11-20", channels=["left"])
        other = import_recording(s, files[3], date="2026-11-20")  # another recording of that night does count
        assert len(s.nights()) == 3  # all are kept and listed
        case = s.case_for_triage()
        assert len(case["nights"]) == 2
        hours = (s.night(b.night_id).usable_s + s.night(other.night_id).usable_s) / 3600
        assert sum(n["usable_hours"] for n in case["nights"]) == pytest.approx(hours, abs=1e-3)
        assert [t["night_ids"] for t in s.trend()] == [[b.night_id, other.night_id]]  # one night of two recordings
        with pytest.raises(InputError, match=rf"{a.night_id} \({files[2].name}, left, right.*{b.night_id} \({files[2].name}, left"):
            s.night("2026-11-20")


def test_an_import_that_replaces_another_of_its_recording_says_so_and_the_earlier_way_counts_again(week, tmp_path, capsys):
    _, files = week
    db = str(tmp_path / "h.db")
    assert main(["import", str(files[2]), "--db", db, "--date", "2026-11-20"]) == 0
    assert "same recording" not in capsys.readouterr().out
    assert main(["import", str(files[2]), "--db", db, "--date", "2026-11-20", "--channels", "left"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.rstrip().endswith(
        "imported as night 2 of 2026-11-20 into " + db + "; it replaces night 1 (left, right) of the same recording in "
        "trends and guidance (import the file again with no options to count night 1 again)")
    with Store(db) as s:
        assert [r["night_id"] for r in s.trend()] == [2] and s.counted(s.night(1).content_hash).id == 2
    assert main(["import", str(files[2]), "--db", db]) == 0  # the earlier way again: that night counts again
    assert capsys.readouterr().out.rstrip().endswith(
        "not imported again; it counts again instead of night 2 (left) of the same recording in trends and guidance "
        "(import the file again with --channels left to count night 2 again)")
    with Store(db) as s:
        assert [r["night_id"] for r in s.trend()] == [1] and [n["twitches"] for n in s.case_for_triage()["nights"]] == \
            [s.night(1).metrics["counts"]["twitch"]]
        assert [r["night_id"] for r in s.trend(own=2)] == [2]  # (the report of night 2 shows its own numbers)
    assert main(["import", str(files[2]), "--db", db]) == 0  # it counts already: nothing more to say
    assert capsys.readouterr().out.rstrip().endswith("not imported again")


def test_profile_and_days_round_trip_and_merge(tmp_path):
    with Store(tmp_path / "h.db") as s:
        s.save_profile(validate_profile({"age": 61, "medications": ["diuretic"]}))
        s.save_profile(validate_profile({"sex": "male"}), merge=True)
        assert s.profile().as_dict() == {"age": 61, "medications": ["diuretic"], "sex": "male"}
        s.save_profile(validate_profile({"age": 62}))
        assert s.profile().as_dict() == {"age": 62}
        s.save_day(validate_day({"date": "2026-11-20", "stress": 3}))
        s.save_day(validate_day({"date": "2026-11-20", "water_glasses": 2}), merge=True)
        assert s.day("2026-11-20").as_dict() == {"date": "2026-11-20", "stress": 3, "water_glasses": 2}
        s.save_day(validate_day({"date": "2026-11-20", "stress": 1}))  # replaces
        assert [d.as_dict() for d in s.days()] == [{"date": "2026-11-20", "stress": 1}]
        with pytest.raises(InputError, match="entry 2 has no date"):
            s.save_days([validate_day({"date": "2026-11-21"}), validate_day({"stress": 2})], validate_profile({"age": 1}))
        assert [d.date for d in s.days()] == ["2026-11-20"] and s.profile().get("age") == 62  # nothing stored


def test_trend_rolling_mean_and_direction(tmp_path, capsys):
    # 14 nights of 60 min: 30 twitches a night for a week, then 10
    db = tmp_path / "h.db"
    with Store(db) as s:
        for i in range(14):
            add(s, 30 if i < 7 else 10, f"2026-11-{i + 1:02d}")
        rows = s.trend(28)
        assert [r["twitch_per_hour"] for r in rows] == [30.0] * 7 + [10.0] * 7
        assert rows[7]["rolling7_twitch_per_hour"] == pytest.approx((6 * 30 + 10) / 7, abs=0.01)
        assert rows[-1]["rolling7_twitch_per_hour"] == 10.0 and rows[0]["rolling7_twitch_per_hour"] == 30.0
        assert len(s.trend(5)) == 5 and s.trend(5)[0]["date"] == "2026-11-10"
        assert direction(rows).startswith("Fewer twitches: 10.0 an hour over the last 7 nights, against 30.0")
        assert direction(rows[:6]).startswith("Too few nights")
        # the message's count is the rule's: 10 nights are too few, 11 are enough
        assert direction(rows[:10]).startswith("Too few nights for a trend yet (10 with a rate; a trend needs 11 or more")
        assert not direction(rows[:11]).startswith("Too few")
        with pytest.raises(InputError, match="--days"):
            s.trend(0)
    assert main(["trends", "--db", str(db), "--days", "14"]) == 0
    out = capsys.readouterr().out
    assert "2026-11-14" in out and "Fewer twitches" in out
    # the direction is that of the last 14 nights, whatever --days shows
    assert main(["trends", "--db", str(db), "--days", "5"]) == 0
    out = capsys.readouterr().out
    assert "2026-11-09" not in out and "Fewer twitches: 10.0 an hour over the last 7 nights, against 30.0" in out


def _quiet_nights_some_cut_short(db):
    """20 one-hour nights of 0 or 1 twitch, every third one cut short at 12 minutes (10 to 17 twitches)."""
    with Store(db) as s:
        for i in range(20):
            if i % 3 == 2:
                add(s, 10 + (i * 7) % 8, f"2026-10-{i + 1:02d}", seed=i, minutes=12)
            else:
                add(s, i % 2, f"2026-10-{i + 1:02d}", seed=i)


def test_nights_too_short_to_give_a_rate_are_listed_without_one(tmp_path, capsys):
    # a quiet person (1-hour nights, 0 or 1 twitch) with every third night cut short at 12 minutes
    # (10 to 17 twitches: 50 to 85 an hour); those had made 7-night means of 16 to 32 an hour
    db = tmp_path / "h.db"
    _quiet_nights_some_cut_short(db)
    with Store(db) as s:
        rows = s.trend(28)
    short = [r for r in rows if r["usable_hours"] < 1]
    assert len(short) == 6 and all(r["twitch_per_hour"] is None and r["twitches"] >= 10 for r in short)
    assert max(r["rolling7_twitch_per_hour"] for r in rows if r not in short) <= 1.0
    assert all(r["rolling7_twitch_per_hour"] is None for r in short)  # no rate, no mean: shown as "-", "-"
    assert direction(rows).endswith("(6 nights with less than 1 usable hour each are too short to give a rate and are "
                                    "left out of this comparison.)")
    assert main(["trends", "--db", str(db), "--days", "7"]) == 0
    out = capsys.readouterr().out
    assert "2 nights with less than 1 usable hour each are too short to give a rate and are shown with - and left out" in out
    assert main(["nights", "--db", str(db)]) == 0  # neither a twitch rate nor a PLM index for those
    lines = capsys.readouterr().out.splitlines()
    head = re.split(r"\s{2,}", next(line for line in lines if "usable h" in line).strip())  # (cells two spaces apart)
    rows = [re.split(r"\s{2,}", line.strip()) for line in lines if re.match(r"\s*\d+\s+\d{4}-\d\d-\d\d\s", line)]
    usable, per_h, plm = (head.index(c) for c in ("usable h", "per h", "PLM/h"))
    assert len(rows) == 20 and sum(row[plm] == "-" for row in rows) == 6
    for row in rows:
        assert (row[per_h] == "-") == (row[plm] == "-") == (float(row[usable]) < 1), row


def test_the_7_night_mean_is_the_direction_words_last_7_nights(tmp_path):
    # a short last night showed "-" with a mean of 37.8 while the words said 39.1 over the last
    # 7 nights; a 2-channel night was averaged with 1-channel ones
    from kneeemg.trends import direction

    with Store(tmp_path / "h.db") as s:
        for day in range(1, 16):
            add(s, 20 + 3 * day, f"2026-11-{day:02d}", seed=day)
        add(s, 40, "2026-11-16", seed=16, minutes=20)  # too short to give a rate
        rows = s.trend(28)
    assert rows[-1]["twitch_per_hour"] is None and rows[-1]["rolling7_twitch_per_hour"] is None
    last7 = rows[-2]["rolling7_twitch_per_hour"]
    assert last7 == pytest.approx(np.mean([20 + 3 * d for d in range(9, 16)]))
    assert f"{last7:.1f} an hour over the last 7 nights" in direction(rows)


def test_forgetting_nights_removes_them_whole_all_or_none_and_import_brings_them_back(tmp_path, capsys):
    db = tmp_path / "h.db"
    with Store(db) as s:
        add(s, 40, "2026-11-09", seed=1)
        add(s, 30, "2026-11-10", key="first-file", seed=2)
        add(s, 12, "2026-11-10", key="second-file", seed=3)
        add(s, 5, "2026-11-11", seed=4)

    def rows():
        with sqlite3.connect(db) as con:
            return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("nights", "events", "excluded", "epochs")}

    before = rows()
    assert before == {"nights": 4, "events": 40 + 30 + 12 + 5 + 4, "excluded": 0, "epochs": 4}
    # refused whole: an id that is not there, a date of two nights, nothing named, "latest"
    for keys, match in (([1, 9], "no night 9 in"), (["2026-11-10"], "2 nights have the date 2026-11-10 .*: 2 .*, 3 "),
                        ([], "name each night to forget"), (["latest"], "name each night to forget")):
        with Store(db) as s, pytest.raises(InputError, match=match):
            s.forget_nights(keys)
    assert rows() == before
    with Store(db) as s:
        gone = s.forget_nights([3, "2026-11-09", "3"])
        assert [n.id for n in gone] == [3, 1] and [n.id for n in s.nights()] == [2, 4]
    assert rows() == {"nights": 2, "events": 30 + 1 + 5 + 1, "excluded": 0, "epochs": 2}  # (each night has one leg movement)
    with Store(db) as s:  # stored again: a new night, as if never stored
        _, created = add(s, 40, "2026-11-09", seed=1)
        assert created and [n.date for n in s.nights()] == ["2026-11-09", "2026-11-10", "2026-11-11"]
    # the command: each night named, then the list of the others; a bad key changes nothing
    assert main(["nights", "--db", str(db), "--forget", "2026-11-11"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("forgot night 4 of 2026-11-11 (hand-made); the recording itself is untouched, and `kneeemg "
                          "import` of it brings the night back")
    assert [n.id for n in Store(db, create=False).nights()] == [5, 2]
    assert main(["nights", "--db", str(db), "--forget", "4"]) == 2
    assert "kneeemg: error: no night '4' in" in capsys.readouterr().err
    # an id beyond SQLite's integers, and a digit that is not a decimal one, are ids that are not there
    for key in ("1" + "0" * 30, "9" * 5000, "\u00b2"):  # (5000 digits: more than Python turns into an int)
        assert main(["nights", "--db", str(db), "--forget", key]) == 2
        assert capsys.readouterr().err == f"kneeemg: error: no night '{key}' in {db}; `kneeemg nights` lists them\n"
        assert main(["report", key, "--db", str(db), "--out", str(tmp_path / "r.html")]) == 2
        assert capsys.readouterr().err.startswith(f"kneeemg: error: no night '{key}' in")
    assert [n.id for n in Store(db, create=False).nights()] == [5, 2]


def test_nights_and_trends_say_which_recordings_of_a_date_are_one_night(tmp_path, capsys):
    # a night in two files (60 and 24 minutes): `kneeemg nights` listed the second as too short to
    # give a rate ("2 nights with less than 1 usable hour") and the first with its own rate,
    # while trends, triage and the reports count the date once, with a rate over both files
    db = tmp_path / "h.db"
    with Store(db) as s:
        add(s, 40, "2026-11-09", seed=1)
        add(s, 30, "2026-11-10", key="first-file", seed=2)
        add(s, 12, "2026-11-10", key="second-file", seed=3, minutes=24)
        add(s, 5, "2026-11-11", key="short", seed=4, minutes=30)
    together = "2026-11-10 is 2 recordings (nights 2 and 3), one night in trends and guidance: 42 twitches in 1.4 usable hours, 30.0 an hour."
    assert main(["nights", "--db", str(db)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "2 nights with less than 1 usable hour each are too short to give a rate and are shown with -." in out
    assert together in out
    assert main(["trends", "--db", str(db)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "1 night with less than 1 usable hour is too short" in out and together in out


def test_trends_set_min_usable_hours_as_triage_and_report(tmp_path, capsys):
    # trends had no --set: a min_usable_hours set for triage and report left its rates, means and
    # direction on the default 1 hour
    from kneeemg.guidance import TriageConfig
    from kneeemg.trends import store_direction

    db = tmp_path / "h.db"
    _quiet_nights_some_cut_short(db)
    assert main(["trends", "--db", str(db), "--days", "7"]) == 0
    default = capsys.readouterr().out
    assert "2 nights with less than 1 usable hour each are too short" in default
    assert main(["trends", "--db", str(db), "--days", "7", "--set", "min_usable_hours=0.1"]) == 0
    low = capsys.readouterr().out
    with Store(db, create=False) as s:
        config = TriageConfig(min_usable_hours=0.1)
        rows = s.trend(7, config=config)
        words, default_words = store_direction(s, config=config), store_direction(s)
    assert all(r["twitch_per_hour"] is not None for r in rows) and "too short" not in low
    assert " ".join(words.split()) in " ".join(low.split()) and words != default_words
    short = next(x for x in low.splitlines() if "2026-10-18" in x)  # 17 twitches in 12 minutes
    assert "85.0" in short
    assert main(["trends", "--db", str(db), "--days", "7", "--set", "min_usable_hours=2"]) == 0
    high = " ".join(capsys.readouterr().out.split())
    assert "7 nights with less than 2 usable hours each are too short to give a rate" in high
    assert "Too few nights for a trend yet (0 with a rate" in high
    # the other thresholds are taken as triage and report take them, and change nothing here
    assert main(["trends", "--db", str(db), "--days", "7", "--set", "frequent_rate_per_h=15"]) == 0
    assert capsys.readouterr().out == default


@pytest.mark.parametrize("setting, named", [("min_usable=1", "did you mean min_usable_hours?"),
                                            ("min_usable_hours", "'min_usable_hours' is not NAME=VALUE"),
                                            ("min_usable_hours=abc", "min_usable_hours must be a number (got 'abc')"),
                                            ("min_usable_hours=-1", "min_usable_hours=-1.0 must be a finite number, 0 or more")])
def test_trends_bad_setting_is_one_line(tmp_path, capsys, setting, named):
    db = tmp_path / "h.db"
    _quiet_nights_some_cut_short(db)
    assert main(["trends", "--db", str(db), "--set", setting]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("kneeemg: error: ") and named in captured.err and captured.err.count("\n") == 1
    assert not captured.out
    assert main(["trends", "--db", str(tmp_path / "none.db"), "--set", setting]) == 2
    assert named in capsys.readouterr().err and not (tmp_path / "none.db").exists()


def test_rolling_mean_does_not_depend_on_the_days_shown(tmp_path, capsys):
    # rates 10, 20, ..., 160 on 16 nights: the mean of 2026-11-16 is that of 100..160 whatever --days is
    db = tmp_path / "h.db"
    with Store(db) as s:
        for i in range(16):
            add(s, 10 * (i + 1), f"2026-11-{i + 1:02d}")
        full = {r["date"]: r["rolling7_twitch_per_hour"] for r in s.trend(28)}
        for days in (1, 3, 5, 10):
            rows = s.trend(days)
            assert len(rows) == days and {r["date"]: r["rolling7_twitch_per_hour"] for r in rows}.items() <= full.items()
        assert full["2026-11-16"] == 130.0 and full["2026-11-03"] == 20.0
    assert main(["trends", "--db", str(db), "--days", "5"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "2026-11-16" in x and "days up to" not in x)
    assert "130.0" in line
    assert main(["trends", "--db", str(db), "--days", "1"]) == 0
    assert "The 1 day up to the latest night, 2026-11-16" in capsys.readouterr().out


def test_trend_and_case_up_to_a_date_leave_later_nights_out(tmp_path):
    with Store(tmp_path / "h.db") as s:
        for i in range(20):
            add(s, 12 if i < 16 else 40, f"2026-11-{i + 1:02d}")
        s.save_days([validate_day({"date": "2026-11-02", "stress": 4}), validate_day({"date": "2026-11-15", "stress": 1}),
                     validate_day({"date": "2026-11-16", "caffeine_drinks": 5})])
        case = s.case_for_triage(14, until="2026-11-15")
        assert [n["date"] for n in case["nights"]] == [f"2026-11-{i:02d}" for i in range(2, 16)]
        assert [d["date"] for d in case["diary"]] == ["2026-11-02", "2026-11-15"]
        assert [n["date"] for n in s.case_for_triage(3, until="2026-11-15")["nights"]] == ["2026-11-13", "2026-11-14", "2026-11-15"]
        rows = s.trend(14, until="2026-11-15")
        assert [r["date"] for r in rows] == [f"2026-11-{i:02d}" for i in range(2, 16)]
        assert all(r["rolling7_twitch_per_hour"] == 12.0 for r in rows)  # the 40s after it count nowhere
        assert direction(rows).startswith("About the same as before: 12.0")
        assert s.trend(14)[-1]["date"] == "2026-11-20" and len(s.case_for_triage(14)["nights"]) == 14
        assert [d.date for d in s.days(since="2026-11-03", until="2026-11-15")] == ["2026-11-15"]
        with pytest.raises(InputError, match="YYYY-MM-DD"):
            s.trend(14, until="15 Nov")


def test_fs_counts_only_for_a_recording_without_a_rate_of_its_own(week, tmp_path, capsys):
    _, files = week
    db = str(tmp_path / "h.db")
    for fs in (None, "500", "700"):  # a .kemg file has its own rate: --fs is not used, and makes no other night
        assert main(["import", str(files[5]), "--db", db, *(["--fs", fs] if fs else [])]) == 0
        out = capsys.readouterr().out
        if fs:
            assert "not imported again" in out
            assert f"note: --fs {fs} was not used: {files[5]} gives its own sampling rate (1000 Hz)" in out
    from kneeemg.io import gives_own_rate

    rng = np.random.default_rng(3)
    x = rng.normal(0.0, 3.0, (15_000, 2))
    untimed, timed = tmp_path / "untimed.csv", tmp_path / "timed.csv"
    untimed.write_text("left,right\n" + "".join(f"{a:.3f},{b:.3f}\n" for a, b in x))
    timed.write_text("time,left,right\n" + "".join(f"{i / 1000:.3f},{a:.3f},{b:.3f}\n" for i, (a, b) in enumerate(x)))
    assert gives_own_rate(files[5]) and gives_own_rate(timed) and not gives_own_rate(untimed)
    for fs in ("1000", "1000", "800"):  # the untimed CSV uses --fs: another rate is another night
        assert main(["import", str(untimed), "--db", db, "--fs", fs]) == 0
    for fs in (None, "800"):
        assert main(["import", str(timed), "--db", db, *(["--fs", fs] if fs else [])]) == 0
    out = capsys.readouterr().out
    assert out.count("imported as night") == 3 and out.count("not imported again") == 2
    assert f"note: --fs 800 was not used: {timed} gives its own sampling rate (1000 Hz)" in out
    # (the other notes say that the CSVs, dated by their files' time, are recordings of the .kemg file's date)
    assert "note: --fs 1000" not in out and out.count("note: --fs") == 1
    with Store(db) as s:
        nights = s.nights()
        assert len(nights) == 4
        assert sorted(n.settings.get("import_fs_hz") for n in nights if "import_fs_hz" in n.settings) == [800.0, 1000.0]


@pytest.mark.parametrize("days", ["0", "-3", "1000000"])
def test_trends_days_out_of_range_is_one_line_in_the_options_words(tmp_path, capsys, days):
    db = tmp_path / "h.db"
    with Store(db) as s:
        add(s, 5, "2026-11-01")
    assert main(["trends", "--db", str(db), "--days", days]) == 2  # 1000000 days back used to crash (date overflow)
    err = capsys.readouterr().err
    assert err.startswith("kneeemg: error: ") and err.count("\n") == 1
    assert f"--days={days}" in err and f"from 1 to {MAX_TREND_DAYS}" in err and "last_days" not in err
    assert main(["trends", "--db", str(db), "--days", str(MAX_TREND_DAYS)]) == 0


def test_a_count_too_large_for_a_float_is_still_a_whole_number(tmp_path, capsys):
    db = tmp_path / "h.db"
    with Store(db) as s:
        add(s, 5, "2026-11-01")
    assert main(["trends", "--db", str(db), "--days", "1" + "0" * 30]) == 2  # (it crashed: int too large to convert to float)
    assert "is out of range; give a whole number of days from 1 to" in capsys.readouterr().err
    assert main(["triage", "--db", str(db), "--nights", "1" + "0" * 30]) == 0


@pytest.mark.parametrize("command", [["trends", "--days", "2.5"], ["triage", "--nights", "x"]])
def test_a_count_that_is_not_a_whole_number_is_one_line(tmp_path, capsys, command):
    with pytest.raises(SystemExit) as info:
        main([*command, "--db", str(tmp_path / "h.db")])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1 and f"'{command[2]}' is not a whole number" in err
    assert "invalid int value" not in err and not (tmp_path / "h.db").exists()


def test_recording_another_night_never_drops_a_recent_warning_sign(tmp_path):
    from kneeemg.guidance import triage

    with Store(tmp_path / "h.db") as s:
        s.save_days([validate_day({"date": "2026-10-01", "symptoms": ["chills"]}),  # 55 days before: too old
                     validate_day({"date": "2026-11-20", "symptoms": ["weakness", "fever"]})])
        before = s.case_for_triage(until="2026-11-24")
        add(s, 5, "2026-11-25")
        case = s.case_for_triage(until="2026-11-25")
        # the last 28 days, though before the first night; of the days before, the symptoms
        assert case["diary"] == [{"date": "2026-10-01", "symptoms": ["chills"]},
                                 {"date": "2026-11-20", "symptoms": ["fever", "weakness"]}]
        assert triage(**before).level == triage(**case).level == "see_doctor_asap"
        for i in range(30):
            add(s, 5, f"2026-12-{i + 1:02d}" if i < 31 else None)
        late = s.case_for_triage(until="2026-12-30")  # the fever is more than 28 days before: only named in a note
        assert [d["date"] for d in late["diary"]] == ["2026-10-01", "2026-11-20"]
        result = triage(**late, today=date(2026, 12, 30), symptoms_until=date(2026, 12, 30))
        assert result.level != "see_doctor_asap" and any("Earlier in your diary" in n and "fever" in n for n in result.notes)


def _history_level(store, until):
    from kneeemg.guidance import LEVELS, triage

    return LEVELS.index(triage(**store.case_for_triage(until=until), today=date.fromisoformat(until)).level)


def test_another_twitching_night_never_lowers_the_history_level(tmp_path):
    # a night every 3 days, twitching on three of the first (a persistent stretch) and quiet
    # since; then one more twitching night. The last 14 nights by count would drop the
    # stretch's first night, and with it the level; the window of days keeps it.
    from kneeemg.guidance import triage

    with Store(tmp_path / "h.db") as s:
        for i in range(14):
            add(s, 20 if i in (0, 2, 5) else 0, (date(2026, 10, 17) + timedelta(days=3 * i)).isoformat())
        before = _history_level(s, "2026-11-29")
        add(s, 20, "2026-11-28")
        assert before == _history_level(s, "2026-11-29") == 2  # see_doctor
        assert triage(**s.case_for_triage(14, until="2026-11-29")).level == "monitor"  # (the last 14 alone)
        # nights older than history_days are not read, unless none is newer
        assert [n["date"] for n in s.case_for_triage(until="2027-01-20")["nights"]] == ["2026-11-28"]
        assert len(s.case_for_triage(until="2027-03-01")["nights"]) == 15  # the 56 days up to the latest night
        four_weeks = s.case_for_triage(until="2027-03-01", config=TriageConfig(history_days=28))["nights"]
        assert [n["date"] for n in four_weeks][:2] == ["2026-11-01", "2026-11-04"] and len(four_weeks) == 10


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 80), st.sampled_from([0, 9, 20])), min_size=1, max_size=10, unique_by=lambda t: t[0]),
       st.integers(0, 55), st.sampled_from([9, 20]))
def test_a_twitching_night_in_the_window_never_lowers_the_history_level(tmp_path_factory, nights, new_day, new_rate):
    # the law of docs/guidance.md for the history: another twitching night never lowers the
    # level, while a night lies within history_days (56) of the day of the triage
    assume(any(d <= 55 for d, _ in nights) and new_day not in {d for d, _ in nights})
    until = date(2026, 11, 29)
    with Store(tmp_path_factory.mktemp("law") / "h.db") as s:
        for d, rate in nights:
            add(s, rate, (until - timedelta(days=d)).isoformat())
        before = _history_level(s, until.isoformat())
        add(s, new_rate, (until - timedelta(days=new_day)).isoformat())
        assert _history_level(s, until.isoformat()) >= before


def test_list_fields_noted_one_at_a_time_are_all_kept(tmp_path, capsys):
    db = str(tmp_path / "h.db")
    assert main(["diary", "--db", db, "--date", "2026-11-26", "--symptoms", "fever"]) == 0
    assert main(["diary", "--db", db, "--date", "2026-11-26", "--symptoms", "tingling", "--stress", "2"]) == 0
    assert "--symptoms now holds fever, tingling" in capsys.readouterr().out
    assert main(["diary", "--db", db, "--profile", "--medications", "diuretic"]) == 0
    assert main(["diary", "--db", db, "--profile", "--medications", "statin", "--age", "50"]) == 0
    with Store(db) as s:
        assert s.day("2026-11-26").get("symptoms") == ["fever", "tingling"] and s.day("2026-11-26").get("stress") == 2
        assert s.profile().get("medications") == ["diuretic", "statin"]
    assert main(["diary", "--db", db, "--date", "2026-11-26", "--symptoms", "tingling", "--replace"]) == 0
    with Store(db) as s:
        assert s.day("2026-11-26").as_dict() == {"date": "2026-11-26", "symptoms": ["tingling"]}


def test_case_for_triage_is_what_the_guidance_reads(tmp_path):
    from kneeemg.guidance.classifier import validate_case

    with Store(tmp_path / "h.db") as s:
        for i in range(16):
            add(s, 12, f"2026-11-{i + 1:02d}", usable_minutes=30)
        s.save_days([validate_day({"date": "2026-10-01", "stress": 4}), validate_day({"date": "2026-11-16", "caffeine_drinks": 5})],
                    validate_profile({"age": 40}))
        case = s.case_for_triage(14)
        assert [n["date"] for n in case["nights"]] == [f"2026-11-{i:02d}" for i in range(3, 17)]
        assert case["diary"] == [{"date": "2026-11-16", "caffeine_drinks": 5}] and case["profile"] == {"age": 40}
        night = case["nights"][0]
        assert night["usable_hours"] == 0.5 and night["twitches"] == 12 and night["twitch_rate_per_hour"] == 24.0
        assert night["twitches_left"] + night["twitches_right"] == 12 and night["plm_index_thigh"] == 0.0
        profile, days, nights = validate_case(case)
        assert len(nights) == 14 and profile == {"age": 40} and len(days) == 1


def test_week_of_nights_import_store_trends(week, tmp_path, capsys):
    folder, files = week
    db = tmp_path / "h.db"
    for i, f in enumerate(files):
        assert main(["import", str(f), "--db", str(db), "--date", f"2026-11-{10 + i:02d}"]) == 0
        assert main(["diary", "--db", str(db), "--date", f"2026-11-{10 + i:02d}", "--caffeine-drinks", str(i % 4),
                     "--water-glasses", "5"]) == 0
    assert main(["import", str(files[0]), "--db", str(db), "--date", "2026-11-10"]) == 0  # again
    assert "not imported again" in capsys.readouterr().out
    with Store(db) as store:
        nights = store.nights()
        assert len(nights) == 7 and [n.date for n in nights] == [f"2026-11-{10 + i:02d}" for i in range(7)]
        n0 = nights[0]
        events = store.events(n0.id)
        assert len(events) == n0.metrics["counts"]["twitch"] + n0.metrics["counts"]["spasm"] + n0.metrics["counts"]["cramp"]
        assert store.epochs(n0.id)[1].shape[1] == 2
        assert Path(n0.source) == Path(files[0]).resolve() and n0.version
        trend = store.trend(28)
        # three-minute nights are too short to give a rate: listed with their counts, without one
        assert len(trend) == 7 and all(r["twitch_per_hour"] is None and r["twitches"] is not None for r in trend)
        case = store.case_for_triage()
        assert len(case["nights"]) == 7 and len(case["diary"]) == 7 and case["diary"][3]["caffeine_drinks"] == 3
    assert main(["nights", "--db", str(db)]) == 0
    assert main(["trends", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "2026-11-16" in out and "Too few nights" in out and "7 nights with less than 1 usable hour each" in out
    report = tmp_path / "week.html"
    assert main(["report", "--db", str(db), "--out", str(report)]) == 0
    html = report.read_text()
    assert "Your night of 2026-11-16" in html and "The nights of the 14 days up to this one" in html and "caffeinated drinks" in html


def test_commands_on_an_empty_history(tmp_path, capsys):
    db = str(tmp_path / "h.db")
    with Store(db) as s:  # a profile, no night imported yet
        s.save_profile(validate_profile({"age": 40}))
    assert main(["nights", "--db", db]) == 0 and main(["trends", "--db", db]) == 0
    assert capsys.readouterr().out.count("No nights") == 2
    empty = tmp_path / "empty.db"
    empty.touch()  # an empty file reads as an empty history and stays empty
    assert main(["nights", "--db", str(empty)]) == 0 and main(["trends", "--db", str(empty)]) == 0
    assert capsys.readouterr().out.count("No nights") == 2 and empty.stat().st_size == 0
    (tmp_path / "adir").mkdir()
    assert main(["nights", "--db", str(tmp_path / "adir")]) == 4  # a folder, not a file
    assert "history database" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["nights"], ["trends"], ["triage"], ["triage", "--json"]])
def test_reading_commands_never_create_a_database(tmp_path, capsys, monkeypatch, command):
    monkeypatch.delenv(DB_ENV_VAR, raising=False)
    for missing in (tmp_path / "typo.db", tmp_path / "no" / "such" / "folder" / "h.db"):
        assert main([*command, "--db", str(missing)]) == 4
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("kneeemg: error: ")
        assert f"{missing} does not exist" in err and "kneeemg import FILE" in err and "--db" in err
        assert not missing.exists() and not (tmp_path / "no").exists()
    monkeypatch.setenv(DB_ENV_VAR, str(tmp_path / "env.db"))
    assert main(command) == 4
    assert "$KNEEEMG_DB" in capsys.readouterr().err and not (tmp_path / "env.db").exists()
    monkeypatch.delenv(DB_ENV_VAR)
    monkeypatch.setattr("kneeemg.paths.user_data_path", lambda: tmp_path / "data" / "kneeemg")
    assert main(command) == 0  # the default place before the first import: no nights yet, nothing created
    out = capsys.readouterr().out
    assert ("No nights" in out) if command[0] != "triage" else out
    assert not (tmp_path / "data").exists()


def test_store_create_false_reads_an_existing_file_and_never_makes_one(tmp_path, monkeypatch):
    monkeypatch.delenv(DB_ENV_VAR, raising=False)
    with pytest.raises(StoreError, match="does not exist; import a night first with `kneeemg import FILE`, or check --db"):
        Store(tmp_path / "sub" / "h.db", create=False)
    assert list(tmp_path.iterdir()) == []
    with Store(tmp_path / "h.db") as s:
        add(s, 4, "2026-11-02")
    with Store(tmp_path / "h.db", create=False) as s:
        assert s.exists and [n.date for n in s.nights()] == ["2026-11-02"]
    monkeypatch.setattr("kneeemg.paths.user_data_path", lambda: tmp_path / "data")
    with Store(create=False) as s:  # the default place, nothing there yet
        assert not s.exists and s.nights() == [] and s.path == tmp_path / "data" / "history.sqlite3"
        with pytest.raises(InputError, match="no nights in .* yet; import one"):
            s.night()
    assert not (tmp_path / "data").exists()


def test_nights_stored_by_batch_get_the_date_import_would_give(week, tmp_path, capsys):
    _, files = week
    db = tmp_path / "b.db"
    assert main(["batch", str(files[0]), str(files[1]), "--out", str(tmp_path / "bo"), "--workers", "1", "--db", str(db)]) == 0
    capsys.readouterr()
    with Store(db, create=False) as s:
        nights = s.nights()
        assert len(nights) == 2 and all(n.date for n in nights)
        assert all(n.metrics["date"] == n.date for n in nights)
        by_source = {Path(n.source): n.date for n in nights}
        assert sum(len(r.get("night_ids", [r["night_id"]])) for r in s.trend(28)) == 2
    with Store(tmp_path / "i.db") as s:  # the same fallback as import: the file's time minus the recording's length
        for f in files[:2]:
            out = import_recording(s, f)
            assert out.date_from == "file time" and out.date == by_source[Path(f).resolve()]
    assert main(["trends", "--db", str(db)]) == 0
    assert "No nights" not in capsys.readouterr().out
    assert main(["import", str(files[0]), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "already in the history as night" in out and by_source[Path(files[0]).resolve()] in out and "None" not in out


def test_a_night_stored_without_a_date_gets_one_and_never_shows_none(week, tmp_path, capsys):
    _, files = week
    db = tmp_path / "h.db"
    with Store(db) as s:
        res = hand_made(3, minutes=5)
        nid, _ = s.add_night(res, night_metrics(res), str(files[5]), "no-date")  # no date, no start time: the file's time
        expected = fallback_date(None, res.recording_s, files[5])
        assert expected[1] == "file time" and s.night(nid).date == expected[0]
        first = import_recording(s, files[6], date="2026-11-05")
        s._db.execute("UPDATE nights SET date=NULL WHERE id=?", (first.night_id,))  # as an older kneeemg left it
        s._db.commit()
    assert main(["import", str(files[6]), "--db", str(db), "--date", "2026-11-07"]) == 0
    out = capsys.readouterr().out
    assert "had no date: now dated 2026-11-07" in out and "None" not in out
    assert main(["import", str(files[6]), "--db", str(db)]) == 0  # without --date, a stored date stays
    assert "night 2 of 2026-11-07; not imported again" in capsys.readouterr().out
    assert main(["import", str(files[6]), "--db", str(db), "--date", "2026-11-09"]) == 0  # the person's date wins
    assert "night 2; its date is now 2026-11-09 (was 2026-11-07)" in capsys.readouterr().out
    with Store(db) as s:
        assert s.night(2).date == "2026-11-09" and s.night(2).metrics["date"] == "2026-11-09"
        assert not s.set_date(2, "2026-01-01")  # only a missing date is filled in without being asked
        assert s.set_date(2, "2026-01-01", only_if_missing=False) and s.night(2).date == "2026-01-01"


def test_fallback_date_start_time_then_file_time_then_now(tmp_path):
    from datetime import datetime

    assert fallback_date("2026-11-20T23:30:00", 3600) == ("2026-11-20", "start time")
    assert fallback_date(datetime(2026, 11, 21, 2, 0), 3600) == ("2026-11-20", "start time")  # after midnight: the evening before
    f = tmp_path / "x.kemg"
    f.write_bytes(b"x")
    stamp = datetime(2026, 11, 21, 7, 0).timestamp()
    os.utime(f, (stamp, stamp))
    assert fallback_date(None, 8 * 3600, f) == ("2026-11-20", "file time")  # ended 07:00 after 8 h: began 23:00
    assert fallback_date(None, 3600, None, mtime=stamp) == ("2026-11-20", "file time")
    assert fallback_date(None, 60, tmp_path / "gone.kemg")[1] == "import time"


def test_import_goes_on_after_a_bad_file_and_fails_at_the_end(week, tmp_path, capsys):
    _, files = week
    db = tmp_path / "h.db"
    empty = tmp_path / "empty.kemg"
    empty.write_bytes(b"")
    code = main(["import", str(files[0]), str(empty), str(files[1]), str(tmp_path / "missing.kemg"), "--db", str(db)])
    assert code == 2
    captured = capsys.readouterr()
    assert captured.out.count("imported as night") == 2
    err = captured.err.splitlines()
    assert len(err) == 3 and all(line.startswith("kneeemg: error: ") for line in err)
    assert "empty.kemg" in err[0] and "skipped" in err[0] and "missing.kemg" in err[1] and "skipped" in err[1]
    assert "2 of 4 files could not be imported" in err[2] and "empty.kemg" in err[2] and "missing.kemg" in err[2]
    assert "kneeemg import" in err[2]
    with Store(db, create=False) as s:
        assert [Path(n.source) for n in s.nights()] == [Path(files[0]).resolve(), Path(files[1]).resolve()]
    assert main(["import", str(empty), "--db", str(db)]) == 2  # one file: its own one-line error, as before
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "empty.kemg" in err and "skipped" not in err


def test_importing_a_moved_recording_updates_its_stored_path(week, tmp_path, capsys):
    import shutil

    _, files = week
    db = tmp_path / "h.db"
    a, b = tmp_path / "mvA.kemg", tmp_path / "mvB.kemg"
    shutil.copy(files[2], a)
    assert main(["import", str(a), "--db", str(db), "--date", "2026-11-10"]) == 0
    assert main(["import", str(a), "--db", str(db), "--channels", "left"]) == 0  # the same content, other settings
    a.rename(b)
    capsys.readouterr()
    assert main(["import", str(b), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "night 1 of 2026-11-10" in out and f"instead of {a.resolve()}" in out
    with Store(db, create=False) as s:
        assert [n.source for n in s.nights()] == [str(b.resolve())] * 2 and len(s.nights()) == 2
    assert main(["import", str(b), "--db", str(db)]) == 0
    again = capsys.readouterr().out
    assert "not imported again" in again and "instead of" not in again
    report = tmp_path / "r.html"
    assert main(["report", "1", "--db", str(db), "--out", str(report)]) == 0
    assert "is no longer there" not in report.read_text()  # the traces are found at the new path
    copy = tmp_path / "copy.kemg"
    shutil.copy(b, copy)  # a copy while the stored file is still there: the stored path stays
    assert main(["import", str(copy), "--db", str(db)]) == 0
    assert "instead of" not in capsys.readouterr().out
    with Store(db, create=False) as s:
        assert {n.source for n in s.nights()} == {str(b.resolve())}


def test_a_wfdb_record_named_by_header_or_data_is_one_night(tmp_path, capsys):
    import numpy as np
    import wfdb

    x = np.random.default_rng(7).normal(0.0, 0.005, (3000, 1))  # mV
    wfdb.wrsamp("rec", fs=1000, units=["mV"], sig_name=["VM"], p_signal=x, fmt=["16"], write_dir=str(tmp_path))
    db = tmp_path / "h.db"
    assert main(["import", str(tmp_path / "rec.hea"), "--db", str(db), "--date", "2026-11-20"]) == 0
    assert main(["import", str(tmp_path / "rec.dat"), "--db", str(db)]) == 0
    assert "already in the history as night 1" in capsys.readouterr().out
    with Store(db, create=False) as s:
        assert len(s.nights()) == 1


def test_a_history_that_cannot_be_written_is_still_read(week, tmp_path, monkeypatch, capsys):
    import kneeemg.store as store_module

    _, files = week
    db = tmp_path / "h.db"
    assert main(["import", str(files[0]), str(files[1]), "--db", str(db)]) == 0
    copy = tmp_path / "backup.db"
    with Store(db, create=False) as s:
        n_nights = len(s.nights())
        s._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    copy.write_bytes(db.read_bytes())
    before = copy.read_bytes()
    monkeypatch.setattr(store_module.os, "access", lambda p, mode: False)  # as on read-only media
    with Store(copy, create=False) as s:
        assert s.read_only and len(s.nights()) == n_nights
    capsys.readouterr()
    assert main(["nights", "--db", str(copy)]) == 0 and "night1.kemg" in capsys.readouterr().out.replace("\n", "")
    assert copy.read_bytes() == before and not Path(str(copy) + "-wal").exists()


@pytest.mark.parametrize("bad", ["2026-11-5", "banana", 20261120, "20261120"])
def test_a_date_that_is_not_one_is_refused_before_anything_is_stored(week, tmp_path, bad):
    db = tmp_path / "h.db"
    with Store(db) as s:
        with pytest.raises(InputError, match="is not a date; give it as YYYY-MM-DD"):
            import_recording(s, week[1][0], date=bad)
        with pytest.raises(InputError, match="is after today"):
            import_recording(s, week[1][0], date="2999-01-01")
        assert s.nights() == []
        import_recording(s, week[1][0], date="2026-11-05")
        assert [r["date"] for r in s.trend(MAX_TREND_DAYS)] == ["2026-11-05"]
    res = hand_made(3)
    with pytest.raises(InputError, match="is not a date"):
        night_metrics(res, date=bad)
    with pytest.raises(InputError, match="start_time='23:00' is not a datetime"):
        night_metrics(res, start_time="23:00")


def test_the_same_channels_chosen_another_way_are_the_same_night(week, tmp_path, capsys):
    db = str(tmp_path / "h.db")
    rec = str(week[1][0])  # channels left and right
    assert main(["import", rec, "--db", db, "--channels", "left", "right"]) == 0
    for other in (["LEFT", "Right"], ["0", "1"], None):  # all of them, in order: the night without a choice
        assert main(["import", rec, "--db", db] + (["--channels", *other] if other else [])) == 0
    assert main(["import", rec, "--db", db, "--channels", "right"]) == 0
    assert main(["import", rec, "--db", db, "--channels", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("imported as night") == 2 and out.count("not imported again") == 4


def test_a_changed_wfdb_signal_file_is_a_changed_recording(tmp_path, capsys):
    import numpy as np
    import wfdb

    x = np.random.default_rng(3).normal(0, 0.005, (20_000, 1))
    wfdb.wrsamp("rec", fs=1000, units=["mV"], sig_name=["VM"], p_signal=x, fmt=["16"], write_dir=str(tmp_path))
    db = str(tmp_path / "h.db")
    assert main(["import", str(tmp_path / "rec.hea"), "--db", db, "--date", "2026-11-20"]) == 0
    wfdb.wrsamp("rec", fs=1000, units=["mV"], sig_name=["VM"], p_signal=x * 2, fmt=["16"], write_dir=str(tmp_path))
    assert main(["import", str(tmp_path / "rec.hea"), "--db", db, "--date", "2026-11-21"]) == 0
    assert capsys.readouterr().out.count("imported as night") == 2


def test_a_file_that_cannot_be_read_does_not_stop_the_others(week, tmp_path, capsys):
    fake = tmp_path / "fake.mat"
    fake.write_text("not a MATLAB file\n" * 50)
    db = str(tmp_path / "h.db")
    assert main(["import", str(fake), str(week[1][0]), "--db", db]) != 0
    captured = capsys.readouterr()
    assert "imported as night 1" in captured.out and "fake.mat" in captured.err and "Traceback" not in captured.err


def test_reading_a_night_that_is_not_there_says_so(tmp_path):
    with Store(tmp_path / "h.db") as s:
        nid, _ = add(s, 5, "2026-11-20")
        for read in (s.events, s.excluded, s.epochs, s.leg_movements):
            for key in (99, "x"):
                with pytest.raises(InputError, match="no night"):
                    read(key)
        assert s.events(nid, kinds="twitch") == s.events(nid, kinds=["twitch"]) and len(s.events(nid, "twitch")) == 5


def test_channels_chosen_another_way_are_one_night_with_resampling_too(tmp_path):
    import numpy as np

    path = tmp_path / "lab.csv"  # 250 Hz: usable only resampled
    x = np.random.default_rng(4).normal(0, 3, (2500, 2))
    path.write_text("time,VM,RF\n" + "\n".join(f"{i / 250:.4f},{a:.3f},{b:.3f}" for i, (a, b) in enumerate(x)))
    cfg = DetectorConfig()
    hashes = {settings_hash(night_settings(path, cfg, ch, resample_hz=1000.0)) for ch in (["vm", "RF"], ["0", "1"], None)}
    assert len(hashes) == 1


def test_channels_that_share_a_label_are_each_their_own_night(tmp_path):
    import numpy as np

    path = tmp_path / "dup.csv"
    x = np.random.default_rng(5).normal(0, 3, (2500, 2))
    path.write_text("time,EMG,EMG\n" + "\n".join(f"{i / 1000:.4f},{a:.3f},{b:.3f}" for i, (a, b) in enumerate(x)))
    cfg = DetectorConfig()
    first, second, both, every = (settings_hash(night_settings(path, cfg, ch)) for ch in (["0"], ["1"], ["0", "1"], None))
    assert first != second and both == every and len({first, second, every}) == 3


def test_a_recording_imported_while_still_being_written_counts_once_as_it_ended(tmp_path, capsys):
    from datetime import timezone

    from kneeemg.io import RecordingWriter

    night = simulate_night(hours=0.02, n_channels=2, seed=7)
    done = tmp_path / "done.kemg"
    with RecordingWriter(done, 1000.0, ["left", "right"], start_time=datetime(2026, 11, 20, 22, 30, tzinfo=timezone.utc)) as w:
        for block in night.chunks(10_000):
            w.write(block)
    path, db = tmp_path / "night.kemg", str(tmp_path / "h.db")
    path.write_bytes(done.read_bytes()[: done.stat().st_size // 3])  # a third of it written so far
    assert main(["import", str(path), "--db", db]) == 0
    path.write_bytes(done.read_bytes())  # the recording went on to its end
    assert main(["import", str(path), "--db", db]) == 0
    out = capsys.readouterr().out
    assert "imported as night 2 of 2026-11-20" in out and "it replaces night 1 (left, right) in trends and guidance: " \
        "that night is this file as it was when imported before (its first 2" in out
    with Store(db, create=False) as s:
        full = s.night(2)
        (row,) = s.trend(28)
        assert row["night_id"] == 2 and "night_ids" not in row and row["usable_hours"] == round(full.usable_s / 3600, 3)
        assert [n["date"] for n in s.case_for_triage()["nights"]] == ["2026-11-20"]
        assert s.counted(full.content_hash).id == 2


def test_a_night_stored_under_the_channels_as_typed_is_found_again(week, tmp_path):
    from kneeemg.store import import_settings

    with Store(tmp_path / "h.db") as s:
        out = import_recording(s, week[1][0], channels=["0", "1"], date="2026-11-01")
        # as an earlier kneeemg stored it: the settings with the channels as typed
        s._db.execute("UPDATE nights SET settings_hash=?", (settings_hash(import_settings(DetectorConfig(), ["0", "1"])),))
        s._db.commit()
        again = import_recording(s, week[1][0], channels=["0", "1"])
        assert not again.created and again.night_id == out.night_id and len(s.nights()) == 1


def test_a_date_of_two_nights_is_refused_with_their_ids(week, tmp_path):
    _, files = week
    with Store(tmp_path / "h.db") as s:
        a = import_recording(s, files[2], date="2026-11-20")
        b = import_recording(s, files[2], channels=["left"], date="2026-11-20")
        with pytest.raises(InputError, match=rf"2 nights have the date 2026-11-20 .*: {a.night_id} \({files[2].name}.*\), "
                                             rf"{b.night_id} \({files[2].name}.*give the id"):
            s.night("2026-11-20")
        assert s.night(b.night_id).id == b.night_id
        c = import_recording(s, files[3], date="2026-11-21")
        assert s.night("2026-11-21").id == c.night_id


def test_a_rate_that_creeps_week_after_week_is_said_to_move_slowly():
    from datetime import date, timedelta

    from kneeemg.trends import direction

    def rows(rates):
        start = date(2026, 10, 1)
        return [{"date": (start + timedelta(days=i)).isoformat(), "twitch_per_hour": r, "channels": ["left", "right"]}
                for i, r in enumerate(rates)]

    creeping = [10.0 + 0.3 * i for i in range(28)]  # about 3 % a night: under a fifth a week, doubling in 4 weeks
    assert direction(rows(creeping)) == ("Slowly more twitches: 17.2 an hour over the last 7 nights, against 15.1 in "
                                         "the 7 before and 10.9 in the 7 nights of 4 weeks ago; a small rise every week.")
    assert direction(rows(creeping[::-1])).startswith("Slowly fewer twitches: 10.9 an hour over the last 7 nights, "
                                                      "against 13.0 in the 7 before and 17.2 in")
    # a week that went the other way, or a first week of fewer than 4 nights with a rate: the week against the one before
    zigzag = [10.0] * 7 + [12.0] * 7 + [11.0] * 7 + [13.0] * 7
    assert direction(rows(zigzag)).startswith("About the same as before: 13.0 twitches an hour")
    assert direction(rows(creeping[4:])).startswith("About the same as before: 17.2 twitches an hour")
    assert direction(rows(creeping[3:])).endswith("against 15.1 in the 7 before and 11.4 in the 4 nights of 4 weeks "
                                                  "ago; a small rise every week.")  # (the oldest week: 4 nights)
    steep = [10.0] * 7 + [20.0] * 7
    assert direction(rows(steep)).startswith("More twitches: 20.0 an hour")  # (a change within a week says so as before)


def test_the_trend_compares_only_nights_with_as_many_channels_as_the_latest():
    from kneeemg.trends import direction

    def row(day, rate, channels):
        return {"date": f"2026-11-{day:02d}", "twitch_per_hour": rate, "channels": channels}

    two = [row(d, 70.0, ["left", "right"]) for d in range(1, 12)]
    one = [row(12, 35.0, ["quad"])]
    assert direction(two + [row(12, 70.0, ["left", "right"])]).startswith("About the same")
    words = direction(two + [row(12, 72.0, ["l", "r"])] + [row(13, 30.0, ["quad"])])
    assert words.startswith("Too few nights") and "11 nights" not in words  # only the 1-channel night is like the latest
    mixed = direction(two + one + [row(13, 71.0, ["left", "right"])])
    assert mixed.startswith("About the same") and \
        "(1 night with another number of channels than the latest night's 2 channels is left out of this comparison" in mixed


@pytest.mark.parametrize("start, night, why", [(datetime(2036, 1, 1, 23, 0), "2036-01-01", "after today"),
                                               (datetime(1970, 1, 1, 0, 0), "1969-12-31", "before 1985 (a clock that was never set)"),
                                               (datetime.min, "0001-01-01", "before 1985 (a clock that was never set)")])
def test_a_start_time_from_a_wrong_clock_is_refused_unless_a_date_is_given(tmp_path, capsys, start, night, why):
    from kneeemg.io.native import RecordingWriter

    path = tmp_path / "clock.kemg"
    with RecordingWriter(path, 1000.0, ["left"], start_time=start) as w:
        w.write(np.random.default_rng(0).normal(0.0, 3.0, (30_000, 1)))
    db = tmp_path / "h.db"
    with Store(db) as s:
        with pytest.raises(InputError) as info:
            import_recording(s, path)
        why = f"{why} ({datetime.now().date().isoformat()})" if why == "after today" else why
        assert f"clock.kemg: its start time dates the night {night}, {why}; " \
               "the recorder's clock was wrong, so give the evening the night began with --date YYYY-MM-DD" in str(info.value)
        assert s.nights() == []
        assert import_recording(s, path, date="2026-11-20").date == "2026-11-20"
    assert main(["import", str(path), "--db", str(tmp_path / "other.db")]) != 0
    err = capsys.readouterr().err
    assert why in err and err.count("\n") == 1
    # kneeemg batch --db stores such a night under the file's time instead, as without a start time
    assert main(["batch", str(path), "--out", str(tmp_path / "bo"), "--workers", "1", "--db", str(tmp_path / "b.db")]) == 0
    with Store(tmp_path / "b.db", create=False) as s:
        assert [n.date for n in s.nights()] == [fallback_date(None, 30.0, path)[0]]


def test_the_recordings_of_one_night_are_one_night_in_the_trend(tmp_path, capsys):
    # A sensor started again after a disconnect leaves the night in two files: one row of 2
    # hours for that date (the guidance merges them too), not two nights of 72 and 0 an hour.
    with Store(tmp_path / "h.db") as s:
        add(s, 120, "2026-11-19", key="a")
        add(s, 60, "2026-11-20", key="b", minutes=120)
        add(s, 0, "2026-11-20", key="c", minutes=2)
        rows = s.trend(28)
        assert [r["date"] for r in rows] == ["2026-11-19", "2026-11-20"]
        merged = rows[1]
        assert merged["twitches"] == 60 and merged["usable_hours"] == pytest.approx(122 / 60, abs=0.01)
        assert merged["twitch_per_hour"] == pytest.approx(60 / (122 / 60), rel=1e-3)
        assert merged["rolling7_twitch_per_hour"] == pytest.approx((120 + 60 / (122 / 60)) / 2, rel=1e-3)
        assert len(merged["night_ids"]) == 2 and merged["channels"] == ["left", "right"]
        assert merged["excluded_s"] == {} and merged["sides"]["left"]["twitch"] + merged["sides"]["right"]["twitch"] == 60
    assert main(["trends", "--db", str(tmp_path / "h.db")]) == 0
    out = capsys.readouterr().out
    assert out.count("2026-11-20") == 3  # the table's row, its title, and the line on its 2 recordings
    assert "2026-11-20 is 2 recordings (nights " in out


def test_the_options_that_give_a_stored_night_again(week, tmp_path, capsys):
    from kneeemg.store import import_options

    settings = {**DetectorConfig().as_dict(), "mains_hz": 50.0, "onset_ratio": 3.5, "import_channels": ["left"],
                "import_resample_hz": 1000.0, "long_burst_s": 3.0}
    assert import_options(settings) == ["--channels", "left", "--resample", "1000", "--mains", "50", "--set",
                                        "onset_ratio=3.5"]
    assert import_options(DetectorConfig(mains_hz=None).as_dict()) == ["--mains", "off"]
    # the import that replaces a night says how to count it again, with all its options
    _, files = week
    db = str(tmp_path / "h.db")
    for extra in (["--set", "onset_ratio=3.5"], []):
        assert main(["import", str(files[4]), "--db", db, "--date", "2026-11-20", *extra]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "(import the file again with --set onset_ratio=3.5 to count night 1 again)" in out


def test_the_guidance_takes_whole_nights_and_a_short_last_night_keeps_the_trend(tmp_path):
    with Store(tmp_path / "h.db") as s:
        for d in range(1, 15):
            add(s, 8 if d <= 7 else 2, f"2026-11-{d:02d}")
        add(s, 90, "2026-11-15", key="a", minutes=120)
        add(s, 0, "2026-11-15", key="b", minutes=10)
        # the last 2 nights by date: both recordings of 11-15, not the last 2 recordings
        assert [(n["date"], n["twitches"]) for n in s.case_for_triage(2)["nights"]] == \
            [("2026-11-14", 2), ("2026-11-15", 90), ("2026-11-15", 0)]
    # a last night too short to give a rate, on one channel, does not decide which nights compare
    rows = [{"date": f"2026-11-{d:02d}", "twitch_per_hour": 8.0 if d <= 7 else 2.0, "channels": ["left", "right"]}
            for d in range(1, 15)]
    short = {"date": "2026-11-15", "twitch_per_hour": None, "channels": ["left"]}
    assert direction(rows).startswith("Fewer twitches: 2.0 an hour over the last 7 nights, against 8.0")
    assert direction([*rows, short]).startswith(direction(rows))


def test_a_history_damaged_after_its_first_page_is_one_line_for_every_command(week, tmp_path, capsys):
    _, files = week
    db = tmp_path / "h.db"
    assert main(["import", str(files[0]), "--db", str(db), "--date", "2026-11-20"]) == 0
    assert main(["diary", "--db", str(db), "--date", "2026-11-20", "--stress", "2"]) == 0
    with Store(db, create=False) as s:
        s._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = s._db.execute("PRAGMA page_size").fetchone()[0]
        roots = {r[0]: r[1] for r in s._db.execute("SELECT name, rootpage FROM sqlite_master")}
    for table in ("nights", "diary"):  # a disk error, or a copy cut short, damages the pages of a table
        with open(db, "r+b") as fh:
            fh.seek(page * (roots[table] - 1))
            fh.write(b"\xde\xad\xbe\xef" * (page // 4))
    capsys.readouterr()
    for command in (["nights"], ["trends"], ["triage"], ["report", "--out", str(tmp_path / "r.html")]):
        assert main([*command, "--db", str(db)]) == 4, command
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is damaged (database disk image is malformed)" in err, (command, err)
    with Store(db, create=False) as s, pytest.raises(StoreError, match="damaged"):
        s.days()


@pytest.mark.parametrize("garble, says", [
    ("UPDATE nights SET labels = CAST(X'FFFE41' AS TEXT)", "Could not decode to UTF-8 column 'labels'"),
    ("UPDATE nights SET labels = '[\"left\", '", "Expecting value"),
    ("UPDATE nights SET metrics = '{\"twitch\": '", "Expecting value"),
], ids=["text-not-utf8", "labels-not-json", "metrics-not-json"])
def test_a_value_garbled_in_the_history_is_called_damage_in_one_line(week, tmp_path, capsys, garble, says):
    """Damage inside a page (a flipped byte in a value) leaves the file readable to SQLite; the
    value it garbled is reported as damage, never as a traceback or as a locked file."""
    _, files = week
    db = tmp_path / "h.db"
    assert main(["import", str(files[0]), "--db", str(db), "--date", "2026-11-20"]) == 0
    con = sqlite3.connect(db)
    con.execute(garble)
    con.commit()
    con.close()
    before = db.read_bytes()
    capsys.readouterr()
    codes = [main([*command, "--db", str(db)])
             for command in (["nights"], ["report", "--out", str(tmp_path / "r.html")],
                             ["report", "--doctor", "--out", str(tmp_path / "d.html")])]
    err = capsys.readouterr().err.splitlines()
    assert codes == [4, 4, 4] and len(err) == 3, err
    assert all(line.startswith(f"kneeemg: error: the history database {db} is damaged (") and says in line
               and line.endswith("restore it from a backup, or use another --db") for line in err), err
    assert db.read_bytes() == before


def test_a_recording_still_being_written_is_not_imported_so_its_start_never_counts_twice(tmp_path, capsys):
    from kneeemg.io.native import RecordingWriter

    path = tmp_path / "tonight.kemg"
    db = tmp_path / "h.db"
    signal = np.random.default_rng(0).normal(0.0, 3.0, (30_000, 2))
    with RecordingWriter(path, 1000.0, ["left", "right"], start_time=datetime(2026, 11, 20, 23, 0)) as w:
        w.write(signal[:20_000])
        w.flush()  # the first 20 s are on disk, as a night half-way through is
        assert main(["import", str(path), "--db", str(db)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "tonight.kemg is still being recorded; import it once the recording has ended" in err
        w.write(signal[20_000:])
    assert main(["import", str(path), "--db", str(db)]) == 0
    with Store(db, create=False) as s:
        assert [(n.date, n.recording_s) for n in s.nights()] == [("2026-11-20", 30.0)]


def test_a_history_that_cannot_be_written_is_read_with_the_changes_still_in_its_wal_file(tmp_path, monkeypatch):
    import subprocess
    import sys

    import kneeemg.store as store_module

    db = tmp_path / "h.db"
    with Store(db) as s:
        s.save_day(validate_day({"date": "2026-11-20", "stress": 3}))
    # a writer killed before SQLite moved its last commit from h.db-wal into h.db (a power cut, kill -9)
    code = ("import os, sqlite3, sys; from kneeemg.diary import validate_day; from kneeemg.store import Store; "
            "s = Store(sys.argv[1]); s._db.execute('PRAGMA wal_autocheckpoint=0'); "
            "s.save_day(validate_day({'date': '2026-11-21', 'stress': 1})); os._exit(0)")
    subprocess.run([sys.executable, "-c", code, str(db)], check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert Path(f"{db}-wal").stat().st_size > 0
    before = db.read_bytes()
    monkeypatch.setattr(store_module.os, "access", lambda p, mode: False)  # as on read-only media
    with Store(db, create=False) as s:
        assert s.read_only and [d.date for d in s.days()] == ["2026-11-20", "2026-11-21"]
    assert db.read_bytes() == before


def test_the_nights_table_gives_no_rate_for_a_night_too_short_as_trends(tmp_path, capsys):
    # nights listed 85.0 an hour for 17 twitches in 12 minutes, where trends and triage give none
    db = tmp_path / "h.db"
    _quiet_nights_some_cut_short(db)
    assert main(["nights", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    short = next(x for x in out.splitlines() if "2026-10-18" in x)
    assert "85.0" not in short and " - " in short
    assert "6 nights with less than 1 usable hour each are too short to give a rate and are shown with -." in (
        " ".join(out.split()))
    assert main(["nights", "--db", str(db), "--set", "min_usable_hours=0.1"]) == 0
    low = capsys.readouterr().out
    assert "85.0" in next(x for x in low.splitlines() if "2026-10-18" in x) and "too short" not in low
    with Store(db, create=False) as s:
        night = next(n for n in s.nights() if n.date == "2026-10-18")
    assert night.twitch_rate() is None and night.twitch_rate(TriageConfig(min_usable_hours=0.1)) == pytest.approx(85.0)


def test_import_says_when_a_file_joins_another_of_its_date(week, tmp_path, capsys):
    # a night in two files (the sensor restarted): the second import said only "imported as night 2"
    _, files = week
    db = str(tmp_path / "h.db")
    assert main(["import", str(files[0]), "--db", db, "--date", "2026-11-10"]) == 0
    assert "note:" not in capsys.readouterr().out  # one recording of its date: nothing to say
    assert main(["import", str(files[1]), "--db", db, "--date", "2026-11-10"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "note: 2026-11-10 is 2 recordings (nights 1 and 2), one night in trends and guidance: " in out
    assert main(["import", str(files[1]), "--db", db, "--date", "2026-11-10"]) == 0  # already there: no note again
    assert "note:" not in capsys.readouterr().out


def test_a_night_given_a_rate_is_shown_with_the_usable_hours_that_give_it(tmp_path, capsys):
    # 57 usable minutes (0.95 h) give a rate, as 1.0 h shown; nights and trends showed "0.9" beside
    # that rate (0.95 is 0.9499... in binary), and trends, which rounded to 0.01 h first, showed
    # "0.9" up to 0.955 h, where nights showed "1.0"
    db = tmp_path / "h.db"
    with Store(db) as s:
        add(s, 19, "2026-11-09", minutes=57)
        add(s, 19, "2026-11-10", minutes=58, usable_minutes=56)
        add(s, 19, "2026-11-11", minutes=60, usable_minutes=57)
        rows = s.trend(28)
        assert [r["twitch_per_hour"] is not None for r in rows] == [True, False, True]
    for command in ("nights", "trends"):
        assert main([command, "--db", str(db)]) == 0
        lines = capsys.readouterr().out.splitlines()
        shown = [next(x for x in lines if re.search(rf"^\s*(\d+\s+)?{day}\s", x)) for day in ("2026-11-09", "2026-11-10", "2026-11-11")]
        assert [" 1.0 " in x for x in shown] == [True, False, True], (command, shown)
        assert " 0.9 " in shown[1] and " - " in shown[1]
