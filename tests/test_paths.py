"""Output files: what may be replaced, and replacing without a half-written state; stored file names."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from kneeemg.errors import InputError
from kneeemg.paths import check_output_file, path_text, replacing, stored_path

SIG = b"<!DOCTYPE html>"


def test_a_new_file_an_empty_one_and_an_earlier_output_may_be_written(tmp_path):
    assert check_output_file(tmp_path / "new.html", "--out", "report", SIG) == tmp_path / "new.html"
    (tmp_path / "empty.html").write_bytes(b"")
    check_output_file(tmp_path / "empty.html", "--out", "report", SIG)
    (tmp_path / "old.html").write_bytes(SIG + b"<html>")
    check_output_file(tmp_path / "old.html", "--out", "report", SIG)


def test_a_database_a_recording_or_an_input_is_never_replaced(tmp_path):
    db = tmp_path / "h.db"
    with sqlite3.connect(db) as con:
        con.execute("create table t (x)")
    with pytest.raises(InputError, match="is not a report"):
        check_output_file(db, "--out", "report", SIG)
    rec = tmp_path / "n.kemg"
    rec.write_bytes(b"KEMG\x01")
    with pytest.raises(InputError, match="is not a report"):
        check_output_file(rec, "--out", "report", SIG)
    twin = tmp_path / "same.html"
    twin.write_bytes(SIG)
    with pytest.raises(InputError, match="is the file being read"):
        check_output_file(twin, "--out", "report", SIG, inputs=[None, str(twin)])


def test_folders_missing_or_given_as_the_file_are_refused(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        check_output_file(tmp_path, "--out", "report", SIG)
    with pytest.raises(InputError, match="does not exist; create it"):
        check_output_file(tmp_path / "nope" / "r.html", "--out", "report", SIG)


def test_an_empty_path_is_named_as_empty():
    with pytest.raises(InputError, match=r"^--out is empty; give a file name$"):
        check_output_file("", "--out", "report", SIG)


def test_an_empty_folder_or_input_path_is_named_as_empty(tmp_path, monkeypatch):
    from kneeemg.paths import check_given, check_output_dir

    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=r"^--out is empty; give a folder$"):
        check_output_dir("", "--out")
    with pytest.raises(InputError, match=r"^--case is empty; give a JSON case file$"):
        check_given("", "--case", "a JSON case file")
    check_given(None, "--case", "a JSON case file")  # (left out: nothing to say)
    assert list(tmp_path.iterdir()) == []


def test_an_empty_db_is_refused_and_a_left_out_one_is_the_default(tmp_path, monkeypatch):
    from kneeemg.paths import check_db_apart, db_path, user_data_path
    from kneeemg.store import Store

    monkeypatch.delenv("KNEEEMG_DB", raising=False)
    message = r"^--db is empty; give a history database file, or leave --db out for the default one$"
    for refuse in (lambda: db_path(""), lambda: Store("", create=False), lambda: check_db_apart("", [], "an input")):
        with pytest.raises(InputError, match=message):
            refuse()
    assert db_path(None) == db_path() == user_data_path() / "history.sqlite3"
    monkeypatch.setenv("KNEEEMG_DB", str(tmp_path / "env.db"))
    assert db_path(None) == tmp_path / "env.db"
    assert not (tmp_path / "env.db").exists()


def test_replacing_keeps_the_old_file_when_writing_fails(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("old")
    with pytest.raises(RuntimeError):
        with replacing(p) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert p.read_text() == "old" and sorted(x.name for x in tmp_path.iterdir()) == ["r.csv"]
    with replacing(p) as tmp:
        tmp.write_text("new")
    assert p.read_text() == "new" and sorted(x.name for x in tmp_path.iterdir()) == ["r.csv"]


@pytest.mark.parametrize("name", [b"night.kemg", b"n\xe4cht.kemg", b"caf\xc3\xa9 night.kemg", b"a\\x41b.kemg"])
def test_a_stored_file_name_names_the_file_again(tmp_path, name):
    path = Path(os.fsdecode(os.fsencode(tmp_path) + b"/" + name))
    path.write_bytes(b"x")
    text = path_text(path)
    text.encode("utf-8")  # what SQLite stores
    assert stored_path(text) == path and stored_path(text).read_bytes() == b"x"
