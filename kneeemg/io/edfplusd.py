"""Discontinuous EDF+D and BDF+D files, made continuous so that pyedflib reads them.

In an EDF+D file the data records need not follow one another in time: a recorder paused
(a break in a sleep study) writes the next record with a later start, which the record's
first annotation (its time-keeping TAL, ``+onset\\x14\\x14\\x00``) gives. pyedflib reads no such
file. :func:`continuous_copy` writes a continuous copy into a temporary folder: the records in
their places on a grid of whole records, each pause filled with records that hold every
signal's last value (as kneeemg's readers fill a gap), each record's time-keeping onset set
to its place, and the header marked continuous (``EDF+C``). The pauses come back as gaps: lost
time, never usable. A pause that is not a whole number of records long is rounded to one,
so what follows it moves by less than half a record; the warning says by how much at most.
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
from pathlib import Path

from ..errors import RecordingFormatError
from ..words import duration_text

#: The longest span, first record to last (pauses included), read through a copy, s: the
#: pauses are written out in full.
MAX_SPAN_S = 7 * 86400.0

#: The start of a record's time-keeping TAL: its onset, in seconds from the file's start.
_TIMEKEEPING = re.compile(rb"^([+-][0-9]+(?:\.[0-9]*)?)\x14\x14")


def continuous_copy(path: Path, head: bytes, signals: bytes, n_records: int) -> tuple[Path, list[tuple[float, float]], list[str]]:
    """A continuous copy of the discontinuous file ``path`` (see the module docstring).

    Parameters
    ----------
    path : Path
    head, signals : bytes
        The file's header: its first 256 bytes, and its signals' ``256 * ns``.
    n_records : int
        The data records to read (the whole ones the file holds, up to what its header announces).

    Returns
    -------
    copy : Path
        The continuous file, in a new temporary folder that the caller removes.
    gaps : list of (float, float)
        ``(start_s, duration_s)`` of each pause, in the copy's time.
    warnings : list of str

    Raises
    ------
    RecordingFormatError
        No annotation signal or time-keeping onset, records out of order, or a copy that
        cannot be written; nothing is left behind.
    """
    if n_records < 1:
        raise RecordingFormatError(f"{path}: holds no data record; copy or export the recording again")
    ns = len(signals) // 256
    field = lambda offset, width, i: signals[ns * offset + i * width : ns * offset + (i + 1) * width]  # noqa: E731
    labels = [field(0, 16, i).decode("latin-1").strip() for i in range(ns)]
    try:
        per_record = [int(field(216, 8, i).decode("ascii").strip()) for i in range(ns)]
        duration_s = float(head[244:252].decode("ascii").strip())
    except (ValueError, UnicodeDecodeError) as exc:
        raise RecordingFormatError(f"{path}: not a readable EDF/BDF file (damaged header: {exc}); export the recording "
                                   "again") from None
    width = 3 if head[:1] == b"\xff" else 2
    record_bytes = sum(per_record) * width
    if record_bytes <= 0 or any(n < 0 for n in per_record):
        raise RecordingFormatError(f"{path}: not a readable EDF/BDF file (damaged header: its signals' samples per "
                                   "record); export the recording again")
    tal = [i for i, label in enumerate(labels) if label in ("EDF Annotations", "BDF Annotations")]
    if not 0 < duration_s < math.inf:
        raise RecordingFormatError(f"{path}: not a readable EDF/BDF file (damaged header: its data records last "
                                   f"{duration_s:g} s); export the recording again")
    if not tal:
        raise RecordingFormatError(f"{path}: marked discontinuous but without an annotation signal that times its data "
                                   "records; export the recording again as EDF+C")
    tal_at, tal_bytes = sum(per_record[: tal[0]]) * width, per_record[tal[0]] * width
    header_bytes = len(head) + len(signals)
    with path.open("rb") as src:
        onsets = []
        for k in range(n_records):
            src.seek(header_bytes + k * record_bytes + tal_at)
            m = _TIMEKEEPING.match(src.read(tal_bytes))
            if m is None:
                raise RecordingFormatError(f"{path}: data record {k + 1} has no time-keeping annotation, so its time is "
                                           "unknown; export the recording again as EDF+C")
            onsets.append(float(m.group(1)))
    places = [round((t - onsets[0]) / duration_s) for t in onsets]
    if any(b <= a for a, b in zip(places, places[1:])):
        k = next(i for i, (a, b) in enumerate(zip(places, places[1:])) if b <= a) + 2
        raise RecordingFormatError(f"{path}: data record {k} starts at {onsets[k - 1]:g} s, before the one before it "
                                   "has ended; export the recording again as EDF+C")
    if (places[-1] + 1) * duration_s > MAX_SPAN_S:
        raise RecordingFormatError(f"{path}: its data records span {duration_text((places[-1] + 1) * duration_s)} from "
                                   f"the first to the last, pauses included, more than the {MAX_SPAN_S / 86400:g} days "
                                   "kneeemg reads of a discontinuous file; convert it to EDF+C pieces first, e.g. with "
                                   "EDFbrowser's Tools > Convert EDF+D to EDF+C")
    moved = max(abs(t - onsets[0] - p * duration_s) for t, p in zip(onsets, places))
    gaps = [((a + 1) * duration_s, (b - a - 1) * duration_s) for a, b in zip(places, places[1:]) if b > a + 1]
    folder = Path(tempfile.mkdtemp(prefix="kneeemg-edf-"))
    out = folder / ("recording.bdf" if width == 3 else "recording.edf")
    try:
        _write(path, out, head, signals, n_records, places, onsets[0], duration_s, record_bytes, tal_at, tal_bytes,
               per_record, width)
    except (OSError, ValueError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise RecordingFormatError(f"{path}: cannot make a continuous copy of it in {folder.parent} to read it "
                                   f"({getattr(exc, 'strerror', None) or exc}); free some space there, or export the "
                                   "recording again as EDF+C") from None
    warnings = []
    if gaps:
        lost = sum(g[1] for g in gaps)
        times = "once" if len(gaps) == 1 else f"{len(gaps)} times"
        warnings.append(f"the file is discontinuous ({head[192:197].decode('ascii')}): its recording paused {times}, "
                        f"{duration_text(lost)} in all, read as lost time"
                        + (f" (the records after a pause are moved by up to {moved * 1000:.0f} ms, to whole "
                           f"records of {duration_s:g} s)" if moved > 1e-6 else ""))
    return out, gaps, warnings


def _write(path: Path, out: Path, head: bytes, signals: bytes, n_records: int, places: list[int], start_s: float,
           duration_s: float, record_bytes: int, tal_at: int, tal_bytes: int, per_record: list[int], width: int) -> None:
    """The continuous copy: header marked ``+C`` with its record count, then every place of the grid."""
    header = bytearray(head + signals)
    header[192:197] = header[192:197].replace(b"+D", b"+C")
    header[236:244] = f"{places[-1] + 1:<8d}".encode("ascii")
    with path.open("rb") as src, out.open("wb") as dst:
        dst.write(header)
        src.seek(len(header))
        last = None
        for k, place in enumerate(places):
            record = bytearray(src.read(record_bytes))
            if len(record) < record_bytes:
                raise ValueError(f"data record {k + 1} is cut short")
            if last is not None:
                for filler in range(places[k - 1] + 1, place):  # a pause: every signal held at its last value
                    dst.write(_held(last, filler, start_s, duration_s, tal_at, tal_bytes, per_record, width))
            record[tal_at : tal_at + tal_bytes] = _timed(record[tal_at : tal_at + tal_bytes], start_s + place * duration_s)
            dst.write(record)
            last = record


def _timed(tal: bytes, onset_s: float) -> bytes:
    """An annotation signal's bytes with the time-keeping onset set to ``onset_s``."""
    rest = tal[tal.index(b"\x00") + 1 :]
    new = f"{onset_s:+.6f}".rstrip("0").rstrip(".").encode("ascii") + b"\x14\x14\x00" + rest
    if len(new.rstrip(b"\x00")) > len(tal):
        raise ValueError("a record's annotations leave no room for its new time")
    return new[: len(tal)].ljust(len(tal), b"\x00")


def _held(last: bytes, place: int, start_s: float, duration_s: float, tal_at: int, tal_bytes: int,
          per_record: list[int], width: int) -> bytes:
    """A filler record: each signal's last sample of ``last`` repeated, and a time-keeping TAL alone."""
    out = bytearray()
    pos = 0
    for n in per_record:
        if pos == tal_at:
            out += _timed(b"\x00" * tal_bytes, start_s + place * duration_s)
        else:
            out += bytes(last[pos + (n - 1) * width : pos + n * width]) * n
        pos += n * width
    return bytes(out)
