"""EDF/EDF+/BDF/BDF+ through pyedflib: import any rate and channels, export with events."""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import DISK_FULL, InputError, KneeEmgError, RecordingFormatError
from ..events import KINDS, Event, ExcludedInterval
from ..words import plural, reason_words
from .array import channel_indices
from .base import Gap, Recording, RecordingInfo
from .channels import default_channels
from .edfplusd import continuous_copy
from .units import UNIT_TO_UV

#: The start EDF+ writes when the real one is unknown (01.01.85 00.00.00); read back as none.
UNKNOWN_START = datetime(1985, 1, 1)
#: The annotation of an exported file's last data record when the recording ends inside it: EDF's
#: records are all as long, so the rest of that record holds the last sample repeated. kneeemg
#: reads such a file back to the recording's end; other readers show the padding so marked.
END_NOTE = "recording ends; the rest is padding"
#: The annotation of a gap of the recording (samples lost on the way from the sensor, held at
#: the last value in the file), followed by its reason: read back as the gap it was.
GAP_NOTE = "recording gap: "
_KIND_RE = re.compile(r"\b(twitch|spasm|cramp|lm)\b(?:.*?\bch(?:annel)?\s*(\d+))?", re.IGNORECASE)


def _raw_header(path: Path) -> tuple[bytes, bytes, int | None, int] | None:
    """``path``'s header as bytes, the file's 256 and its signals' ``256 * ns``, with the bytes of
    one data record (each signal's samples per record, 2 bytes a sample in EDF, 3 in BDF; None
    when they cannot be read) and the file's size; None when the header cannot be read."""
    try:
        with path.open("rb") as fh:
            head = fh.read(256)
            ns = int(head[252:256].decode("ascii").strip())
            signals = fh.read(ns * 256)
        size = path.stat().st_size
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if len(head) < 256 or len(signals) < ns * 256:  # the header itself is cut short
        return None
    try:
        per_record = [int(signals[ns * 216 + i * 8 : ns * 216 + (i + 1) * 8].decode("ascii").strip()) for i in range(ns)]
    except (ValueError, UnicodeDecodeError):
        return head, signals, None, size
    return head, signals, sum(per_record) * (3 if head[:1] == b"\xff" else 2), size


