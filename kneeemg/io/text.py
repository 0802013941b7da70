"""Small file formats read whole: CSV/TSV, the UCI lower-limb text files, WFDB and MATLAB.

These files are seconds to minutes long in practice; they are read into an
:class:`~kneeemg.io.array.ArrayRecording`.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import InputError, RecordingFormatError
from ..words import plural
from .array import ArrayRecording, select_channels
from .base import RecordingInfo
from .edf import UNIT_TO_UV

#: Column names that hold time in seconds.
TIME_COLUMNS = ("time", "time_s", "t", "seconds", "timestamp")
#: UCI channel names (Spanish in the "A" files) and their short labels.
UCI_NAMES = {"recto femoral": "RF", "biceps femoral": "BF", "vasto medial": "VM", "emg semitendinoso": "ST",
             "flexo-extension": "FX", "rf": "RF", "bf": "BF", "vm": "VM", "st": "ST", "fx": "FX"}
_UCI_CHANNEL = re.compile(r"Channel\s+\d+:\s*'([^']+)'.*engineering units:\s*([^,]+)", re.IGNORECASE)


def _numeric_rows(lines: list[str], sep: str | None) -> list[list[float]]:
    rows = []
    for line in lines:
        parts = line.strip().split(sep) if sep else line.split()
        try:
            rows.append([float(p) for p in parts if p != ""])
        except ValueError:
            continue  # header or comment line
    return rows


def looks_like_uci(head: str) -> bool:
    return "engineering units" in head and "Channel" in head


def read_uci(path: Path, channels: Sequence[str | int] | None) -> ArrayRecording:
    """A UCI "EMG dataset in Lower Limb" text file (1000 Hz; EMG in mV, knee angle FX in degrees)."""
    lines = path.read_text(errors="replace").splitlines()
    names, units = [], []
    for line in lines[:12]:
        m = _UCI_CHANNEL.search(line)
        if m:
            names.append(UCI_NAMES.get(m.group(1).strip().lower(), m.group(1).strip()))
            units.append(m.group(2).strip().lower())
    rows = [r for r in _numeric_rows(lines, "\t") if len(r) >= len(names)]
    if not names or not rows:
        raise RecordingFormatError(f"{path}: no channel header or no samples; is it a UCI lower-limb text file?")
    data = np.array([r[: len(names)] for r in rows])
    emg = [i for i, u in enumerate(units) if u in UNIT_TO_UV]
    extra = {names[i]: (data[:, i].copy(), 1000.0) for i in range(len(names)) if i not in emg}
    x = data[:, emg] * np.array([UNIT_TO_UV[units[i]] for i in emg])
    x, labels = select_channels(x, tuple(names[i] for i in emg), channels, str(path))
    info = RecordingInfo(fs_hz=1000.0, labels=labels, n_samples=len(x), path=path, format="uci-text", extra=extra)
    return ArrayRecording(x, info)


def _header(text: str) -> tuple[str | None, list[str]]:
    """The delimiter (None: whitespace) and the first line's cells of a CSV/TSV text."""
    head = text[:4096]
    sep = csv.Sniffer().sniff(head, delimiters=",;\t").delimiter if any(c in head for c in ",;\t") else None
    first = text.splitlines()[0]
    return sep, [h.strip() for h in (first.split(sep) if sep else first.split())]


def csv_has_time_column(path: str | os.PathLike[str]) -> bool:
    """Whether a CSV/TSV file's header names a time column (so it gives its own rate);
    reads only its first 4 kB. False for an empty or unreadable file."""
    try:
        with Path(path).open(errors="replace") as fh:
            head = fh.read(4096)
        if not head.strip():
            return False
        _, header = _header(head)
    except (OSError, csv.Error):
        return False
    return any(h.lower() in TIME_COLUMNS for h in header)


