"""Detected events, excluded time, and their CSV form.

An :class:`Event` is one burst on one channel. Sample indices are absolute (counted from
the first sample of the recording) and the offset is exclusive, so
``duration_s == (offset_sample - onset_sample) / fs_hz``.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from .errors import InputError

#: Event kinds in order of duration. See ``docs/detector.md`` for the rules.
KINDS: tuple[str, ...] = ("twitch", "spasm", "cramp")

#: Every kind an event may have: :data:`KINDS`, and ``"lm"`` (WASM leg movements).
ALL_KINDS: tuple[str, ...] = (*KINDS, "lm")

#: Columns of ``events.csv``; the first six are the public minimum.
CSV_COLUMNS: tuple[str, ...] = (
    "onset_s",
    "offset_s",
    "channel",
    "kind",
    "peak_uv",
    "duration_s",
    "rms_uv",
    "snr_db",
    "channel_index",
    "onset_sample",
    "offset_sample",
)


@dataclass(frozen=True, slots=True)
class Event:
    """One burst of muscle activity on one channel.

    Attributes
    ----------
    onset_sample, offset_sample : int
        First sample of the burst and one past its last sample, counted from the start of
        the recording.
    fs_hz : float
        Sampling rate the indices refer to, in Hz.
    channel : int
        Channel index (column of the signal array).
    kind : str
        ``"twitch"``, ``"spasm"`` or ``"cramp"`` (or ``"lm"`` for a WASM leg movement).
    peak_uv : float
        Largest absolute value of the filtered signal inside the burst, in µV.
    rms_uv : float
        Root mean square of the filtered signal inside the burst, in µV.
    snr_db : float
        ``20 * log10(rms_uv / floor_uv)``, the burst's RMS over the noise floor at onset.
    channel_label : str
        Human-readable channel name (``"VM"``, ``"ch0"``).
    """

    onset_sample: int
    offset_sample: int
    fs_hz: float
    channel: int
    kind: str
    peak_uv: float
    rms_uv: float
    snr_db: float
    channel_label: str = ""

    @property
    def onset_s(self) -> float:
        return self.onset_sample / self.fs_hz

    @property
    def offset_s(self) -> float:
        return self.offset_sample / self.fs_hz

    @property
    def duration_s(self) -> float:
        return (self.offset_sample - self.onset_sample) / self.fs_hz

    def as_row(self) -> dict[str, object]:
        """The event as a ``events.csv`` row (floats rounded to a readable precision)."""
        return {
            "onset_s": f"{self.onset_s:.4f}",
            "offset_s": f"{self.offset_s:.4f}",
            "channel": self.channel_label or f"ch{self.channel}",
            "kind": self.kind,
            "peak_uv": f"{self.peak_uv:.2f}",
            "duration_s": f"{self.duration_s:.4f}",
            "rms_uv": f"{self.rms_uv:.2f}",
            "snr_db": f"{self.snr_db:.2f}",
            "channel_index": self.channel,
            "onset_sample": self.onset_sample,
            "offset_sample": self.offset_sample,
        }


@dataclass(frozen=True, slots=True)
class ExcludedInterval:
    """A stretch of one channel that is not usable, with the reason.

    ``reason`` is one of ``"lost"`` (samples lost while recording, held at the last value
    by the reader), ``"flat"`` (electrode off),
    ``"saturation"`` (signal at the rail), ``"dc_jump"``, ``"movement"`` (energy mostly
    below 20 Hz), ``"mains"`` (hum the notch could not remove), ``"settling"`` (the
    first second, while the filters settle), ``"noise_rise"`` (the noise itself rose and
    stayed up, until the noise floor had re-learned it), ``"spike"`` (a brief burst that one
    single-sample electrical spike explains: a converter glitch, an electrode pop) or
    ``"step"`` (one that a small step of the electrode's offset explains).
    """

    start_s: float
    stop_s: float
    channel: int
    reason: str

    @property
    def duration_s(self) -> float:
        return self.stop_s - self.start_s


@dataclass(frozen=True, slots=True)
class PeriodicSeries:
    """A periodic leg-movement series: indices into the leg-movement list."""

    channel: int
    members: tuple[int, ...] = field(default_factory=tuple)


def sort_events(events: Iterable[Event]) -> list[Event]:
    """Events in onset order (ties broken by channel, then offset)."""
    return sorted(events, key=lambda e: (e.onset_sample, e.channel, e.offset_sample))


def write_events_csv(events: Sequence[Event], path: str | Path) -> Path:
    """Write events to ``path`` as CSV (columns :data:`CSV_COLUMNS`), in onset order.

    The file is written under a temporary name and then moved into place: an earlier file
    at ``path`` is replaced whole or, on an error, left as it was.

    Raises
    ------
    InputError
        When ``path`` is a folder, its folder does not exist, or the file cannot be written.
    """
    from .paths import replacing

    path = Path(path)
    if path.is_dir():
        raise InputError(f"events file {path} is a folder; give a file name, e.g. {path / 'events.csv'}")
    if not path.parent.is_dir():
        raise InputError(f"events file {path}: folder {path.parent} does not exist; create it or choose another path")
    try:
        with replacing(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            for ev in sort_events(events):
                writer.writerow(ev.as_row())
    except OSError as exc:
        raise InputError(f"events file {path} cannot be written ({exc.strerror}); choose another path") from None
    return path


def csv_signature() -> bytes:
    """How an events CSV written by :func:`write_events_csv` begins (its header)."""
    return ",".join(CSV_COLUMNS).encode()


def read_events_csv(path: str | Path, fs_hz: float | None = None) -> list[Event]:
    """Read an ``events.csv`` written by :func:`write_events_csv` (or by hand).

    Only the six public columns are required. With ``fs_hz`` (the recording's rate, Hz),
    ``onset_sample`` and ``offset_sample`` are used when present, else derived from the times.
    Without it, the times are read at 1 ms resolution (events at 1000 Hz) and the sample
    columns, which count samples at a rate the file does not state, are not used.

    Raises
    ------
    InputError
        When the file is missing, a folder, not UTF-8 text, lacks a column, or has a row
        that cannot be read (the message names the line).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"events file {path} does not exist; check the path")
    if path.is_dir():
        raise InputError(f"events file {path} is a folder; give the CSV file in it, e.g. {path / 'events.csv'}")
    rate = float(fs_hz) if fs_hz else 1000.0
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return _read_rows(csv.DictReader(fh), path, rate, samples=bool(fs_hz))
    except UnicodeDecodeError:
        raise InputError(f"events file {path} is not UTF-8 text; save it as a UTF-8 CSV") from None
    except csv.Error as exc:
        raise InputError(f"events file {path} is not a readable CSV ({exc}); save it as a plain CSV") from None
    except OSError as exc:
        raise InputError(f"events file {path} cannot be read ({exc.strerror}); check its permissions") from None


def _read_rows(reader: csv.DictReader, path: Path, rate: float, samples: bool = True) -> list[Event]:
    """The events of an open events CSV (see :func:`read_events_csv`); the sample columns
    are used only with ``samples``."""
    events: list[Event] = []
    missing = {"onset_s", "offset_s", "channel", "kind", "peak_uv"} - set(reader.fieldnames or ())
    if missing:
        raise InputError(
            f"events file {path} lacks column(s) {', '.join(sorted(missing))}; "
            f"expected at least onset_s,offset_s,channel,kind,peak_uv,duration_s"
        )
    for lineno, row in enumerate(reader, start=2):
        if None in row.values():
            raise InputError(f"{path}:{lineno}: the row has fewer values than the header has columns; "
                             f"fix or remove that line")
        if row["kind"] not in ALL_KINDS:
            raise InputError(f"{path}:{lineno}: unknown kind {row['kind']!r}; use one of {', '.join(ALL_KINDS)}")
        try:
            onset_s = float(row["onset_s"])
            offset_s = float(row["offset_s"])
            if not (math.isfinite(onset_s) and math.isfinite(offset_s)):
                raise ValueError("onset_s and offset_s must be finite")
            on = int(row["onset_sample"]) if samples and row.get("onset_sample") else round(onset_s * rate)
            off = int(row["offset_sample"]) if samples and row.get("offset_sample") else round(offset_s * rate)
            label = row["channel"]
            idx = int(row["channel_index"]) if row.get("channel_index") else _label_index(label)
            ev = Event(
                onset_sample=on,
                offset_sample=off,
                fs_hz=rate,
                channel=idx,
                kind=row["kind"],
                peak_uv=float(row["peak_uv"]),
                rms_uv=float(row.get("rms_uv") or "nan"),
                snr_db=float(row.get("snr_db") or "nan"),
                channel_label=label,
            )
        except (TypeError, ValueError) as exc:
            raise InputError(f"{path}:{lineno}: cannot read event row ({exc}); fix or remove that line") from None
        if not math.isfinite(ev.onset_s) or ev.offset_sample < ev.onset_sample:
            raise InputError(f"{path}:{lineno}: offset before onset; fix or remove that line")
        events.append(ev)
    return events


def _label_index(label: str) -> int:
    if label.startswith("ch") and label[2:].isdecimal():
        return int(label[2:])
    return 0
