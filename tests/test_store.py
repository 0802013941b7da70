"""The SQLite history: WAL, migrations, imports stored once, all-or-nothing writes, a week of nights."""

from __future__ import annotations

import sqlite3

import pytest

from kneeemg.cli import main
from kneeemg.diary import validate_day, validate_profile
from kneeemg.errors import InputError, StoreError
from kneeemg.simulate import simulate_night, write_simulated
from kneeemg.store import MIGRATIONS, Store, import_recording


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """Seven short simulated nights (three minutes each) and their diary entries."""
    folder = tmp_path_factory.mktemp("week")
    files = []
    for i in range(7):
        night = simulate_night(hours=0.05, n_channels=2, seed=100 + i)
        files.append(write_simulated(night, folder / f"night{i}.kemg")["recording"])
    return folder, files


def test_wal_and_schema(tmp_path):
    with Store(tmp_path / "h.db") as s:
        assert s.version == len(MIGRATIONS)
        assert s._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_upgrade_from_version_one(tmp_path):
    path = tmp_path / "old.db"
    s = Store.__new__(Store)  # an old file: only the first migration applied
    s.path = path
    s._db = sqlite3.connect(path)
    s._db.row_factory = sqlite3.Row
    s.migrate(to=1)
    s._db.execute("INSERT INTO diary VALUES ('2026-11-01', '{\"stress\": 2}', 'then')")
    s._db.commit()
    s.close()
    with Store(path) as s:
        assert s.version == len(MIGRATIONS)
        assert s.day("2026-11-01").get("stress") == 2  # data kept across the upgrade
        assert s._db.execute("SELECT count(*) FROM epochs").fetchone()[0] == 0


def test_not_a_database(tmp_path):
    bad = tmp_path / "x.db"
    bad.write_text("this is not sqlite " * 100)
    with pytest.raises(StoreError, match="not a kneeemg history database"):
        Store(bad)


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
        trend = store.trend(28)
        assert len(trend) == 7 and trend[-1]["rolling7_twitch_per_hour"] is not None
        case = store.case_for_triage()
        assert len(case["nights"]) == 7 and len(case["diary"]) == 7 and case["diary"][3]["caffeine_drinks"] == 3
    assert main(["nights", "--db", str(db)]) == 0
    assert main(["trends", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "2026-11-16" in out and "Too few nights" in out
    report = tmp_path / "week.html"
    assert main(["report", "--db", str(db), "--out", str(report)]) == 0
    html = report.read_text()
    assert "Your night of 2026-11-16" in html and "The last 14 nights" in html and "caffeine drinks" in html


def test_failed_import_leaves_nothing_half_written(week, tmp_path, monkeypatch):
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

            def __enter__(self):
                return original.__enter__()

            def __exit__(self, *exc):
                return original.__exit__(*exc)

        store._db = Failing()
        with pytest.raises(StoreError, match="nothing was changed"):
            import_recording(store, files[1], date="2026-11-11")
        store._db = original
        assert store.nights() == []
        assert store._db.execute("SELECT count(*) FROM events").fetchone()[0] == 0


def test_profile_and_day_round_trip(tmp_path):
    with Store(tmp_path / "h.db") as s:
        s.save_profile(validate_profile({"age": 61, "medications": ["diuretic"]}))
        s.save_day(validate_day({"date": "2026-11-20", "stress": 3}))
        s.save_day(validate_day({"date": "2026-11-20", "stress": 1}))  # replaces
        assert s.profile().get("medications") == ["diuretic"]
        assert [d.get("stress") for d in s.days()] == [1]
        with pytest.raises(InputError, match="no night"):
            s.night("2026-01-01")
