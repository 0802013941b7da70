"""The history of nights: one SQLite file (WAL mode, schema migrations).

It holds nights (with their metrics, settings and package version), their events, leg
movements, excluded time and per-epoch signal quality, the diary (one entry per date) and
the profile. It lives in the user's data directory unless a path (``--db``) or
``KNEEEMG_DB`` says otherwise. A recording imported twice with the same settings is stored
once (by the hash of its content). Every write is one transaction: a failure leaves the
file as it was.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .diary import DiaryDay, Profile, validate_day, validate_profile
from .errors import InputError, StoreError
from .events import Event, ExcludedInterval

ENV_VAR = "KNEEEMG_DB"

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
    """``$KNEEEMG_DB``, or ``history.sqlite3`` in the user's data directory."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("kneeemg")) / "history.sqlite3"


def file_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's content."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
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
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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


class Store:
    """The history database. Use as a context manager.

    Parameters
    ----------
    path : path, optional
        The SQLite file (created with its folder); :func:`default_path` when omitted.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the history database {self.path} ({exc}); check the path or use --db") from None
        self._db.row_factory = sqlite3.Row
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self.migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StoreError(f"{self.path} is not a kneeemg history database ({exc}); use another --db") from None

    # ---------------------------------------------------------------- schema
    @property
    def version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self, to: int | None = None) -> None:
        """Run the migrations not yet applied (up to ``to``), each in one transaction."""
        target = len(MIGRATIONS) if to is None else to
        if self.version > len(MIGRATIONS):
            raise StoreError(f"{self.path} was written by a newer kneeemg (schema {self.version}); upgrade kneeemg")
        for v in range(self.version, target):
            with self._db:
                self._db.executescript(f"BEGIN; {MIGRATIONS[v]}; PRAGMA user_version = {v + 1}; COMMIT;")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- nights
    def find_night(self, content_hash: str, settings_hash: str) -> int | None:
        row = self._db.execute("SELECT id FROM nights WHERE content_hash=? AND settings_hash=?",
                               (content_hash, settings_hash)).fetchone()
        return int(row["id"]) if row else None

    def add_night(self, result: Any, metrics: Any, source: str, content_hash: str) -> tuple[int, bool]:
        """Store a night (a DetectionResult and its NightMetrics). Returns (id, created).

        A night with the same content hash and settings is not stored again.
        """
        from . import __version__

        settings = result.config.as_dict()
        s_hash = hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:12]
        existing = self.find_night(content_hash, s_hash)
        if existing is not None:
            return existing, False
        try:
            with self._db:
                cur = self._db.execute(
                    "INSERT INTO nights (date, source, content_hash, settings_hash, start_time, recording_s, usable_s, lost_s,"
                    " fs_hz, labels, settings, version, metrics, imported_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (metrics.date, source, content_hash, s_hash, metrics.start_time, result.recording_s, result.usable_s,
                     getattr(result, "lost_s", 0.0), result.fs_hz, json.dumps(list(result.labels)),
                     json.dumps(settings, default=str), __version__, json.dumps(metrics.as_dict(), default=str), _now()))
                nid = int(cur.lastrowid)
                rows = [(nid, e.kind, e.channel, e.onset_sample, e.offset_sample, e.peak_uv, e.rms_uv, e.snr_db)
                        for e in [*result.events, *result.leg_movements]]
                self._db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?)", rows)
                self._db.executemany("INSERT INTO excluded VALUES (?,?,?,?,?)",
                                     [(nid, iv.start_s, iv.stop_s, iv.channel, iv.reason) for iv in result.excluded])
                self._db.execute("INSERT INTO epochs VALUES (?,?,?,?)",
                                 (nid, result.epoch_s, _npy(result.epoch_flags), _npy(result.floor_uv)))
        except sqlite3.Error as exc:
            raise StoreError(f"could not store the night in {self.path} ({exc}); nothing was changed") from None
        return nid, True

    def add_batch_night(self, night_dir: str | os.PathLike[str]) -> tuple[int, bool]:
        """Store a night from a ``kneeemg batch`` night folder (no detection is run again)."""
        from .events import read_events_csv

        folder = Path(night_dir)
        stored = json.loads((folder / "result.json").read_text())
        row, metrics = stored["row"], stored["metrics"]
        s_hash, digest = row["settings_hash"], stored["content_hash"]
        existing = self.find_night(digest, s_hash)
        if existing is not None:
            return existing, False
        fs = float(row["fs_hz"])
        events = read_events_csv(folder / "events.csv", fs) + read_events_csv(folder / "leg_movements.csv", fs)
        excluded = []
        for line in (folder / "excluded.csv").read_text().splitlines()[1:]:
            a, b, ch, reason = line.split(",")
            excluded.append((float(a), float(b), int(ch), reason))
        try:
            with self._db:
                cur = self._db.execute(
                    "INSERT INTO nights (date, source, content_hash, settings_hash, start_time, recording_s, usable_s, lost_s,"
                    " fs_hz, labels, settings, version, metrics, imported_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (metrics.get("date"), row["path"], digest, s_hash, metrics.get("start_time"), row["recording_s"], row["usable_s"],
                     row.get("lost_s") or 0.0, fs, json.dumps(row["channels"].split(",")), row["settings"], row["kneeemg_version"],
                     json.dumps(metrics), _now()))
                nid = int(cur.lastrowid)
                self._db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?)",
                                     [(nid, e.kind, e.channel, e.onset_sample, e.offset_sample, e.peak_uv, e.rms_uv, e.snr_db) for e in events])
                self._db.executemany("INSERT INTO excluded VALUES (?,?,?,?,?)", [(nid, *x) for x in excluded])
        except sqlite3.Error as exc:
            raise StoreError(f"could not store the night in {self.path} ({exc}); nothing was changed") from None
        return nid, True

    def nights(self) -> list[NightRow]:
        """All nights, oldest first (by date, then import order)."""
        return [self._row(r) for r in self._db.execute("SELECT * FROM nights ORDER BY date, id")]

    def night(self, key: int | str | None = None) -> NightRow:
        """A night by id, by date (YYYY-MM-DD: the latest import of that date), or the latest."""
        if key is None or key == "latest":
            r = self._db.execute("SELECT * FROM nights ORDER BY date DESC, id DESC LIMIT 1").fetchone()
        elif isinstance(key, int) or str(key).isdigit():
            r = self._db.execute("SELECT * FROM nights WHERE id=?", (int(key),)).fetchone()
        else:
            r = self._db.execute("SELECT * FROM nights WHERE date=? ORDER BY id DESC LIMIT 1", (str(key),)).fetchone()
        if r is None:
            raise InputError(f"no night {key!r} in {self.path}; `kneeemg nights` lists them" if key else f"no nights in {self.path} yet; import one with `kneeemg import FILE`")
        return self._row(r)

    def _row(self, r: sqlite3.Row) -> NightRow:
        return NightRow(int(r["id"]), r["date"], r["source"], r["start_time"], r["recording_s"], r["usable_s"],
                        r["lost_s"] or 0.0, r["fs_hz"], tuple(json.loads(r["labels"])), json.loads(r["metrics"] or "{}"),
                        json.loads(r["settings"] or "{}"), r["version"])

    def events(self, night_id: int, kinds: Iterable[str] = ("twitch", "spasm", "cramp")) -> list[Event]:
        """The night's events of the given kinds (``"lm"`` for leg movements), in onset order."""
        n = self.night(night_id)
        kinds = tuple(kinds)
        q = f"SELECT * FROM events WHERE night_id=? AND kind IN ({','.join('?' * len(kinds))}) ORDER BY onset_sample, channel"
        return [Event(r["onset_sample"], r["offset_sample"], n.fs_hz, r["channel"], r["kind"], r["peak_uv"], r["rms_uv"],
                      r["snr_db"], n.labels[r["channel"]] if r["channel"] < len(n.labels) else "")
                for r in self._db.execute(q, (night_id, *kinds))]

    def excluded(self, night_id: int) -> list[ExcludedInterval]:
        return [ExcludedInterval(r["start_s"], r["stop_s"], r["channel"], r["reason"])
                for r in self._db.execute("SELECT * FROM excluded WHERE night_id=? ORDER BY start_s", (night_id,))]

    def epochs(self, night_id: int) -> tuple[float, np.ndarray, np.ndarray] | None:
        """(epoch_s, flags (n_epochs, n_channels), floor_uv (n_epochs, n_channels)) or None."""
        r = self._db.execute("SELECT * FROM epochs WHERE night_id=?", (night_id,)).fetchone()
        return (r["epoch_s"], _from_npy(r["flags"]), _from_npy(r["floor_uv"])) if r else None

    # ---------------------------------------------------------------- diary
    def save_day(self, day: DiaryDay) -> None:
        """Store (or replace) the diary entry of ``day.date``."""
        if not day.date:
            raise InputError("a diary entry needs its date (the evening the night began)")
        with self._db:
            self._db.execute("INSERT INTO diary VALUES (?,?,?) ON CONFLICT(date) DO UPDATE SET data=excluded.data,"
                             " updated_at=excluded.updated_at", (day.date, json.dumps(day.as_dict()), _now()))

    def save_days(self, days: Iterable[DiaryDay], profile: Profile | None = None) -> int:
        """Store several days (and a profile) in one transaction: all or nothing."""
        days = list(days)
        with self._db:
            for d in days:
                if not d.date:
                    raise InputError("a diary entry needs its date (the evening the night began)")
                self._db.execute("INSERT INTO diary VALUES (?,?,?) ON CONFLICT(date) DO UPDATE SET data=excluded.data,"
                                 " updated_at=excluded.updated_at", (d.date, json.dumps(d.as_dict()), _now()))
            if profile is not None:
                self._save_profile(profile)
        return len(days)

    def days(self, since: str | None = None) -> list[DiaryDay]:
        q, args = ("SELECT data FROM diary WHERE date>=? ORDER BY date", (since,)) if since else ("SELECT data FROM diary ORDER BY date", ())
        return [validate_day(json.loads(r["data"])) for r in self._db.execute(q, args)]

    def day(self, on: str) -> DiaryDay | None:
        r = self._db.execute("SELECT data FROM diary WHERE date=?", (on,)).fetchone()
        return validate_day(json.loads(r["data"])) if r else None

    def save_profile(self, profile: Profile) -> None:
        with self._db:
            self._save_profile(profile)

    def _save_profile(self, profile: Profile) -> None:
        self._db.execute("INSERT INTO profile VALUES (1,?,?) ON CONFLICT(id) DO UPDATE SET data=excluded.data,"
                         " updated_at=excluded.updated_at", (json.dumps(profile.as_dict()), _now()))

    def profile(self) -> Profile:
        r = self._db.execute("SELECT data FROM profile WHERE id=1").fetchone()
        return validate_profile(json.loads(r["data"])) if r else Profile({})

    # ---------------------------------------------------------------- views
    def trend(self, days: int = 28) -> list[dict[str, Any]]:
        """Nightly rates over the last ``days`` days (by night date), with a 7-night rolling mean."""
        rows = [n for n in self.nights() if n.date]
        if rows:
            last = max(date.fromisoformat(n.date) for n in rows)
            rows = [n for n in rows if date.fromisoformat(n.date) > last - timedelta(days=days)]
        out = []
        for i, n in enumerate(rows):
            rate = (n.metrics.get("per_usable_hour") or {}).get("twitch")
            window = [r for r in rows[max(0, i - 6) : i + 1] if (r.metrics.get("per_usable_hour") or {}).get("twitch") is not None]
            mean = float(np.mean([r.metrics["per_usable_hour"]["twitch"] for r in window])) if window else None
            counts = n.metrics.get("counts", {})
            out.append({"night_id": n.id, "date": n.date, "usable_hours": round(n.usable_s / 3600, 2),
                        "twitches": counts.get("twitch"), "spasms": counts.get("spasm"), "cramps": counts.get("cramp"),
                        "twitch_per_hour": rate, "rolling7_twitch_per_hour": None if mean is None else round(mean, 2)})
        return out

    def case_for_triage(self, last_n: int = 14) -> dict[str, Any]:
        """Profile, diary and the last ``last_n`` nights in the guidance's case-file shape."""
        nights = [n for n in self.nights() if n.date][-last_n:]
        first = nights[0].date if nights else None
        return {
            "profile": self.profile().as_dict(),
            "diary": [d.as_dict() for d in self.days(since=first)] if first else [d.as_dict() for d in self.days()],
            "nights": [_case_night(n) for n in nights],
        }


