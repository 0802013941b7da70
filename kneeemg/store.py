"""The history of nights: one SQLite file (WAL mode, schema migrations).

It holds nights (with their metrics, settings and package version), their events, leg
movements, excluded time and per-epoch signal quality, the diary (one entry per date) and
the profile. It lives in the user's data directory unless a path (``--db``) or
``KNEEEMG_DB`` says otherwise. A recording imported twice with the same settings is stored
once (by the hash of its content); imported again from another path, the stored path
follows it. Every night gets a date (given, from the recording's start time, or from the
file's time). Every write is one transaction: a failure leaves the file as it was.
Commands that only read open the file with ``Store(path, create=False)``, which never
creates a file or a folder.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import io
import json
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import numpy as np

from .diary import DiaryDay, Profile, check_not_after, iso_date, night_date, validate_day, validate_profile
from .errors import DISK_FULL, InputError, KneeEmgError, StoreError
from .events import Event, ExcludedInterval
from .guidance.features import TriageConfig, gives_rate
from .metrics import case_night

from .config import MAX_TREND_DAYS, settings_hash
from .io import gives_own_rate
from .io.native import being_recorded
from .paths import DB_ENV_VAR, check_db_apart, check_recording_named, db_path, path_text, stored_path
from .words import plural


#: A triage reads at least this many days of the diary, up to the day it is made for.
TRIAGE_DIARY_DAYS = 28

#: Ordered schema migrations; ``PRAGMA user_version`` holds how many have run.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE nights (
        id INTEGER PRIMARY KEY,
        date TEXT,
        source TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        settings_hash TEXT NOT NULL,
        start_time TEXT,
        recording_s REAL, usable_s REAL, lost_s REAL,
        fs_hz REAL, labels TEXT,
        settings TEXT, version TEXT, metrics TEXT,
        imported_at TEXT NOT NULL,
        UNIQUE (content_hash, settings_hash)
    );
    CREATE TABLE events (
        night_id INTEGER NOT NULL REFERENCES nights(id) ON DELETE CASCADE,
        kind TEXT NOT NULL, channel INTEGER NOT NULL, onset_sample INTEGER NOT NULL, offset_sample INTEGER NOT NULL,
        peak_uv REAL, rms_uv REAL, snr_db REAL
    );
    CREATE TABLE excluded (
        night_id INTEGER NOT NULL REFERENCES nights(id) ON DELETE CASCADE,
        start_s REAL, stop_s REAL, channel INTEGER, reason TEXT
    );
    CREATE TABLE diary (date TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at TEXT NOT NULL);
    CREATE TABLE profile (id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT NOT NULL, updated_at TEXT NOT NULL);
    """,
    """
    CREATE INDEX events_by_night ON events (night_id, kind);
    CREATE INDEX nights_by_date ON nights (date);
    CREATE TABLE epochs (
        night_id INTEGER PRIMARY KEY REFERENCES nights(id) ON DELETE CASCADE,
        epoch_s REAL NOT NULL, flags BLOB NOT NULL, floor_uv BLOB NOT NULL
    );
    """,
)


def default_path() -> Path:
    """``$KNEEEMG_DB``, or ``history.sqlite3`` in the user's data directory (see :mod:`kneeemg.paths`)."""
    return db_path(None)


def recording_files(path: str | os.PathLike[str]) -> list[Path]:
    """The files a recording is made of: the file itself and, for a WFDB header (``.hea``),
    the signal files it names (so that a changed ``.dat`` is a changed recording)."""
    p = Path(path)
    files = [p]
    if p.suffix.lower() != ".hea":
        return files
    try:
        lines = [ln for ln in p.read_text(encoding="latin-1").splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    except OSError:
        return files
    for line in lines[1:]:  # after the record line: one line per signal, its file first
        f = p.parent / line.split()[0]
        if f not in files and f.is_file():
            files.append(f)
    return files


def file_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a recording's content (of each of its files in turn: :func:`recording_files`)."""
    h = hashlib.sha256()
    for f in recording_files(path):
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(a), allow_pickle=False)
    return buf.getvalue()


def _from_npy(b: bytes) -> np.ndarray:
    return np.load(io.BytesIO(b), allow_pickle=False)


def _now() -> str:
    """Now, in UTC, to the microsecond (a re-import a moment after another import is later)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def fallback_date(start_time: str | datetime | None, recording_s: float, file: str | os.PathLike[str] | None = None,
                  mtime: float | None = None) -> tuple[str, str]:
    """The date of a night given no date: ``(date, date_from)``.

    The evening the recording started (``"start time"``); without a start time, the file's
    modification time minus the recording's length (``"file time"``; ``mtime`` in seconds
    since the epoch, else the time of ``file`` when it is a file); else the moment now minus
    the recording's length (``"import time"``).
    """
    if start_time is not None:
        try:
            moment = start_time if isinstance(start_time, datetime) else datetime.fromisoformat(str(start_time))
            return night_date(moment), "start time"
        except ValueError:
            pass  # an unreadable start time: fall back to the file's time
    length = timedelta(seconds=float(recording_s or 0.0))
    if mtime is None and file is not None:
        try:
            if Path(file).is_file():
                mtime = Path(file).stat().st_mtime
        except (OSError, ValueError):
            mtime = None
    if mtime is not None:
        return night_date(datetime.fromtimestamp(mtime) - length), "file time"
    return night_date(datetime.now() - length), "import time"


#: Start times before this are no clock's reading of a night (EDF's own dates begin in 1985;
#: a recorder whose clock was never set reports 1970).
EARLIEST_START = date(1985, 1, 1)


def check_start_date(night_on: str, date_from: str, path: str | os.PathLike[str], today: date) -> None:
    """Refuse a night date taken from a recording's start time (``date_from == "start time"``)
    that lies after ``today`` or before 1985: the recorder's clock was wrong, and such a date
    would sort the night after, or before, every real one.

    Raises
    ------
    InputError
        One line naming the file and the date, asking for the date by hand.
    """
    if date_from != "start time":
        return
    on = date.fromisoformat(night_on)
    if on > today:
        why = f"after today ({today.isoformat()})"
    elif on < EARLIEST_START:
        why = "before 1985 (a clock that was never set)"
    else:
        return
    raise InputError(f"{path_text(Path(path))}: its start time dates the night {night_on}, {why}; the recorder's clock "
                     "was wrong, so give the evening the night began with --date YYYY-MM-DD")


@dataclass(frozen=True)
class NightRow:
    """One stored night."""

    id: int
    date: str | None
    source: str
    start_time: str | None
    recording_s: float
    usable_s: float
    lost_s: float
    fs_hz: float
    labels: tuple[str, ...]
    metrics: dict[str, Any]
    settings: dict[str, Any]
    version: str
    content_hash: str = ""
    imported_at: str = ""

    def twitch_rate(self, config: TriageConfig | None = None) -> float | None:
        """Twitches per usable hour, or None when the night is too short to give a rate (less
        usable time than ``config``'s ``min_usable_hours``, as :meth:`Store.trend` and the
        guidance judge it)."""
        rate = (self.metrics.get("per_usable_hour") or {}).get("twitch")
        return rate if gives_rate(self.usable_s, config) else None


def _has_wal(path: Path) -> bool:
    """Whether the SQLite file ``path`` has a ``-wal`` file holding changes not yet in the file itself."""
    try:
        return Path(f"{path}-wal").stat().st_size > 0
    except OSError:
        return False


#: What a failed write says of the history: its transaction was rolled back.
NOTHING_CHANGED = "nothing was changed"


def _disk_full(exc: BaseException, path: Path) -> bool:
    """Whether ``exc`` comes from a full disk: SQLite's "database or disk is full", ENOSPC, or
    SQLite's "disk I/O error" (which it gives when it cannot make its -shm file) with no space
    left beside ``path``."""
    if isinstance(exc, OSError):
        return exc.errno == errno.ENOSPC
    if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "database or disk is full" in str(exc):
        return True
    if "disk I/O error" in str(exc):
        import shutil

        try:
            return shutil.disk_usage(path.absolute().parent).free == 0
        except OSError:
            return False
    return False


def _store_error(exc: BaseException, path: Path, failed: str, advice: str) -> StoreError:
    """The one-line :class:`StoreError` for ``exc``: "``failed`` ``path`` (``exc``); ``advice``",
    or, when it comes from a full disk (:func:`_disk_full`), "``failed`` ``path``: the disk is
    full; free some space ..." (with ``advice`` in brackets when it says that nothing was changed)."""
    if not _disk_full(exc, path):
        return StoreError(f"{failed} {path} ({exc}); {advice}")
    return StoreError(f"{failed} {path}: {DISK_FULL}" + (f" ({advice})" if advice == NOTHING_CHANGED else ""))