def _check_complete(path: Path, raw: tuple[bytes, bytes, int | None, int] | None) -> tuple[list[str], int | None]:
    """How much of ``path`` (whose :func:`_raw_header` is ``raw``) can be read: ``(warnings, whole)``.

    ``whole`` is None when the file holds the data records its header announces (or more: a
    damaged record count; only those announced are read, with a warning). It is the number
    of whole data records the file holds when that is fewer than its header announces (a
    copy or an export cut short, a recorder that stopped while writing) or when the header
    gives the count as -1 (a recorder that did not finish the file): :class:`EdfRecording`
    then reads those through a copy whose header says so (:func:`_whole_records_copy`), with
    a warning. A file without one whole record is refused.

    A header that cannot be read this way (``raw`` None) is left to pyedflib to judge.
    """
    try:
        head, signals, record_bytes, size = raw  # type: ignore[misc]
        n_records = int(head[236:244].decode("ascii").strip())
    except (TypeError, ValueError, UnicodeDecodeError):
        return [], None
    if record_bytes is None or record_bytes <= 0:
        return [], None
    header_bytes = 256 * (len(signals) // 256 + 1)
    expected = header_bytes + n_records * record_bytes
    whole = max(0, size - header_bytes) // record_bytes
    if n_records > 0 and size < expected or n_records == -1:
        said = ("its header gives the number of data records as -1 (unknown: the recorder did not finish the file)"
                if n_records == -1 else f"the file is cut short: its header announces {plural(n_records, 'data record')} "
                                        f"({expected} bytes) but the file has {size} bytes")
        if whole == 0:
            raise RecordingFormatError(f"{path}: {said}, not one whole data record; copy or export the recording again")
        return [f"{said}; the {plural(whole, 'whole data record')} it holds {'is' if whole == 1 else 'are'} read"], whole
    if n_records > 0 and size - expected >= record_bytes:
        return [f"the file holds {plural((size - expected) // record_bytes, 'more data record')} than the {n_records} its header "
                f"announces; only {'that one is' if n_records == 1 else f'those {n_records} are'} read (the header may be damaged)"], None
    return [], None


def _whole_records_copy(path: Path, raw: tuple[bytes, bytes, int | None, int], n_records: int) -> Path:
    """A copy of ``path`` (whose :func:`_raw_header` is ``raw``) in a new temporary folder: its
    header, with the number of data records set to ``n_records``, and its first ``n_records``
    data records (copied a MiB at a time). The caller removes the folder."""
    head, signals, record_bytes, _ = raw
    folder = Path(tempfile.mkdtemp(prefix="kneeemg-edf-"))
    out = folder / ("recording.bdf" if head[:1] == b"\xff" else "recording.edf")
    try:
        with path.open("rb") as src, out.open("wb") as dst:
            header = bytearray(src.read(len(head) + len(signals)))
            header[236:244] = f"{n_records:<8d}".encode("ascii")
            dst.write(header)
            left = n_records * record_bytes
            while left > 0:
                chunk = src.read(min(left, 1 << 20))
                if not chunk:
                    break
                dst.write(chunk)
                left -= len(chunk)
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise RecordingFormatError(f"{path}: cannot copy its whole data records to {folder.parent} to read them ({exc.strerror or exc}); "
                                   "free some space there, or copy or export the recording again") from None
    return out


#: The fields of an EDF/BDF header (name, width): the file's, then each signal's, field by field.
_FILE_FIELDS = (("version", 8), ("patient identification", 80), ("recording identification", 80), ("start date", 8), ("start time", 8),
                ("header size", 8), ("reserved field", 44), ("number of data records", 8), ("record duration", 8),
                ("number of signals", 4))
_SIGNAL_FIELDS = (("label", 16), ("transducer", 80), ("unit (physical dimension)", 8), ("physical minimum", 8),
                  ("physical maximum", 8), ("digital minimum", 8), ("digital maximum", 8), ("prefilter", 80),
                  ("samples per record", 8), ("reserved field", 32))


def _header_problem(path: Path) -> str | None:
    """Why pyedflib refuses ``path``'s header, said for a person: a field holding bytes that are
    not plain ASCII, or a record count of -1; None when neither is found."""
    raw = _raw_header(path)
    if raw is None:
        return None
    head, signals, record_bytes, size = raw
    ns = len(signals) // 256
    fields, pos = [], 0
    for name, width in _FILE_FIELDS:
        fields.append((f"the {name}", head[pos : pos + width]))
        pos += width
    pos = 0
    labels = [signals[i * 16 : (i + 1) * 16].decode("latin-1").strip() for i in range(ns)]
    for name, width in _SIGNAL_FIELDS:
        for i in range(ns):
            which = f"signal {i + 1}" if name == "label" else f"signal {i + 1} ({labels[i]!r})"
            fields.append((f"the {name} of {which}", signals[pos + i * width : pos + (i + 1) * width]))
        pos += ns * width
    for where, raw in fields[1:]:  # (a BDF's version starts with byte 0xFF)
        if any(b < 32 or b > 126 for b in raw.rstrip(b" ")):
            example = " ('uV' for µV)" if "unit" in where else ""
            return (f"its header holds bytes that are not plain ASCII in {where}: {raw.decode('latin-1').strip()!r}; "
                    f"EDF headers must be plain ASCII: write that field in ASCII{example}, for instance with "
                    "EDFbrowser's header editor")
    return None


# "LP:100Hz", "LP: 70.5 Hz", "LP:1kHz", "LP:100" (Hz understood), also run on after a unit
# ("HP:10HzLP:100Hz"); and a band-pass's upper edge ("BP:10-100Hz")
_NUMBER = r"([0-9]+(?:\.[0-9]*)?)\s*(K?HZ)?"
_LOW_PASS = re.compile(r"(?:\b|(?<=Z))LP\s*:?\s*" + _NUMBER, re.IGNORECASE)
_BAND_PASS = re.compile(r"(?:\b|(?<=Z))BP\s*:?\s*[0-9]+(?:\.[0-9]*)?\s*(?:K?HZ)?\s*-\s*" + _NUMBER, re.IGNORECASE)


def prefilter_low_pass_hz(prefilter: str) -> float | None:
    """The low-pass edge an EDF prefilter field names (``"HP:10Hz LP:100Hz"`` gives 100.0;
    ``"LP:1kHz"`` 1000.0; ``"LP:100"`` 100.0; a band-pass ``"BP:10-100Hz"`` 100.0), in Hz;
    None when it names none."""
    m = _LOW_PASS.search(prefilter or "") or _BAND_PASS.search(prefilter or "")
    if m is None:
        return None
    value = float(m.group(1)) * (1000.0 if (m.group(2) or "").upper() == "KHZ" else 1.0)
    return value if value > 0 else None


#: The most annotations an EDF+ file written by :func:`export_edf` holds per second of
#: recording (its annotation signals, one annotation each per 1 s record: EDF+ allows 64).
MAX_ANNOTATIONS_PER_S = 64


def check_edf_rate(fs_hz: float) -> None:
    """Refuse a rate EDF cannot store in 1 s records (not a whole number of Hz)."""
    if abs(fs_hz - round(fs_hz)) > 1e-9:
        raise InputError(f"EDF needs a whole-number rate per 1 s record; {fs_hz:g} Hz is not one (resample first, "
                         "with --resample)")


#: Readers whose open failed. pyedflib closes the file of handle 0 when such a reader is freed,
#: which may be another reader's open file (it then reads nothing); they are kept until no
#: file is open.
_FAILED: list = []


def _open_reader(path: Path, copy: Path | None = None):
    """A pyedflib reader of ``path`` (or of ``copy``, a readable copy of it: the messages name
    ``path``), or a one-line error saying why there is none."""
    import pyedflib

    if _FAILED and pyedflib.get_number_of_open_files() == 0:
        _FAILED.clear()
    reader = pyedflib.EdfReader.__new__(pyedflib.EdfReader)
    name, link_dir = str(copy or path), None
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # pyedflib takes UTF-8 names only: a name that is not is opened through a link
        link_dir = tempfile.mkdtemp(prefix="kneeemg-edf-")
        name = os.path.join(link_dir, "recording.edf")
        os.symlink(os.path.abspath(copy or path), name)
    try:
        reader.__init__(name)
    except OSError as exc:
        _FAILED.append(reader)
        reader = None  # (an error kept by the caller must not keep it alive through this frame)
        if pyedflib.is_file_used(name):
            raise InputError(f"{path} is already open in this program (pyedflib reads a file through one reader at a "
                             "time); close the other reader of it first") from None
        problem = _header_problem(path)
        if problem:
            raise RecordingFormatError(f"{path}: {problem}") from None
        detail = str(exc).removeprefix(f"{name}: ")  # (pyedflib's message begins with the file's name)
        if "compliant" in detail:  # a field pyedflib cannot parse: the header is malformed, not cut short
            raise RecordingFormatError(f"{path}: not a readable EDF/BDF file ({detail}); its header is malformed: find the "
                                       "field at fault with EDFbrowser's Tools > Check EDF/BDF compatibility and correct "
                                       "it in its header editor, or export the recording again") from None
        raise RecordingFormatError(f"{path}: not a readable EDF/BDF file ({detail}); check that it is complete") from None
    finally:
        if link_dir is not None:  # the open file stays readable without its link
            shutil.rmtree(link_dir, ignore_errors=True)
    return reader


class EdfRecording(Recording):
    """An EDF(+) or BDF(+) file, read signal by signal on demand (bounded memory)."""

    def __init__(self, path: str | os.PathLike[str], channels: Sequence[str | int] | None = None) -> None:
        self.path = Path(path)
        raw = _raw_header(self.path)
        warnings, whole = _check_complete(self.path, raw)
        paused: list[tuple[float, float]] = []  # the pauses of a discontinuous file: (start s, duration s)
        if raw is not None and raw[0][192:197] in (b"EDF+D", b"BDF+D"):
            # discontinuous (its data records need not follow one another in time): read
            # through a continuous copy (module edfplusd)
            head, signals = raw[0], raw[1]
            try:
                n = whole if whole is not None else int(head[236:244].decode("ascii").strip())
            except (ValueError, UnicodeDecodeError):
                raise RecordingFormatError(f"{self.path}: not a readable EDF/BDF file (damaged header: its number of "
                                           "data records); export the recording again") from None
            self._copy, paused, more = continuous_copy(self.path, head, signals, n)
            warnings += more
        else:  # a file of fewer whole records than its header says is read through a copy of those
            self._copy = _whole_records_copy(self.path, raw, whole) if whole is not None else None
        try:
            self._f = f = _open_reader(self.path, self._copy)
        except BaseException:
            self._remove_copy()
            raise
        self._closed = False
        try:
            if not f.datarecord_duration > 0:
                raise RecordingFormatError(f"{self.path}: damaged header: its data records last {f.datarecord_duration:g} s; "
                                           "the samples cannot be timed (export the recording again)")
            labels_all = tuple(lab.strip() for lab in f.getSignalLabels())
            if channels is None:
                self._idx, note = default_channels(labels_all, str(self.path))
                warnings += [note] if note else []
            else:
                self._idx = channel_indices(labels_all, channels, str(self.path))
            rates = {f.getSampleFrequency(i) for i in self._idx}
            if len(rates) != 1:
                which = "the chosen channels" if channels is not None else "the channels read without --channels"
                raise InputError(
                    f"{self.path}: {which} have different rates "
                    f"({', '.join(f'{labels_all[i]!r} {f.getSampleFrequency(i):g} Hz' for i in self._idx)}); "
                    "choose channels of one rate with --channels"
                )
            fs = float(rates.pop())
            self._scale = []
            for i in self._idx:
                unit = f.getPhysicalDimension(i).strip().lower()
                if not unit:
                    raise InputError(f"{self.path}: channel {labels_all[i]!r} has no unit in its header (its physical "
                                     "dimension is empty), so its values cannot be scaled to µV; write its unit (e.g. "
                                     "'uV') into the header, e.g. with EDFbrowser's header editor, or leave the "
                                     "channel out with --channels")
                if unit not in UNIT_TO_UV:
                    raise InputError(f"{self.path}: channel {labels_all[i]!r} is in {unit!r}, not a voltage; choose EMG channels with --channels")
                self._scale.append(UNIT_TO_UV[unit])
                for what, lo, hi in (("digital", f.getDigitalMinimum(i), f.getDigitalMaximum(i)),
                                     ("physical", f.getPhysicalMinimum(i), f.getPhysicalMaximum(i))):
                    if lo == hi:
                        raise RecordingFormatError(
                            f"{self.path}: damaged header: channel {labels_all[i]!r} has its {what} minimum equal to its "
                            f"maximum ({lo:g}), so its values cannot be scaled; leave it out with --channels"
                        )
            notes = f.readAnnotations()
            n = self._samples(notes, fs)
            labels = tuple(labels_all[i] for i in self._idx)
            start = f.getStartdatetime()
            low_pass = [lp for lp in (prefilter_low_pass_hz(f.getPrefilter(i)) for i in self._idx) if lp is not None]
            self.info = RecordingInfo(fs_hz=fs, labels=labels, n_samples=n, start_time=None if start == UNKNOWN_START else start,
                                      path=self.path, format="bdf" if self.path.suffix.lower() == ".bdf" else "edf",
                                      annotations=self._annotations(notes, fs, labels, n), warnings=warnings,
                                      gaps=sorted([Gap(int(round(a * fs)), int(round(d * fs))) for a, d in paused]
                                                  + self._gap_notes(notes, fs, n), key=lambda g: g.start_sample),
                                      content_hz=max(low_pass) if len(low_pass) == len(self._idx) and max(low_pass) < fs / 2
                                      else None)
        except KneeEmgError:
            self.close()
            raise
        except Exception as exc:  # pyedflib's header reads fail on values its open let through
            self.close()
            raise RecordingFormatError(f"{self.path}: not a readable EDF/BDF file (damaged header: {exc}); "
                                       "export the recording again") from None

    @staticmethod
    def _gap_notes(notes: tuple, fs: float, n_samples: int) -> list[Gap]:
        """The gaps of a recording kneeemg exported (:data:`GAP_NOTE`), within the samples."""
        out = []
        for on, dur, text in zip(*notes):
            text = str(text)
            a = int(round(float(on) * fs))
            if text.startswith(GAP_NOTE) and 0 <= a < n_samples:
                out.append(Gap(a, min(n_samples - a, max(1, int(round(float(dur or 0) * fs)))), text[len(GAP_NOTE):] or "lost"))
        return out

    def _samples(self, notes: tuple, fs: float) -> int:
        """How many samples the chosen channels hold: up to the :data:`END_NOTE` of a file
        kneeemg exported when it falls in the last data record (the rest is padding)."""
        f = self._f
        n = int(min(f.getNSamples()[i] for i in self._idx))
        per_record = fs * f.datarecord_duration
        for on, text in zip(notes[0], notes[2]):
            if str(text) == END_NOTE and n - per_record < round(float(on) * fs) < n:
                return int(round(float(on) * fs))
        return n

    def _annotations(self, notes: tuple, fs: float, labels: tuple[str, ...], n_samples: int) -> list[Event]:
        """EDF+ annotations ``notes`` (onsets, durations, texts) whose text names a kind
        (twitch/spasm/cramp/lm) become events; those that begin after the samples end (a file
        cut short) are left out."""
        onsets, durations, texts = notes
        out = []
        for on, dur, text in zip(onsets, durations, texts):
            m = _KIND_RE.search(str(text))
            a = int(round(float(on) * fs))
            if not m or a >= n_samples:
                continue
            ch = int(m.group(2)) if m.group(2) and int(m.group(2)) < len(labels) else 0
            b = a + max(1, int(round(float(dur or 0) * fs)))
            out.append(Event(a, b, fs, ch, m.group(1).lower(), float("nan"), float("nan"), float("nan"), labels[ch]))
        return out

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Samples ``start:stop`` in µV. A read that returns fewer samples than asked (pyedflib
        answers -1 for a file closed under the reader) is an error, never zeros."""
        import pyedflib

        start, stop = self._range(start, stop)
        if self._closed:
            raise InputError(f"{self.path} was closed; open it again to read it")
        out = np.empty((stop - start, len(self._idx)))
        column = np.empty(stop - start)
        for k, (i, scale) in enumerate(zip(self._idx, self._scale)):
            pyedflib.seek(self._f.handle, i, start, 0)
            got = pyedflib.read_physical_samples(self._f.handle, i, stop - start, column)
            if got != stop - start:
                raise RecordingFormatError(
                    f"{self.path}: reading samples {start}-{stop} of channel {self.info.labels[k]!r} returned "
                    f"{max(got, 0)} of {stop - start}; the file was changed or closed while open: open it again")
            out[:, k] = column * scale
        return out

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._f.close()
            self._remove_copy()

    def _remove_copy(self) -> None:
        if self._copy is not None:
            shutil.rmtree(self._copy.parent, ignore_errors=True)
            self._copy = None


def export_edf(recording: Recording, path: str | os.PathLike[str], events: Sequence[Event] = (),
               bdf: bool = False, chunk_s: float = 60.0, excluded: Sequence[ExcludedInterval] = ()) -> Path:
    """Write ``recording`` as EDF+ (16-bit) or BDF+ (24-bit) with ``events`` as annotations.

    Physical limits come from the data (one pass), so nothing clips. Annotation texts are
    ``"<kind> ch<index>"`` (readable back as ground truth by :class:`EdfRecording`) and, for
    each of ``excluded``, ``"excluded: <reason> ch<index>"`` (not read back as events). EDF
    keeps whole 1 s records: when the recording ends inside its last second, the rest of that
    second repeats the last sample, marked by the annotation :data:`END_NOTE`, and kneeemg reads
    the file back to the recording's end.

    Raises
    ------
    InputError
        ``path`` exists, the rate is not a whole number of Hz, or the annotations are more
        than an EDF+ file of that length can hold (:data:`MAX_ANNOTATIONS_PER_S`); nothing
        is written then.
    """
    import pyedflib

    path = Path(path)
    if path.exists():
        raise InputError(f"{path} already exists; choose a new file name")
    info = recording.info
    fs = info.fs_hz
    check_edf_rate(fs)
    sec = int(round(fs))
    n_records = -(-info.n_samples // sec)  # EDF stores whole 1 s records: a last part one is padded
    pad = n_records * sec - info.n_samples
    notes = sorted([(ev.onset_s, ev.duration_s, f"{ev.kind} ch{ev.channel}") for ev in events if ev.kind in (*KINDS, "lm")]
                   + [(iv.start_s, iv.duration_s, f"excluded: {reason_words(iv.reason)} ch{iv.channel}") for iv in excluded]
                   + [(g.start_sample / fs, g.n_samples / fs, GAP_NOTE + g.reason) for g in info.gaps]
                   + ([(info.n_samples / fs, pad / fs, END_NOTE)] if pad else []))
    # each annotation signal holds one annotation per record; pyedflib drops any beyond that
    per_record = max(1, -(-len(notes) // max(1, n_records)))
    if per_record > MAX_ANNOTATIONS_PER_S:
        raise InputError(f"{path}: {plural(len(notes), 'annotation')} do not fit in an EDF+ file of "
                         f"{plural(n_records, 'second')} (at most {MAX_ANNOTATIONS_PER_S} a second); keep them as CSV "
                         "instead (replay --events-out)")
    step = max(1, int(round(chunk_s))) * sec
    lo = np.full(info.n_channels, np.inf)
    hi = np.full(info.n_channels, -np.inf)
    for a in range(0, info.n_samples, step):
        x = recording.read(a, min(info.n_samples, a + step))
        lo = np.minimum(lo, x.min(axis=0))
        hi = np.maximum(hi, x.max(axis=0))
    for c in range(info.n_channels):  # an EDF header gives each limit in 8 characters, in µV here
        if not (np.isfinite(lo[c]) and np.isfinite(hi[c])) or lo[c] < -9_999_998 or hi[c] > 99_999_998:
            raise InputError(f"{path}: channel {info.labels[c]} spans {lo[c]:.4g} to {hi[c]:.4g} µV, more than an EDF "
                             "file can hold (and more than EMG can be: tens of volts); check the recording's unit")
    dmax = 8388607 if bdf else 32767
    ftype = pyedflib.FILETYPE_BDFPLUS if bdf else pyedflib.FILETYPE_EDFPLUS
    # written under a temporary name that pyedflib can take (UTF-8, whatever the file's own
    # name), then moved into place: an interrupted or failed export leaves nothing behind
    tmp = path.with_name(f".kneeemg-export-{os.getpid()}.tmp")
    link_dir = None
    try:
        written = tmp
        try:
            str(tmp).encode("utf-8")
        except UnicodeEncodeError:  # a folder whose name is not UTF-8: written through a link to it
            link_dir = tempfile.mkdtemp(prefix="kneeemg-edf-")
            os.symlink(os.path.abspath(path.parent), os.path.join(link_dir, "folder"))
            written = Path(link_dir, "folder", tmp.name)
        try:
            _write_edf(pyedflib, recording, written, ftype, lo, hi, dmax, step, notes, per_record)
        except OSError as exc:
            if exc.errno not in (None, errno.ENOSPC, errno.EDQUOT):  # (pyedflib's own errors carry no errno)
                raise
            raise _not_whole(path) from None
        if written.stat().st_size != _edf_size(written):  # (edflib does not say when a write fell short)
            raise _not_whole(path)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        if link_dir is not None:
            shutil.rmtree(link_dir, ignore_errors=True)
    return path


def edf_labels(labels: Sequence[str]) -> list[str]:
    """Channel labels as an EDF header holds them: ASCII, at most 16 characters, and still
    told apart. A longer label keeps its start and its end, where a side or a muscle is
    often named (``vastus_medialis_left`` -> ``vastus_~lis_left``); accents are dropped
    (``gauche é`` -> ``gauche e``); labels that would still be the same get ``~2``, ``~3`` ...
    """
    import unicodedata

    out: list[str] = []
    for label in labels:
        text = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode("ascii")
        text = "".join(ch if ch.isprintable() else " " for ch in text).strip() or "EMG"
        if len(text) > 16:
            text = text[:7] + "~" + text[-8:]
        base, k = text, 2
        while text in out:
            text = f"{base[:16 - len(str(k)) - 1]}~{k}"
            k += 1
        out.append(text)
    return out


def _edf_size(path: Path) -> int:
    """The size, in bytes, that the header of the EDF or BDF file ``path`` gives it."""
    with open(path, "rb") as fh:
        head = fh.read(256)
        n_signals = int(head[252:256])
        bps = 3 if head[:1] == b"\xff" else 2
        fh.seek(256 + n_signals * 216)  # the samples per record, after the signals' other fields
        per_record = sum(int(fh.read(8)) for _ in range(n_signals))
    return int(head[184:192]) + int(head[236:244]) * per_record * bps


def _not_whole(path: Path) -> KneeEmgError:
    """The error of an export that could not be written whole: almost always a full disk."""
    return KneeEmgError(f"{path} could not be written whole (nothing was written): {DISK_FULL}, or choose "
                        "another folder")


def _write_edf(pyedflib, recording: Recording, path: Path, ftype: int, lo: np.ndarray, hi: np.ndarray, dmax: int,
               step: int, notes: Sequence[tuple[float, float, str]], per_record: int) -> None:
    """The EDF+/BDF+ file of :func:`export_edf`, written to ``path``: ``notes`` are the
    annotations (onset s, duration s, text), ``per_record`` the annotation signals."""
    info = recording.info
    fs = info.fs_hz
    writer = pyedflib.EdfWriter(str(path), info.n_channels, file_type=ftype)
    try:
        writer.set_number_of_annotation_signals(per_record)
        headers = []
        for c, label in enumerate(edf_labels(info.labels)):
            pmin, pmax = float(np.floor(lo[c])) - 1.0, float(np.ceil(hi[c])) + 1.0
            headers.append({"label": label, "dimension": "uV", "sample_frequency": int(round(fs)),
                            "physical_min": pmin, "physical_max": pmax, "digital_min": -dmax - 1, "digital_max": dmax,
                            "transducer": "surface EMG", "prefilter": ""})
        writer.setSignalHeaders(headers)
        # without a start, EDF+'s "unknown" date rather than pyedflib's default, the current time;
        # EDF holds the local clock time: a start with a time zone (a recorder's UTC) is written in
        # this computer's, as kneeemg reads a start without one
        start = info.start_time or UNKNOWN_START
        writer.setStartdatetime(start.astimezone().replace(tzinfo=None) if start.tzinfo is not None else start)
        sec = int(round(fs))
        pad = -info.n_samples % sec  # EDF stores whole 1 s records: the last sample fills a last part one
        for a in range(0, info.n_samples, step):
            x = recording.read(a, min(info.n_samples, a + step))
            if a + step >= info.n_samples and pad:
                x = np.concatenate([x, np.repeat(x[-1:], pad, axis=0)])
            writer.writeSamples([np.ascontiguousarray(x[:, c]) for c in range(info.n_channels)])
        for onset_s, duration_s, text in notes:
            writer.writeAnnotation(onset_s, duration_s, text)
    finally:
        writer.close()