def _case_night(n: NightRow) -> dict[str, Any]:
    m = n.metrics
    counts = m.get("counts", {})
    lm = m.get("leg_movements", {})
    return {"date": n.date, "usable_hours": round(n.usable_s / 3600, 3), "twitches": counts.get("twitch", 0),
            "spasms": counts.get("spasm", 0), "cramps": counts.get("cramp", 0),
            "longest_cramp_s": m.get("longest_cramp_s", 0.0), "periodic_series": lm.get("periodic_series", 0),
            "twitch_rate_per_hour": (m.get("per_usable_hour") or {}).get("twitch"),
            "clusters": (m.get("clusters") or {}).get("count", 0)}


@dataclass(frozen=True)
class ImportOutcome:
    night_id: int
    created: bool
    date: str | None


def import_recording(store: Store, path: str | os.PathLike[str], config: Any = None, date: str | None = None,
                     channels: Any = None, resample_hz: float | None = None) -> ImportOutcome:
    """Detect a recording and store it; a recording already stored with these settings is skipped."""
    from .config import DetectorConfig
    from .metrics import night_metrics
    from .replay import replay

    cfg = config or DetectorConfig()
    digest = file_hash(path)
    s_hash = hashlib.sha1(json.dumps(cfg.as_dict(), sort_keys=True, default=str).encode()).hexdigest()[:12]
    existing = store.find_night(digest, s_hash)
    if existing is not None:
        return ImportOutcome(existing, False, store.night(existing).date)
    result = replay(path, channels=channels, config=cfg, resample_hz=resample_hz)
    if date is None and (result.source is None or result.source.start_time is None):
        date = datetime.fromtimestamp(Path(path).stat().st_mtime).date().isoformat()
    metrics = night_metrics(result, date=date)
    nid, created = store.add_night(result, metrics, str(Path(path).resolve()), digest)
    return ImportOutcome(nid, created, metrics.date)


def import_batch(batch: Any, db: str | os.PathLike[str] | None) -> int:
    """Store every successful night of a :class:`~kneeemg.batch.BatchResult`; returns how many were new."""
    from .batch import night_id

    new = 0
    with Store(db) as store:
        for row in batch.rows:
            if row["status"] == "ok":
                _, created = store.add_batch_night(batch.csv_path.parent / "nights" / night_id(row["path"]))
                new += created
    return new