def _write_error(exc: BaseException, path: Path, doing: str) -> StoreError:
    """:func:`_store_error` of a write that failed, ``doing`` ("store the night"): it changed nothing."""
    return _store_error(exc, path, f"could not {doing} in", NOTHING_CHANGED)


def _garbled(exc: sqlite3.OperationalError) -> bool:
    """Whether sqlite3's ``exc`` is about a value it read, not about the file ("Could not decode to
    UTF-8 column ...": text that a damaged page garbled)."""
    return str(exc).startswith("Could not decode")


def _damaged(exc: BaseException, path: Path) -> StoreError:
    return StoreError(f"the history database {path} is damaged ({exc}); restore it from a backup, or use another --db")


def _reads(method: Any) -> Any:
    """A read that meets a damaged file, or one locked for too long, raises a :class:`StoreError`
    (one line) instead of sqlite3's error; nothing is changed by a read."""

    @functools.wraps(method)
    def read(self: "Store", *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.OperationalError as exc:
            if _garbled(exc):
                raise _damaged(exc, self.path) from None
            raise _store_error(exc, self.path, "cannot read the history database",
                               "check that it is readable and not locked, or use another --db") from None
        except (sqlite3.DatabaseError, ValueError, IndexError, TypeError) as exc:  # (the others: values that a
            # damaged page garbled: text that is not UTF-8 or not JSON, a renamed column, NULL in a required one)
            raise _damaged(exc, self.path) from None

    return read


class Store:
    """The history database. Use as a context manager.

    Parameters
    ----------
    path : path, optional
        The SQLite file; :func:`default_path` when omitted.
    create : bool
        Create the file (and its folder) when it does not exist (for commands that write).
        With ``create=False`` (for commands that only read) nothing is ever created: a
        missing file named by ``path`` or ``$KNEEEMG_DB`` is a :class:`StoreError`, and a
        missing file at the default place reads as an empty history (``exists`` is False), as
        does an empty file (left as it is), and a file that cannot be written (read-only
        media) is read as it is (``read_only``).

    Raises
    ------
    StoreError
        The file cannot be opened, is not a kneeemg history, or (``create=False``) does not exist.
    InputError
        ``path`` is empty text (``--db ""``), which is not the default history.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, create: bool = True) -> None:
        self.path = db_path(path)
        self.exists = True
        self.read_only = False
        try:
            if self.path.is_dir():
                raise StoreError(f"{self.path} is a folder, not a history database file; give a file with --db")
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path)
            elif self.path.is_file() and self.path.stat().st_size == 0:
                # an empty file (made by hand, or by a failed copy) reads as an empty history,
                # and stays untouched: only a command that writes gives it the schema
                self._db = sqlite3.connect(":memory:")
            elif self.path.is_file():
                # never creates; a file that cannot be written (a backup on read-only media) is read as it is,
                # through its -wal file when that holds changes (a writer killed before they reached the file)
                self.read_only = not (os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK))
                pending = self.read_only and _has_wal(self.path)
                mode = ("ro" if pending else "ro&immutable=1") if self.read_only else "rw"
                try:
                    self._db = sqlite3.connect(f"{self.path.absolute().as_uri()}?mode={mode}", uri=True)
                    if pending:  # (read through the -shm file beside it, or one it can make)
                        self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()
                except sqlite3.OperationalError as exc:
                    if not pending:
                        raise
                    raise StoreError(f"{self.path} cannot be written, and its last changes are still in "
                                     f"{self.path.name}-wal, which cannot be read here ({exc}); copy {self.path.name} "
                                     f"and {self.path.name}-wal to a folder you can write to and use the copy with --db"
                                     ) from None
            elif path is not None or os.environ.get(DB_ENV_VAR):
                given = "check --db" if path is not None else f"check ${DB_ENV_VAR}"
                raise StoreError(f"the history database {self.path} does not exist; import a night first with "
                                 f"`kneeemg import FILE`, or {given}")
            else:  # the default place, nothing imported yet: an empty history, and no file is made
                self.exists = False
                self._db = sqlite3.connect(":memory:")
        except (OSError, sqlite3.Error) as exc:
            raise _store_error(exc, self.path, "cannot open the history database", "check the path or use --db") from None
        self._db.row_factory = sqlite3.Row
        try:
            self._check_ours()  # before anything changes the file
            if self.read_only:
                if self.version != len(MIGRATIONS):
                    raise StoreError(f"{self.path} cannot be written, and it was written by "
                                     f"{'an older' if self.version < len(MIGRATIONS) else 'a newer'} kneeemg; "
                                     "copy it to a folder you can write to and use the copy with --db")
            else:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA foreign_keys=ON")
                self.migrate()
        except sqlite3.OperationalError as exc:
            self._db.close()
            raise _store_error(exc, self.path, "cannot use the history database",
                               "check that it is writable and not locked, or use another --db") from None
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:  # (a schema whose text is not UTF-8)
            self._db.close()
            raise StoreError(f"{self.path} is not a kneeemg history database ({exc}); use another --db") from None
        except StoreError:
            self._db.close()
            raise

    # ---------------------------------------------------------------- schema
    @property
    def version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self, to: int | None = None) -> None:
        """Run the migrations not yet applied (up to ``to``), each in one transaction."""
        target = len(MIGRATIONS) if to is None else to
        if self.version > len(MIGRATIONS):
            raise StoreError(f"{self.path} was written by a newer kneeemg (schema {self.version}); upgrade kneeemg")
        self._check_ours()
        for v in range(self.version, target):
            with self._db:
                self._db.executescript(f"BEGIN; {MIGRATIONS[v]}; PRAGMA user_version = {v + 1}; COMMIT;")

    def _check_ours(self) -> None:
        """Refuse an SQLite file of another program (tables, but no kneeemg schema version)."""
        if self.version == 0 and self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise StoreError(f"{self.path} is an SQLite file of another program (it has tables but no kneeemg schema); "
                             "use another --db")

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction (taking the write lock at once): committed, or rolled back on any error."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.rollback()
            raise
        self._db.commit()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- nights
    @_reads
    def find_night(self, content_hash: str, settings_hash: str) -> int | None:
        """The id of the night stored from this content with these settings, or None."""
        return self._night_id(content_hash, settings_hash)

    def _night_id(self, content_hash: str, settings_hash: str) -> int | None:
        row = self._db.execute("SELECT id FROM nights WHERE content_hash=? AND settings_hash=?",
                               (content_hash, settings_hash)).fetchone()
        return int(row["id"]) if row else None

    def _insert_night(self, night: dict[str, Any], events: list[Event], excluded: list[tuple[float, float, int, str]],
                      epochs: tuple[float, bytes, bytes] | None) -> tuple[int, bool]:
        """Insert one night and everything that belongs to it in one transaction."""
        columns = ("date", "source", "content_hash", "settings_hash", "start_time", "recording_s", "usable_s", "lost_s",
                   "fs_hz", "labels", "settings", "version", "metrics", "imported_at")
        try:
            with self._transaction():
                cur = self._db.execute(f"INSERT INTO nights ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                                       tuple(night[c] for c in columns))
                nid = int(cur.lastrowid)
                self._db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?)",
                                     [(nid, e.kind, e.channel, e.onset_sample, e.offset_sample, e.peak_uv, e.rms_uv, e.snr_db)
                                      for e in events])
                self._db.executemany("INSERT INTO excluded VALUES (?,?,?,?,?)", [(nid, *x) for x in excluded])
                if epochs is not None:
                    self._db.execute("INSERT INTO epochs VALUES (?,?,?,?)", (nid, *epochs))
        except sqlite3.IntegrityError:
            # stored meanwhile by another process with the same content and settings
            existing = self._night_id(night["content_hash"], night["settings_hash"])
            if existing is None:
                raise StoreError(f"could not store the night in {self.path} (a constraint failed); nothing was changed") from None
            return existing, False
        except sqlite3.Error as exc:
            raise _write_error(exc, self.path, "store the night") from None
        return nid, True

    def add_night(self, result: Any, metrics: Any, source: str, content_hash: str,
                  settings: dict[str, Any] | None = None) -> tuple[int, bool]:
        """Store a night: a DetectionResult and its NightMetrics. Returns (id, created).

        A night with the same content hash and settings is not stored again: its id is
        returned with ``created=False``. A night without a date (``metrics.date`` None) gets
        one from :func:`fallback_date`: the recording's start time, else the time of the file
        ``source`` minus the recording's length, else the time of storing minus its length.

        Parameters
        ----------
        result : DetectionResult
        metrics : NightMetrics
        source : str
            Where the recording came from (its absolute path, or a description).
        content_hash : str
            SHA-256 of the recording file (:func:`file_hash`), or another stable key.
        settings : dict, optional
            What the night was found with (:func:`import_settings`); the detector settings
            of ``result`` when omitted.
        """
        from . import __version__

        settings = result.config.as_dict() if settings is None else settings
        s_hash = settings_hash(settings)
        existing = self.find_night(content_hash, s_hash)
        if existing is not None:
            return existing, False
        if metrics.date is None:
            metrics = replace(metrics, date=fallback_date(metrics.start_time, result.recording_s, source)[0])
        night = {
            "date": metrics.date, "source": str(source), "content_hash": content_hash, "settings_hash": s_hash,
            "start_time": metrics.start_time, "recording_s": float(result.recording_s), "usable_s": float(result.usable_s),
            "lost_s": float(metrics.lost_s), "fs_hz": float(result.fs_hz), "labels": json.dumps(list(result.labels)),
            "settings": json.dumps(settings, default=str), "version": __version__,
            "metrics": json.dumps(metrics.as_dict(), default=str), "imported_at": _now(),
        }
        excluded = [(iv.start_s, iv.stop_s, iv.channel, iv.reason) for iv in result.excluded]
        epochs = (float(result.epoch_s), _npy(result.epoch_flags), _npy(result.floor_uv))
        return self._insert_night(night, [*result.events, *result.leg_movements], excluded, epochs)

    #: Another name for :meth:`add_night`.
    import_night = add_night

    def add_batch_night(self, night_dir: str | os.PathLike[str]) -> tuple[int, bool]:
        """Store a night from a ``kneeemg batch`` night folder (no detection is run again).

        A night without a date gets one as :meth:`add_night` gives it, the file's time taken
        from when ``kneeemg batch`` read it.
        """
        from .events import read_events_csv

        folder = Path(night_dir)
        try:
            stored = json.loads((folder / "result.json").read_text(encoding="utf-8"))
            row, metrics = stored["row"], dict(stored["metrics"])
            s_hash, digest = row["settings_hash"], stored["content_hash"]
            mtime_ns = (stored.get("fingerprint") or {}).get("mtime_ns")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StoreError(f"{folder} is not a finished batch night ({exc}); run `kneeemg batch` again") from None
        existing = self.find_night(digest, s_hash)
        if existing is not None:
            return existing, False
        fs = float(row["fs_hz"])
        try:
            events = read_events_csv(folder / "events.csv", fs) + read_events_csv(folder / "leg_movements.csv", fs)
            excluded = []
            for line in (folder / "excluded.csv").read_text(encoding="utf-8").splitlines()[1:]:
                a, b, ch, reason = line.split(",")
                excluded.append((float(a), float(b), int(ch), reason))
        except (OSError, ValueError) as exc:
            raise StoreError(f"{folder}: cannot read the batch night ({exc}); run `kneeemg batch` again") from None
        mtime = mtime_ns / 1e9 if isinstance(mtime_ns, (int, float)) and not isinstance(mtime_ns, bool) else None
        if not metrics.get("date"):  # the fallback of import: start time, else the file's time when batch read it
            metrics["date"] = fallback_date(metrics.get("start_time"), row["recording_s"], row["path"], mtime)[0]
        try:  # a start time from a wrong clock (import refuses it): the file's time instead
            check_start_date(metrics["date"], "start time", row["path"], datetime.now().date())
        except InputError:
            metrics["date"] = fallback_date(None, row["recording_s"], row["path"], mtime)[0]
        night = {
            "date": metrics.get("date"), "source": row["path"], "content_hash": digest, "settings_hash": s_hash,
            "start_time": metrics.get("start_time"), "recording_s": row["recording_s"], "usable_s": row["usable_s"],
            "lost_s": row.get("lost_s") or 0.0, "fs_hz": fs, "labels": json.dumps(row["channels"].split(",")),
            "settings": row["settings"], "version": row["kneeemg_version"], "metrics": json.dumps(metrics),
            "imported_at": _now(),
        }
        return self._insert_night(night, events, excluded, None)

    @_reads
    def nights(self) -> list[NightRow]:
        """All nights, oldest first (by date, then import order)."""
        return [self._row(r) for r in self._db.execute("SELECT * FROM nights ORDER BY date, id")]

    @_reads
    def night(self, key: int | str | None = None) -> NightRow:
        """A night by id, by date (YYYY-MM-DD: the one night of that date), or the latest.

        Raises
        ------
        InputError
            When there is no such night, or the date is that of more than one night (the
            message lists their ids).
        """
        if key is None or key == "latest":
            r = self._db.execute("SELECT * FROM nights ORDER BY date DESC, id DESC LIMIT 1").fetchone()
        elif isinstance(key, int) or str(key).isdecimal():
            digits = str(key).lstrip("0")  # (an id beyond SQLite's integers names no night)
            r = None if len(digits) > 19 or int(key) >= 2**63 else \
                self._db.execute("SELECT * FROM nights WHERE id=?", (int(key),)).fetchone()
        else:
            rows = self._db.execute("SELECT * FROM nights WHERE date=? ORDER BY id", (str(key),)).fetchall()
            if len(rows) > 1:
                which = ", ".join(f"{x['id']} ({Path(x['source']).name}, {', '.join(json.loads(x['labels']))}"
                                  f"{', started ' + x['start_time'][:16].replace('T', ' ') if x['start_time'] else ''})"
                                  for x in rows)
                raise InputError(f"{len(rows)} nights have the date {key} in {self.path}: {which}; "
                                 f"give the id of the one you mean instead of the date")
            r = rows[0] if rows else None
        if r is None:
            if key is None or key == "latest":
                raise InputError(f"no nights in {self.path} yet; import one with `kneeemg import FILE`")
            raise InputError(f"no night {key!r} in {self.path}; `kneeemg nights` lists them")
        return self._row(r)

    def forget_nights(self, keys: Iterable[int | str]) -> list[NightRow]:
        """Remove nights from the history, each named by id or by date (as :meth:`night`;
        ``"latest"`` is not taken: a night to forget is named), with their events, leg
        movements, excluded stretches and epochs. All or none: every key is checked first.
        The recordings and the diary are not touched; importing a recording again brings
        its night back.

        Returns
        -------
        list of NightRow
            The nights removed, as they were.

        Raises
        ------
        InputError
            A key names no night, or a date of more than one night (the message lists their
            ids), or none is given; nothing is removed then.
        StoreError
            The history cannot be written; nothing is removed.
        """
        keys = list(keys)
        if not keys or any(k is None or str(k).strip() in ("", "latest") for k in keys):
            raise InputError("name each night to forget by its id or its date (`kneeemg nights` lists them)")
        nights = list({n.id: n for n in (self.night(k) for k in keys)}.values())
        if self.read_only:
            raise StoreError(f"{self.path} cannot be written (read-only), so no night was forgotten; copy it to a "
                             "folder you can write to and use the copy with --db")
        try:
            with self._transaction():
                self._db.executemany("DELETE FROM nights WHERE id=?", [(n.id,) for n in nights])
        except sqlite3.Error as exc:
            raise _write_error(exc, self.path, "forget the nights") from None
        return nights

    def update_source(self, content_hash: str, source: str) -> list[int]:
        """Point every night stored from this content at ``source`` (the recording was moved).

        Returns the ids of the nights whose source changed (empty when none did).
        """
        try:
            with self._transaction():
                ids = [int(r["id"]) for r in self._db.execute("SELECT id FROM nights WHERE content_hash=? AND source<>?",
                                                              (content_hash, str(source)))]
                self._db.execute("UPDATE nights SET source=? WHERE content_hash=? AND source<>?",
                                 (str(source), content_hash, str(source)))
        except sqlite3.Error as exc:
            raise _write_error(exc, self.path, "update the night's recording path") from None
        return ids

    def set_date(self, night_id: int, on: str, only_if_missing: bool = True) -> bool:
        """Give a night the date ``on`` (ISO). With ``only_if_missing`` (the default) only a
        night stored without a date gets it; otherwise ``on`` replaces the stored date (the
        person gave it with ``kneeemg import --date``).

        Returns whether the date was set.
        """
        day = iso_date(on, "date")
        which = "id=? AND date IS NULL" if only_if_missing else "id=?"
        try:
            with self._transaction():
                r = self._db.execute(f"SELECT metrics FROM nights WHERE {which}", (int(night_id),)).fetchone()
                if r is None:
                    return False
                metrics = json.loads(r["metrics"] or "{}")
                metrics["date"] = day
                self._db.execute(f"UPDATE nights SET date=?, metrics=? WHERE {which}", (day, json.dumps(metrics), int(night_id)))
        except sqlite3.Error as exc:
            raise _write_error(exc, self.path, "set the night's date") from None
        return True

    def _row(self, r: sqlite3.Row) -> NightRow:
        return NightRow(int(r["id"]), r["date"], r["source"], r["start_time"], r["recording_s"], r["usable_s"],
                        r["lost_s"] or 0.0, r["fs_hz"], tuple(json.loads(r["labels"])), json.loads(r["metrics"] or "{}"),
                        json.loads(r["settings"] or "{}"), r["version"], r["content_hash"], r["imported_at"])

    @_reads
    def events(self, night_id: int, kinds: Iterable[str] = ("twitch", "spasm", "cramp")) -> list[Event]:
        """The night's events of the given kinds (``"lm"`` for leg movements; one kind or several),
        in onset order. ``night_id`` as :meth:`night` takes it; a night not stored is an
        :class:`InputError`."""
        n = self.night(night_id)
        kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
        q = f"SELECT * FROM events WHERE night_id=? AND kind IN ({','.join('?' * len(kinds))}) ORDER BY onset_sample, channel"
        return [Event(r["onset_sample"], r["offset_sample"], n.fs_hz, r["channel"], r["kind"], r["peak_uv"], r["rms_uv"],
                      r["snr_db"], n.labels[r["channel"]] if r["channel"] < len(n.labels) else "")
                for r in self._db.execute(q, (n.id, *kinds))]

    @_reads
    def leg_movements(self, night_id: int) -> list[Event]:
        """The night's WASM leg movements (computed from the thigh), in onset order."""
        return self.events(night_id, kinds=("lm",))

    @_reads
    def excluded(self, night_id: int) -> list[ExcludedInterval]:
        """The night's excluded time per channel, in start order (a night not stored: :class:`InputError`)."""
        n = self.night(night_id)
        return [ExcludedInterval(r["start_s"], r["stop_s"], r["channel"], r["reason"])
                for r in self._db.execute("SELECT * FROM excluded WHERE night_id=? ORDER BY start_s, channel", (n.id,))]

    @_reads
    def epochs(self, night_id: int) -> tuple[float, np.ndarray, np.ndarray] | None:
        """(epoch_s, flags (n_epochs, n_channels), floor_uv (n_epochs, n_channels) µV), or None if not kept
        (a night not stored: :class:`InputError`)."""
        r = self._db.execute("SELECT * FROM epochs WHERE night_id=?", (self.night(night_id).id,)).fetchone()
        return (r["epoch_s"], _from_npy(r["flags"]), _from_npy(r["floor_uv"])) if r else None

    # ---------------------------------------------------------------- diary
    def _put_day(self, day: DiaryDay, merge: bool) -> None:
        if not day.date:
            raise InputError("a diary entry needs its date (the evening the night began)")
        values = day.as_dict()
        if merge:
            old = self._db.execute("SELECT data FROM diary WHERE date=?", (day.date,)).fetchone()
            if old is not None:
                values = _merged(json.loads(old["data"]), values)
        self._db.execute("INSERT INTO diary VALUES (?,?,?) ON CONFLICT(date) DO UPDATE SET data=excluded.data,"
                         " updated_at=excluded.updated_at", (day.date, json.dumps(values), _now()))

    def save_day(self, day: DiaryDay, merge: bool = False) -> None:
        """Store the diary entry of ``day.date``, replacing it (or, with ``merge``, changing only the fields
        given and adding to stored lists; see :meth:`save_days`)."""
        self.save_days([day], merge=merge)

    def save_days(self, days: Iterable[DiaryDay], profile: Profile | None = None, merge: bool = False) -> int:
        """Store several days (and a profile) in one transaction: all or nothing.

        Parameters
        ----------
        days : iterable of DiaryDay
            Each needs its date; an entry for a date already stored replaces it.
        profile : Profile, optional
        merge : bool
            Change only the fields given, keeping the others already stored for that date
            (and in the profile); a list given (symptoms, medicines, ...) is added to the
            one stored, so nothing noted earlier is lost. Without ``merge`` the entry is
            replaced as a whole.

        Returns
        -------
        int
            How many days were stored.
        """
        days = list(days)
        missing = [i for i, d in enumerate(days) if not d.date]
        if missing:
            raise InputError(f"diary entry {missing[0] + 1} has no date; every entry needs the evening its night began")
        try:
            with self._transaction():
                for d in days:
                    self._put_day(d, merge)
                if profile is not None:
                    self._put_profile(profile, merge)
        except sqlite3.Error as exc:
            raise _write_error(exc, self.path, "store the diary") from None
        return len(days)

    @_reads
    def days(self, since: str | None = None, until: str | None = None) -> list[DiaryDay]:
        """Diary entries in date order, from ``since`` on and up to ``until`` (ISO dates, both included)."""
        where, args = [], []
        for op, value in ((">=", since), ("<=", _until(until))):
            if value:
                where.append(f"date{op}?")
                args.append(value)
        q = "SELECT data FROM diary" + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY date"
        return [validate_day(json.loads(r["data"]), where=f"{self.path} diary") for r in self._db.execute(q, args)]

    @_reads
    def day(self, on: str) -> DiaryDay | None:
        """The diary entry of one date, or None."""
        r = self._db.execute("SELECT data FROM diary WHERE date=?", (on,)).fetchone()
        return validate_day(json.loads(r["data"]), where=f"{self.path} diary") if r else None

    def save_profile(self, profile: Profile, merge: bool = False) -> None:
        """Store the profile, replacing it (or, with ``merge``, changing only the fields given and adding to
        stored lists; see :meth:`save_days`)."""
        self.save_days([], profile, merge=merge)

    def _put_profile(self, profile: Profile, merge: bool) -> None:
        values = profile.as_dict()
        if merge:
            values = _merged(self.profile().as_dict(), values)
        self._db.execute("INSERT INTO profile VALUES (1,?,?) ON CONFLICT(id) DO UPDATE SET data=excluded.data,"
                         " updated_at=excluded.updated_at", (json.dumps(values), _now()))

    @_reads
    def profile(self) -> Profile:
        """The profile (empty when none was saved)."""
        r = self._db.execute("SELECT data FROM profile WHERE id=1").fetchone()
        return validate_profile(json.loads(r["data"]), where=f"{self.path} profile") if r else Profile({})

    # ---------------------------------------------------------------- views
    @_reads
    def _dated_nights(self, until: str | None = None, own: int | None = None) -> list[NightRow]:
        """Nights with a date, oldest first; only those up to ``until`` (ISO date) when given.

        A recording imported more than once (other channels or settings) counts once, as
        :meth:`counted` says, or as the night ``own`` (an id: the night a report is about) for
        its own recording: two imports of one file are not two parts of a night.
        """
        until = _until(until)
        dated = [n for n in self.nights() if n.date and (until is None or n.date <= until)]
        recording = _recordings(dated)
        counted = {recording[n.id]: n.id for n in sorted(dated, key=_import_order)}
        for n in dated:
            if n.id == own:
                counted[recording[n.id]] = n.id
        return [n for n in dated if counted[recording[n.id]] == n.id]

    @_reads
    def counted(self, content_hash: str, source: str | None = None, start_time: str | None = None) -> NightRow | None:
        """The night that counts for a recording in trends and guidance: of the dated nights
        stored from it, the one imported last (``kneeemg import`` of an earlier one again makes
        it the last: :meth:`count_again`); None when none is dated. The recording is the content
        ``content_hash`` and, given ``source`` and ``start_time``, also the file at that path
        that started then (imported before in an earlier state: while still being recorded)."""
        dated = [n for n in self.nights() if n.date]
        recording = _recordings(dated)
        mine = {recording[n.id] for n in dated if n.content_hash == content_hash
                or (start_time is not None and (n.source, n.start_time) == (source, start_time))}
        return max((n for n in dated if recording[n.id] in mine), key=_import_order, default=None)

    def count_again(self, night_id: int) -> None:
        """Make a stored night the one that counts for its recording (:meth:`counted`), as if
        it had just been imported."""
        try:
            with self._transaction():
                self._db.execute("UPDATE nights SET imported_at=? WHERE id=?", (_now(), int(night_id)))
        except sqlite3.Error as exc:
            raise _write_error(exc, self.path, "update the night") from None

    @_reads
    def trend(self, last_days: int = 28, until: str | None = None, own: int | None = None,
              config: TriageConfig | None = None) -> list[dict[str, Any]]:
        """Nightly rates over the last ``last_days`` days, counted back from ``until`` (an ISO
        date: the night a report is about) or else from the latest night's date. With ``own``
        (the id of the night a report is about) that night counts for its recording, whichever
        import of it counts elsewhere (:meth:`counted`).

        ``last_days`` is ``kneeemg trends --days``: a whole number from 1 to
        :data:`MAX_TREND_DAYS`; an :class:`InputError` naming ``--days`` otherwise. Nights after
        ``until`` are left out of everything.

        The recordings of one date are one night (a sensor started again after a disconnect
        leaves a night in two files), as the guidance counts them: their counts, hours and
        excluded time are added up, the rate is over their usable time together, and the row
        also lists their ids (``night_ids``).

        ``config`` is the guidance's :class:`~kneeemg.guidance.TriageConfig` (its defaults when
        None): a night gives a rate with its ``min_usable_hours`` or more, as in the guidance.

        Returns
        -------
        list of dict
            Oldest first: ``night_id``, ``date``, ``usable_hours``, ``twitches``, ``spasms``,
            ``cramps``, ``twitch_per_hour`` (None for a night too short to give a rate: with less
            usable time than the guidance's ``min_usable_hours``, as shown to 0.1 h),
            ``rolling7_twitch_per_hour`` (mean rate of this night and the up to 6 nights before
            it that give one with as many channels, also those before the first day shown, so
            it does not depend on ``last_days``: the last 7 nights of :func:`kneeemg.trends.direction`;
            None for a night that gives no rate),
            ``recording_hours``, ``lost_hours`` (lost on the way from the sensor),
            ``excluded_s`` (seconds set aside, by reason, each channel's time added up) and
            ``sides`` (counts by kind on the ``"left"`` and ``"right"`` channels; empty unless
            the night had both), ``channels`` (the channels' labels), ``longest_spasm_s`` and
            ``longest_cramp_s``.
        """
        if isinstance(last_days, bool) or not isinstance(last_days, int) or not 1 <= last_days <= MAX_TREND_DAYS:
            raise InputError(f"--days={last_days!r} is out of range; give a whole number of days from 1 to {MAX_TREND_DAYS}")
        rows = [_trend_row(parts, config) for parts in _by_date(self._dated_nights(until, own))]
        first = 0
        if rows:
            last = date.fromisoformat(_until(until) or rows[-1]["date"])
            first = next((i for i, r in enumerate(rows) if date.fromisoformat(r["date"]) > last - timedelta(days=last_days)),
                         len(rows))
        for i, row in enumerate(rows):  # (as the direction's words count "the last 7 nights")
            n_ch = len(row["channels"])
            window = [r["twitch_per_hour"] for r in rows[: i + 1]
                      if r["twitch_per_hour"] is not None and len(r["channels"]) == n_ch][-7:]
            row["rolling7_twitch_per_hour"] = (round(float(np.mean(window)), 3)
                                               if window and row["twitch_per_hour"] is not None else None)
        return rows[first:]

    @_reads
    def case_for_triage(self, last_n: int | None = None, until: str | None = None, own: int | None = None,
                        config: TriageConfig | None = None) -> dict[str, Any]:
        """Profile, diary and recent nights in the guidance's case-file shape.

        The nights are those of the ``config.history_days`` days (56 by default) up to
        ``until`` (an ISO date: the night a report is about, so that an older night's
        guidance is what it was then) or, without it, from that many days before today on;
        when none lies in them, those of that many days up to the latest night. A window of
        days, not a number of nights: recording another night never drops one, so it never
        lowers the level. ``last_n`` takes the last ``last_n`` nights by date instead
        (``kneeemg triage --nights``).

        The diary holds the days from the first of those nights on, and at least the last
        :data:`TRIAGE_DIARY_DAYS` days up to ``until`` (or today), so that recording more
        nights never drops a symptom noted in the last weeks (all days up to ``until`` when
        there are no nights); of the days before, the symptoms noted, so that a warning
        sign noted long ago is still named in a note (:func:`kneeemg.guidance.triage`).
        Nights are in :func:`kneeemg.metrics.case_night` form. ``own`` as in :meth:`trend`.
        """
        if last_n is not None and (isinstance(last_n, bool) or not isinstance(last_n, int) or last_n < 1):
            raise InputError(f"--nights={last_n!r} is out of range; give a whole number of nights, 1 or more")
        end = date.fromisoformat(_until(until)) if until is not None else date.today()
        groups = _by_date(self._dated_nights(until, own))  # the recordings of one date stay together
        if last_n is not None:
            groups = groups[-last_n:]
        elif groups:
            days = (config or TriageConfig()).history_days
            first = (end - timedelta(days=days - 1)).isoformat()
            if groups[-1][0].date < first:  # none in them: the days up to the latest night
                first = (date.fromisoformat(groups[-1][0].date) - timedelta(days=days - 1)).isoformat()
            groups = [g for g in groups if g[0].date >= first]
        nights = [n for group in groups for n in group]
        recent = (end - timedelta(days=TRIAGE_DIARY_DAYS - 1)).isoformat()
        since = min(nights[0].date, recent) if nights else None
        earlier = [{"date": d.date, "symptoms": d.get("symptoms")} for d in self.days(until=_day_before(since))
                   if d.get("symptoms")] if since else []
        return {
            "profile": self.profile().as_dict(),
            "diary": earlier + [d.as_dict() for d in self.days(since=since, until=until)],
            "nights": [_case_night(n) for n in nights],
        }


def _recordings(nights: list[NightRow]) -> dict[int, int]:
    """Each night's recording, as the id of one of its nights. Nights are of one recording
    when they share content (imports with other channels or settings), or the file and the
    start time it holds (a file imported while it was still being recorded, and again once
    complete), or are linked so through other nights."""
    parent = {n.id: n.id for n in nights}

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    first: dict[tuple[Any, ...], int] = {}
    for n in nights:
        for key in (("content", n.content_hash), ("file", n.source, n.start_time) if n.start_time else None):
            if key is None:
                continue
            if key in first:
                parent[root(n.id)] = root(first[key])
            else:
                first[key] = n.id
    return {n.id: root(n.id) for n in nights}


def _import_order(n: NightRow) -> tuple[str, int]:
    """Nights in the order they were (last) imported."""
    return n.imported_at, n.id


def _by_date(nights: list[NightRow]) -> list[list[NightRow]]:
    """Nights (in date order) grouped by date: the recordings of one night (a sensor that
    was started again after a disconnect leaves the night in two files) are one night."""
    groups: list[list[NightRow]] = []
    for n in nights:
        if groups and groups[-1][0].date == n.date:
            groups[-1].append(n)
        else:
            groups.append([n])
    return groups


def _trend_row(parts: list[NightRow], config: TriageConfig | None = None) -> dict[str, Any]:
    """One :meth:`Store.trend` row (without its 7-night mean) from the recordings of a night:
    counts, hours and excluded time added up, the rate over their usable time together."""
    n = parts[0]
    row: dict[str, Any] = {"night_id": n.id, "date": n.date, "twitches": 0, "spasms": 0, "cramps": 0,
                           "excluded_s": {}, "sides": {}, "channels": [], "longest_spasm_s": None, "longest_cramp_s": None}
    for part in parts:
        counts = part.metrics.get("counts", {})
        for key, kind in (("twitches", "twitch"), ("spasms", "spasm"), ("cramps", "cramp")):
            row[key] += counts.get(kind) or 0
        for reason, secs in (part.metrics.get("excluded_s") or {}).items():
            row["excluded_s"][reason] = row["excluded_s"].get(reason, 0.0) + secs
        for side, by_kind in (part.metrics.get("sides") or {}).items():
            mine = row["sides"].setdefault(side, {})
            for kind, count in by_kind.items():
                mine[kind] = mine.get(kind, 0) + count
        row["channels"] += [lab for lab in part.labels if lab not in row["channels"]]
        for key in ("longest_spasm_s", "longest_cramp_s"):
            if part.metrics.get(key) is not None:
                row[key] = max(row[key] or 0.0, part.metrics[key])
    usable_s = sum(p.usable_s for p in parts)
    row["usable_hours"] = round(usable_s / 3600, 3)  # as the case night's, which gives_rate judges
    row["recording_hours"] = round(sum(p.recording_s for p in parts) / 3600, 2)
    row["lost_hours"] = round(sum(p.lost_s for p in parts) / 3600, 2)
    if len(parts) > 1:
        row["night_ids"] = [p.id for p in parts]
    # (as the night's own metrics give it: kneeemg.metrics.night_metrics)
    rate = round(row["twitches"] / (usable_s / 3600), 3) if usable_s > 0 else None
    row["twitch_per_hour"] = rate if gives_rate(usable_s, config) else None
    return row


def _case_night(n: NightRow) -> dict[str, Any]:
    """A stored night in the guidance's case-file shape (:func:`kneeemg.metrics.case_night`)."""
    return case_night(dict(n.metrics, usable_s=n.usable_s), date=n.date)


def _merged(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``old`` with the fields of ``new``: a list (symptoms, medicines, ...) is added to the
    stored one, so that symptoms noted one at a time are all kept; other fields replace."""
    out = {**old, **new}
    for key, value in new.items():
        if isinstance(value, list) and isinstance(old.get(key), list):
            out[key] = list(dict.fromkeys([*old[key], *value]))
    return out


def _day_before(day: str) -> str:
    """The ISO date before ``day``."""
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()


def _until(until: str | None) -> str | None:
    """``until`` as an ISO date (None stays None); an :class:`InputError` when it is not a date."""
    if until is None:
        return None
    try:
        return date.fromisoformat(str(until)).isoformat()
    except ValueError:
        raise InputError(f"until={until!r} is not a date; give the date of a night as YYYY-MM-DD") from None


@dataclass(frozen=True)
class ImportOutcome:
    """What :func:`import_recording` did.

    ``date_from`` says where the night's date came from: ``"given"``, ``"start time"`` (in
    the recording), ``"file time"`` (the file's modification time minus its length), or
    ``"already stored"`` (the night was in the history before, with its date).
    ``moved_from`` is the path the night's recording was stored under before, when the same
    content was imported again from another path (the stored path now follows it).
    ``dated`` is True when a night stored earlier was given a date now: one it did not have,
    or the one given with ``--date`` (``previous_date`` is the date it had, if any).
    ``info`` is what is known of the recording (a :class:`kneeemg.io.base.RecordingInfo`:
    its rate, format and path; for a night already stored, as stored), e.g. for the note that
    ``--fs`` was not used. ``replaces`` is the night of the same recording (another import of
    it: other channels or settings, or the same file imported while it was still being
    recorded) that counted in trends and guidance until this import, which counts instead
    (:meth:`Store.counted`), or None; ``replaces_earlier_file`` says that it was the file's
    earlier content.
    """

    night_id: int
    created: bool
    date: str | None
    date_from: str = "given"
    moved_from: str | None = None
    dated: bool = False
    previous_date: str | None = None
    info: Any = None
    replaces: NightRow | None = None
    replaces_earlier_file: bool = False


@dataclass(frozen=True)
class ImportFailure:
    """A recording :func:`import_recordings` could not import, and why (nothing of it was stored)."""

    path: str
    error: KneeEmgError

    @property
    def message(self) -> str:
        """One line: the error, naming the file, and that the file was skipped."""
        text = str(self.error)
        named = text if self.path in text or Path(self.path).name in text else f"{self.path}: {text}"
        return f"{named} (this file is skipped)"


def used_fs(path: str | os.PathLike[str], fs_hz: float | None) -> float | None:
    """``fs_hz`` when the recording at ``path`` needs it (a CSV file without a time column),
    else None: a file with its own rate does not use it (see :func:`gives_own_rate`)."""
    return None if fs_hz is None or gives_own_rate(path) else fs_hz


def import_settings(config: Any, channels: Any = None, resample_hz: float | None = None,
                    fs_hz: float | None = None) -> dict[str, Any]:
    """Everything that changes what a recording's import finds: the detector settings and,
    when given, the channel choice, the resampling rate and the sampling rate.

    Give ``fs_hz`` only when the recording uses it (:func:`used_fs`), so that an ``--fs`` that
    a file with its own rate ignores does not make another night of it.
    """
    settings = dict(config.as_dict())
    for key, value in (("channels", list(channels) if channels else None), ("resample_hz", resample_hz), ("fs_hz", fs_hz)):
        if value is not None:
            settings[f"import_{key}"] = value
    return settings


def import_options(settings: Mapping[str, Any]) -> list[str]:
    """The ``kneeemg import`` options that give a night of these stored settings again
    (:func:`import_settings`): ``--channels``, ``--resample``, ``--fs``, ``--mains`` and a
    ``--set`` for each detector setting that is not its default (retired ones left out)."""
    from .config import DetectorConfig

    opts: list[str] = []
    if settings.get("import_channels"):
        opts += ["--channels", *map(str, settings["import_channels"])]
    for key, option in (("import_resample_hz", "--resample"), ("import_fs_hz", "--fs")):
        if settings.get(key) is not None:
            opts += [option, f"{settings[key]:g}"]
    default = DetectorConfig().as_dict()
    for name, value in settings.items():
        if name not in default or value == default[name]:
            continue
        if name == "mains_hz":
            opts += ["--mains", "off" if value is None else str(value) if isinstance(value, str) else f"{value:g}"]
        else:
            opts += ["--set", f"{name}={value:g}"]
    return opts


def night_settings(path: str | os.PathLike[str], config: Any, channels: Any = None, resample_hz: float | None = None,
                   fs_hz: float | None = None) -> dict[str, Any]:
    """:func:`import_settings` of the recording at ``path``, with ``fs_hz`` only when it uses it
    (:func:`used_fs`) and the channels as the recording names them: chosen by index, by name
    in any case, or all of them in their order, the same channels are the same night (a
    channel whose label another channel shares is kept as its index)."""
    fs_used = used_fs(path, fs_hz)
    if channels:
        from .io import open_recording
        from .io.array import channel_indices

        try:
            try:
                rec = open_recording(path, fs_hz=fs_used)
            except KneeEmgError:  # (a rate only --resample makes usable)
                rec = open_recording(path, fs_hz=fs_used, resample_hz=resample_hz) if resample_hz else None
            if rec is not None:
                with rec:
                    every = list(rec.info.labels)
                idx = channel_indices(tuple(every), channels, str(path))
                # a label that several channels share stays an index: each is another night
                chosen = [every[i] if every.count(every[i]) == 1 else i for i in idx]
                channels = None if idx == list(range(len(every))) else chosen
        except Exception:  # noqa: BLE001 - (a damaged file, a bad choice): as given; the detection says what is wrong
            pass
    return import_settings(config, channels, resample_hz, fs_used)


def import_recording(store: Store, path: str | os.PathLike[str], config: Any = None, date: str | None = None,
                     channels: Any = None, resample_hz: float | None = None, fs_hz: float | None = None) -> ImportOutcome:
    """Detect a recording and store the night; one already stored with these settings is skipped.

    A recording already stored (the same content) that is imported from another path (it
    was moved or renamed) is not detected again: the stored nights of that content take the
    new path (``moved_from`` says the old one). A night already stored without a date gets
    one (as below); a stored date is changed only by a ``date`` given for it.

    Parameters
    ----------
    store : Store
    path : path
        The recording (any format :func:`kneeemg.replay` reads).
    config : DetectorConfig, optional
    date : str, optional
        The evening the night began (ISO date). Without it, the date comes from the
        recording's start time, or else from the file's modification time minus the
        recording's length (:func:`fallback_date`).
    channels, resample_hz, fs_hz : optional
        Passed to :func:`kneeemg.replay`. ``fs_hz`` counts as a setting only for a
        recording without a rate of its own (a CSV file without a time column); other files
        ignore it, and the night is the one stored without it.
    """
    from .config import as_config
    from .metrics import night_metrics
    from .playback import replay

    cfg = as_config(config)
    if date is not None:  # checked before the recording is read: a bad date would break every later trend
        date = iso_date(date, "date")
        check_not_after(date, datetime.now().date(), "date")  # (``date`` is the argument here)
    check_recording_named(path)
    p = Path(path)
    if p.suffix.lower() == ".dat" and p.with_suffix(".hea").is_file():
        p = p.with_suffix(".hea")  # a WFDB record is one night, named by its header (as kneeemg batch counts it)
    if not p.exists():
        raise InputError(f"{p} does not exist; check the path")
    if not p.is_file():
        raise InputError(f"{p} is not a file; give the path of a recording")
    if being_recorded(p):  # imported now and again when complete, its start would count twice
        raise InputError(f"{p} is still being recorded; import it once the recording has ended")
    digest = file_hash(p)
    source = path_text(p.resolve())
    extra = night_settings(p, cfg, channels, resample_hz, fs_hz)
    existing = store.find_night(digest, settings_hash(extra))
    if existing is None and channels:  # stored by an earlier kneeemg, under the channels as they were typed
        existing = store.find_night(digest, settings_hash(import_settings(cfg, channels, resample_hz, used_fs(p, fs_hz))))
    counted = store.counted(digest)
    if existing is not None:
        night = store.night(existing)
        info = _stored_info(night, p)
        replaces = counted if counted is not None and counted.id != existing else None
        if replaces is not None:  # imported the earlier way again: that import counts again
            store.count_again(existing)
        # the stored path follows the recording when it was moved (its old path is gone), not to a copy
        moved_from = night.source if night.source != source and not stored_path(night.source).exists() else None
        if moved_from is not None:
            store.update_source(digest, source)
        if night.date is not None and (date is None or date == night.date):
            return ImportOutcome(existing, False, night.date, "already stored", moved_from, info=info, replaces=replaces)
        on, date_from = (date, "given") if date is not None else fallback_date(night.start_time, night.recording_s, p)
        check_start_date(on, date_from, p, datetime.now().date())
        dated = store.set_date(existing, on, only_if_missing=date is None)
        return ImportOutcome(existing, False, store.night(existing).date, date_from if dated else "already stored",
                             moved_from, dated, night.date if dated else None, info=info, replaces=replaces)
    result = replay(p, channels=channels, config=cfg, resample_hz=resample_hz, fs_hz=fs_hz)
    date_from = "given"
    if date is None:
        date, date_from = fallback_date(getattr(result.source, "start_time", None), result.recording_s, p)
        check_start_date(date, date_from, p, datetime.now().date())
    metrics = night_metrics(result, date=date)
    if counted is None and metrics.start_time:  # the same file imported before, as it was then (still recording)
        counted = store.counted(digest, source, metrics.start_time)
    nid, created = store.add_night(result, metrics, source, digest, settings=extra)
    replaces = counted if counted is not None and counted.id != nid else None
    return ImportOutcome(nid, created, metrics.date, date_from, info=result.source, replaces=replaces,
                         replaces_earlier_file=replaces is not None and replaces.content_hash != digest)


def _stored_info(night: NightRow, path: Path) -> Any:
    """The RecordingInfo of a stored night's recording, as stored (rate, channels, length), with its format."""
    from .io import RecordingInfo, sniff_format

    try:
        fmt = sniff_format(path)
    except (OSError, KneeEmgError):
        fmt = ""
    fs = float(night.fs_hz or 0.0)
    return RecordingInfo(fs_hz=fs, labels=tuple(night.labels), n_samples=int(round(night.recording_s * fs)), path=path,
                         format=fmt)


def import_recordings(store: Store, paths: Iterable[str | os.PathLike[str]], **options: Any
                      ) -> Iterator[tuple[str, ImportOutcome | ImportFailure]]:
    """Import several recordings, one after another; a file that fails does not stop the others.

    Yields ``(path, outcome)`` for each file as it is done: an :class:`ImportOutcome`, or an
    :class:`ImportFailure` for a file that could not be imported (a kneeemg error: not a
    recording, unreadable, ...; nothing of that file is stored). ``options`` are those of
    :func:`import_recording`. Use :func:`import_failed` for the summary error afterwards.
    With a single path there are no others to go on with: its error is raised as it is.
    """
    paths = list(paths)
    for path in paths:
        try:
            yield str(path), import_recording(store, path, **options)
        except KneeEmgError as exc:
            if len(paths) == 1:
                raise
            yield str(path), ImportFailure(str(path), exc)
        except (KeyboardInterrupt, StoreError):
            raise
        except Exception as exc:  # noqa: BLE001 - a reader's own failure on one file must not stop the others
            if len(paths) == 1:
                raise
            yield str(path), ImportFailure(str(path), InputError(f"{path}: cannot be read ({type(exc).__name__}: {exc})"))


def import_into(db: str | os.PathLike[str] | None, paths: Iterable[str | os.PathLike[str]], **options: Any
                ) -> Iterator[tuple[str, ImportOutcome | ImportFailure]]:
    """:func:`import_recordings` into the history at ``db``, which is opened (and made, when
    new) only when one of ``paths`` exists: a command given only missing files makes no
    history. A ``db`` that is one of ``paths`` is refused (:class:`InputError`) before
    anything is written."""
    paths = list(paths)
    check_db_apart(db, paths, "one of the recordings to import")
    if any(Path(p).exists() for p in paths):
        with Store(db) as store:
            yield from import_recordings(store, paths, **options)
    else:  # (each is refused before the history is needed)
        yield from import_recordings(None, paths, **options)


def import_failed(failures: list[ImportFailure], total: int) -> KneeEmgError:
    """The one-line summary error after :func:`import_recordings` when some files failed.

    Its type (and exit code) is that of the most serious failure.
    """
    names = ", ".join(f.path for f in failures[:5]) + (f" and {len(failures) - 5} more" if len(failures) > 5 else "")
    worst = max((type(f.error) for f in failures), key=lambda cls: cls.exit_code)
    done = total - len(failures)
    rest = (f"the other {'one was' if done == 1 else f'{done} were'} imported or already there" if done
            else "nothing was imported")
    return worst(f"{len(failures)} of {plural(total, 'file')} could not be imported ({names}); {rest}. Fix or leave out "
                 f"{'that file' if len(failures) == 1 else 'those files'} and run `kneeemg import` again")


def import_batch(batch: Any, db: str | os.PathLike[str] | None) -> int:
    """Store every successful night of a :class:`~kneeemg.batch.BatchResult`; returns how many were new."""
    new = 0
    with Store(db) as store:
        for row in batch.rows:
            if row["status"] == "ok":
                _, created = store.add_batch_night(batch.csv_path.parent / "nights" / row["night_id"])
                new += created
    return new