def read_csv(path: Path, channels: Sequence[str | int] | None, fs_hz: float | None) -> ArrayRecording:
    """CSV or TSV with a header of labels; the rate from a time column or ``fs_hz``. Values in µV."""
    text = path.read_text(errors="replace")
    if not text.strip():
        raise RecordingFormatError(f"{path} is empty")
    sep, header = _header(text)
    lines = text.splitlines()
    rows = _numeric_rows(lines[1:] if not _all_numbers(header) else lines, sep)
    if _all_numbers(header):
        header = [f"ch{i}" for i in range(len(rows[0]))] if rows else []
    width = len(header)
    rows = [r for r in rows if len(r) == width]
    if not rows:
        raise RecordingFormatError(f"{path}: no rows of {plural(width, 'number')}; check the delimiter and header")
    data = np.array(rows)
    tcol = next((i for i, h in enumerate(header) if h.lower() in TIME_COLUMNS), None)
    if tcol is not None:
        dt = np.diff(data[:, tcol])
        if len(dt) == 0 or np.any(dt <= 0):
            raise InputError(f"{path}: the time column {header[tcol]!r} does not increase steadily")
        rate = float(1.0 / np.median(dt))
        data = np.delete(data, tcol, axis=1)
        labels = tuple(h for i, h in enumerate(header) if i != tcol)
    elif fs_hz:
        rate, labels = float(fs_hz), tuple(header)
    else:
        raise InputError(f"{path} has no time column; give the sampling rate with --fs (or add a 'time' column in seconds)")
    if abs(rate - round(rate)) < 0.01 * rate:
        rate = float(round(rate))
    x, labels = select_channels(data, labels, channels, str(path))
    return ArrayRecording(x, RecordingInfo(fs_hz=rate, labels=labels, n_samples=len(x), path=path, format="csv"))


def _all_numbers(items: list[str]) -> bool:
    try:
        [float(i) for i in items]
        return True
    except ValueError:
        return False


def read_wfdb(path: Path, channels: Sequence[str | int] | None) -> ArrayRecording:
    """A WFDB record (``.hea`` + ``.dat``) through the ``wfdb`` package; physical units to µV."""
    import wfdb

    base = path.with_suffix("")
    try:
        rec = wfdb.rdrecord(str(base))
    except (OSError, ValueError) as exc:
        raise RecordingFormatError(f"{path}: cannot read the WFDB record ({exc})") from None
    scale = np.array([UNIT_TO_UV.get((u or "mV").strip().lower(), 1.0) for u in rec.units])
    x = rec.p_signal * scale
    x, labels = select_channels(x, tuple(rec.sig_name), channels, str(path))
    info = RecordingInfo(fs_hz=float(rec.fs), labels=labels, n_samples=len(x), path=path, format="wfdb",
                         start_time=rec.base_datetime)
    return ArrayRecording(x, info)


def read_mat(path: Path, channels: Sequence[str | int] | None) -> ArrayRecording:
    """A MATLAB file with a struct ``EMG`` holding ``channelData`` (samples x channels) and ``fs``."""
    from scipy.io import loadmat

    try:
        m = loadmat(str(path), squeeze_me=True, struct_as_record=False)
    except (ValueError, OSError) as exc:
        raise RecordingFormatError(f"{path}: cannot read the MATLAB file ({exc})") from None
    except NotImplementedError:  # scipy's answer to MATLAB v7.3 (HDF5) files
        raise RecordingFormatError(f"{path} is a MATLAB v7.3 file; save it with save(..., '-v7') or export it as EDF or CSV") from None
    emg = m.get("EMG")
    if emg is None or not hasattr(emg, "channelData") or not hasattr(emg, "fs"):
        raise RecordingFormatError(f"{path}: expected a struct EMG with fields channelData and fs")
    x = np.asarray(emg.channelData, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    elif x.shape[0] < x.shape[1]:
        x = x.T
    x, labels = select_channels(x, tuple(f"ch{i}" for i in range(x.shape[1])), channels, str(path))
    return ArrayRecording(x, RecordingInfo(fs_hz=float(emg.fs), labels=labels, n_samples=len(x), path=path, format="mat"))
