"""The nights list and its CSV export (``kneeemg nights --csv``)."""

from __future__ import annotations

import csv

import pytest

from kneeemg.cli import main
from kneeemg.errors import InputError
from kneeemg.guidance import TriageConfig
from kneeemg.nightlist import NIGHTS_CSV_COLUMNS, night_rows, write_nights_csv
from kneeemg.store import Store
from signals import add


def _history(db):
    with Store(db) as s:
        add(s, 12, "2026-10-01")  # one usable hour
        add(s, 9, "2026-10-02", minutes=12)  # too short to give a rate
        add(s, 3, "2026-10-03")


def test_night_rows_give_numbers_and_no_rate_for_a_short_night(tmp_path):
    db = tmp_path / "h.db"
    _history(db)
    with Store(db) as s:
        rows = night_rows(s.nights(), TriageConfig())
    assert [r["date"] for r in rows] == ["2026-10-01", "2026-10-02", "2026-10-03"]
    assert [r["twitches"] for r in rows] == [12, 9, 3]
    assert rows[1]["twitches_per_h"] is None and rows[1]["plm_per_h"] is None and rows[1]["usable_h"] < 1
    assert rows[0]["twitches_per_h"] == pytest.approx(12 / rows[0]["usable_h"])
    with Store(db) as s:  # a lower min_usable_hours gives the short night its rate
        assert night_rows(s.nights(), TriageConfig(min_usable_hours=0.1))[1]["twitches_per_h"] is not None


def test_nights_csv_holds_the_table_and_replaces_only_an_earlier_one(tmp_path, capsys):
    db, out = tmp_path / "h.db", tmp_path / "nights.csv"
    _history(db)
    assert main(["nights", "--db", str(db), "--csv", str(out)]) == 0
    assert f"nights: {out}" in capsys.readouterr().out
    with out.open(newline="") as fh:
        got = list(csv.DictReader(fh))
    assert tuple(got[0]) == NIGHTS_CSV_COLUMNS
    assert [(r["date"], r["twitches"]) for r in got] == [("2026-10-01", "12"), ("2026-10-02", "9"), ("2026-10-03", "3")]
    assert got[1]["twitches_per_h"] == "" and got[1]["plm_per_h"] == ""  # too short: no rate, an empty cell
    assert float(got[0]["twitches_per_h"]) == pytest.approx(12 / float(got[0]["usable_h"]), abs=0.1)
    # an earlier nights CSV is replaced; after --forget it lists the nights left
    assert main(["nights", "--db", str(db), "--forget", "1", "--csv", str(out)]) == 0
    with out.open(newline="") as fh:
        assert [r["id"] for r in csv.DictReader(fh)] == ["2", "3"]


def test_nights_csv_never_replaces_another_file_and_changes_nothing_when_refused(tmp_path, capsys):
    db, notes = tmp_path / "h.db", tmp_path / "notes.csv"
    _history(db)
    notes.write_text("my own notes\n")
    before = db.read_bytes()
    for target, says in ((notes, "already exists and is not a nights CSV"), (db, "is the file being read"),
                         (tmp_path, "is a folder")):
        assert main(["nights", "--db", str(db), "--forget", "1", "--csv", str(target)]) == 2
        err = capsys.readouterr().err
        assert says in err and len(err.strip().splitlines()) == 1
    assert notes.read_text() == "my own notes\n" and db.read_bytes() == before  # nothing forgotten either
    with pytest.raises(InputError, match="folder .* does not exist"):
        write_nights_csv([], tmp_path / "missing" / "n.csv")


def test_in_an_80_column_terminal_the_dates_and_numbers_stay_whole(tmp_path, monkeypatch):
    # every date was cut to "2026-11-…" and the last columns cut off at column 80
    import io

    from rich.console import Console

    import kneeemg.cli.render as render
    from kneeemg.cli import main
    from kneeemg.store import Store
    from signals import add

    db = tmp_path / "h.db"
    with Store(db) as s:
        for day in range(1, 10):
            add(s, 30 + day, f"2026-11-{day:02d}", seed=day)
    for command, last in (("nights", "ch."), ("trends", "channels")):
        screen = io.StringIO()
        monkeypatch.setattr(render, "make_console", lambda **kw: Console(width=80, force_terminal=True, file=screen,
                                                                          color_system=None))
        assert main([command, "--db", str(db)]) == 0
        text = screen.getvalue()
        assert all(f"2026-11-{day:02d}" in text for day in range(1, 10)) and "…" not in text, text
        assert last in text and max(len(line) for line in text.splitlines()) <= 80
        if command == "nights":
            flat = " ".join(text.split())
            assert "hand-made" not in text and "in a terminal wider than 100 columns, or in `kneeemg nights --csv FILE`" in flat
