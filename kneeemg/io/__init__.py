"""Recording formats.

:func:`open_recording` picks the reader from the file's content and name:

| format | reader |
|---|---|
| kneeemg's crash-safe ``.kemg`` | :class:`~kneeemg.io.native.NativeRecording` (write with :class:`RecordingWriter`) |
| EDF, EDF+, BDF, BDF+ | :class:`~kneeemg.io.edf.EdfRecording` (export with :func:`export_edf`) |
| CSV/TSV with a time column (or ``fs_hz``) | :func:`~kneeemg.io.text.read_csv` |
| UCI lower-limb text files | :func:`~kneeemg.io.text.read_uci` |
| WFDB ``.hea`` + ``.dat`` | :func:`~kneeemg.io.text.read_wfdb` |
| MATLAB ``.mat`` with an ``EMG`` struct | :func:`~kneeemg.io.text.read_mat` |

Rates outside 500-4000 Hz are refused unless ``resample_hz`` is given. A recording too short
for the detector to learn a noise floor from (:data:`MIN_RECORDING_S`) is refused.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from ..config import MAX_FS_HZ, MIN_FS_HZ, MIN_RECORDING_S, check_rate
from ..errors import ConfigError, InputError, KneeEmgError, RecordingFormatError
from ..paths import check_recording_named
from ..words import plural
from .base import Gap, Recording, RecordingInfo
from .edf import EdfRecording, export_edf
from .native import NativeRecording, RecordingWriter
from .resampled import ResampledRecording

__all__ = ["open_recording", "Recording", "RecordingInfo", "Gap", "RecordingWriter", "export_edf", "FORMATS"]

FORMATS = ("kemg", "edf", "bdf", "csv", "uci", "wfdb", "mat")


def sniff_format(path: Path) -> str:
    """The format of ``path`` from its first bytes and its name."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    suffix = path.suffix.lower()
    if head.startswith(b"KEMG"):
        return "kemg"
    if head[:8] == b"0       " or head[:8] == b"\xffBIOSEMI" or suffix in (".edf", ".bdf", ".rec"):
        return "bdf" if head[:1] == b"\xff" or suffix == ".bdf" else "edf"
    if suffix in (".hea", ".dat"):
        return "wfdb"
    if suffix == ".mat" or head.startswith(b"MATLAB"):
        return "mat"
    text = head.decode("utf-8", errors="replace")
    if "engineering units" in text and "Channel" in text:
        return "uci"
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    raise RecordingFormatError(
        f"{path}: unknown recording format; kneeemg reads .kemg, EDF/EDF+/BDF/BDF+, CSV/TSV, WFDB (.hea) and .mat files"
    )


def gives_own_rate(path: str | os.PathLike[str]) -> bool:
    """Whether a recording file gives its own sampling rate (every format but a CSV file
    without a time column, which needs ``fs_hz``).

    Only the first bytes are read (the format, and a CSV file's header line). A file that
    cannot be read or is no recording counts as giving none: its import says what is wrong.
    """
    from .text import csv_has_time_column

    try:
        if sniff_format(Path(path)) != "csv":
            return True
    except (OSError, KneeEmgError):
        return False
    return csv_has_time_column(path)


def open_recording(
    path: str | os.PathLike[str],
    channels: Sequence[str | int] | None = None,
    fmt: str | None = None,
    resample_hz: float | None = None,
    fs_hz: float | None = None,
) -> Recording:
    """Open a recording of any supported format.

    Parameters
    ----------
    path : path
    channels : sequence of str or int, optional
        Channel labels (case-insensitive) or indices. When omitted: all channels, except in an
        EDF/BDF file that also holds other signals (ECG, EEG, ...), whose channels labelled as leg
        EMG are read (:func:`kneeemg.io.channels.default_channels`).
    fmt : str, optional
        Force a format (one of :data:`FORMATS`) instead of sniffing it.
    resample_hz : float, optional
        Resample to this rate, block by block as the recording is read
        (:class:`~kneeemg.io.resampled.ResampledRecording`).
    fs_hz : float, optional
        Sampling rate of a CSV file that has no time column.

    Raises
    ------
    InputError
        Missing file, unknown format, unknown channel, rate outside 500-4000 Hz, a recording
        shorter than :data:`MIN_RECORDING_S`.
    """
    check_recording_named(path)
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p} does not exist; check the path")
    if p.is_dir():
        raise InputError(f"{p} is a folder; name a recording file")
    if not p.is_file():  # a pipe or a device reads as empty, and could not be read twice
        raise InputError(f"{p} is not a regular file (a pipe or a device); save the recording to a file and name that")
    if p.stat().st_size == 0:
        raise RecordingFormatError(f"{p} is empty")
    kind = fmt or sniff_format(p)
    if kind not in FORMATS:
        raise InputError(f"unknown format {kind!r}; use one of {', '.join(FORMATS)}")
    from . import text

    if kind == "kemg":
        rec: Recording = NativeRecording(p)
        if channels is not None:
            rec = _subset(rec, channels)
    elif kind in ("edf", "bdf"):
        rec = EdfRecording(p, channels)
    elif kind == "uci":
        rec = text.read_uci(p, channels)
    elif kind == "csv":
        rec = text.read_csv(p, channels, fs_hz)
    elif kind == "wfdb":
        rec = text.read_wfdb(p, channels)
    else:
        rec = text.read_mat(p, channels)
    if rec.info.n_samples == 0:
        rec.close()
        raise RecordingFormatError(f"{p} holds no samples")
    if not rec.info.fs_hz > 0:
        rate = rec.info.fs_hz
        rec.close()
        raise RecordingFormatError(f"{p}: its sampling rate ({rate:g} Hz) is not above 0; the file's header is damaged")
    if rec.info.duration_s < MIN_RECORDING_S:
        info = rec.info
        rec.close()
        raise InputError(f"{p} holds only {plural(info.n_samples, 'sample')} ({info.duration_s:.3g} s), too short for the detector "
                         f"(it needs at least {MIN_RECORDING_S:g} s to learn the noise floor); use a longer recording")
    if resample_hz:
        try:
            target = check_rate(resample_hz)
        except KneeEmgError:
            rec.close()
            raise
        rec = ResampledRecording(rec, target)
    elif not MIN_FS_HZ <= rec.info.fs_hz <= MAX_FS_HZ:
        rate = rec.info.fs_hz
        rec.close()
        raise ConfigError(f"{p} is sampled at {rate:g} Hz, outside the supported 500-4000 Hz; add --resample 1000")
    return rec


class _Subset(Recording):
    """Some channels of another recording."""

    def __init__(self, inner: Recording, idx: list[int]) -> None:
        self._inner, self._idx = inner, idx
        self.info = replace(inner.info, labels=tuple(inner.info.labels[i] for i in idx))

    def read(self, start: int = 0, stop: int | None = None):
        return self._inner.read(start, stop)[:, self._idx]

    def close(self) -> None:
        self._inner.close()


def _subset(rec: Recording, channels: Sequence[str | int]) -> Recording:
    from .array import channel_indices

    return _Subset(rec, channel_indices(rec.info.labels, channels, str(rec.info.path)))
