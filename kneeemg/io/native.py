"""kneeemg's own recording format (``.kemg``): append-only and crash-safe.

Layout (all integers little-endian; see ``docs/recording-format.md``)::

    file   = header block*
    header = "KEMG" u16 version u32 json_len json(utf-8) u32 crc32(json)
    block  = "KB" u8 type u8 flags u64 first_sample u32 n_samples u16 n_channels
             u16 reserved u32 payload_len u32 crc32(fields after "KB" + payload) payload
    type 1 = data: payload = float32 µV, interleaved (n_samples x n_channels)
    type 2 = gap:  no payload; n_samples were lost from first_sample on

The writer hands a block to the operating system at least every ``flush_s`` seconds of
signal (one second by default), so killing the recording process loses at most that much,
and calls fsync every ``fsync_s`` seconds. The reader stops at a truncated last block (what
a crash leaves) and skips a block whose CRC fails, resynchronising on the next valid block;
both are reported in ``info.warnings``.

A header whose CRC checks can still hold wrong content (written by another tool or edited):
the rate and labels are checked; a ``units`` other than µV (mV, V, nV) is honoured by scaling.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import math
import os
import struct
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

import numpy as np

try:
    import fcntl
except ImportError:  # (Windows: no advisory locks; a recording being written is not told apart)
    fcntl = None  # type: ignore[assignment]

from ..config import check_rate
from ..errors import DeviceError, InputError, RecordingFormatError
from ..words import duration_text, plural
from .base import Gap, Recording, RecordingInfo
from .units import UNIT_TO_UV

MAGIC = b"KEMG"
VERSION = 1
BLOCK_MAGIC = b"KB"
_HDR = struct.Struct("<4sHI")
_BLK = struct.Struct("<2sBBQIHHII")  # magic type flags first n nch reserved payload_len crc
T_DATA = 1
T_GAP = 2
MAX_BLOCK_SAMPLES = 0xFFFFFFFF  # n_samples is a u32: a longer gap is written as several blocks
#: A block that would end later than this into the recording, s (a year), is damage that its
#: CRC did not catch (or a writer's bug): it is skipped, since reading up to it, held over the
#: gap, takes long (4.5 minutes for a year at 1 kHz; forever for 2**62 samples). The writer
#: refuses to write one.
MAX_RECORDING_S = 366 * 86400.0


class RecordingExistsError(InputError):
    """The file to create exists already (recordings are never overwritten)."""


def being_recorded(path: str | os.PathLike[str]) -> bool:
    """Whether a :class:`RecordingWriter` still writes ``path``: it holds a lock on the file from
    creating it until it is closed (or its process ends, killed or not)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False  # (a file system without locks)
    finally:
        os.close(fd)
    return False


def _crc(fields: bytes, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(fields)) & 0xFFFFFFFF


class RecordingWriter:
    """Write a ``.kemg`` recording as the samples arrive.

    Parameters
    ----------
    path : path
        File to create; an existing file is never overwritten.
    fs_hz : float
    labels : sequence of str
        One per channel.
    start_time : datetime, optional
    device : str
        Device id and firmware, free text.
    meta : dict, optional
        More JSON-ready metadata (clock mapping, ...).
    flush_s, fsync_s : float
        Seconds of signal between flushes to the OS, and between fsyncs.
    """

    def __init__(self, path: str | os.PathLike[str], fs_hz: float, labels: Sequence[str],
                 start_time: datetime | None = None, device: str = "", meta: dict[str, Any] | None = None,
                 flush_s: float = 1.0, fsync_s: float = 10.0) -> None:
        self.path = Path(path)
        self.fs_hz = check_rate(fs_hz)
        self.labels = tuple(str(x) for x in labels)
        if not self.labels:
            raise InputError("a recording needs at least one channel label")
        if not self.path.parent.is_dir():
            raise InputError(f"cannot create {self.path}: the folder {self.path.parent} does not exist")
        try:
            self._fh = open(self.path, "xb")  # noqa: SIM115 - closed in close()
        except FileExistsError:
            raise RecordingExistsError(f"{self.path} already exists; choose a new file name (recordings are never "
                                       "overwritten)") from None
        except OSError as exc:
            raise DeviceError(f"cannot create {self.path}: {exc.strerror}") from None
        if fcntl is not None:  # held until closed: :func:`being_recorded` tells a file still growing
            with contextlib.suppress(OSError):
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        header = {
            "fs_hz": self.fs_hz, "labels": list(self.labels), "units": "uV", "sample_format": "float32",
            "start_time": start_time.isoformat() if start_time else None, "device": device, "meta": meta or {},
        }
        body = json.dumps(header).encode()
        self._at = 0  # bytes handed to the file object so far: the offset in the file of the next one
        self._ends: list[tuple[int, int]] = []  # (end offset, samples then) of the blocks not known to be on disk
        self.saved_samples = 0  # samples on disk (what a reader gets, gaps included), whatever happens next
        st = os.fstat(self._fh.fileno())
        self._identity = (st.st_ino, st.st_dev)  # the file, to find its size on disk once it is closed
        self._write(_HDR.pack(MAGIC, VERSION, len(body)) + body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF))
        self._flush_n = max(1, round(flush_s * self.fs_hz))
        self._fsync_n = max(self._flush_n, round(fsync_s * self.fs_hz))
        self._buf: list[np.ndarray] = []
        self._buf_n = 0
        self._buf_first = 0
        self.next_sample = 0  # index of the next sample expected
        self._since_sync = 0
        self.closed = False

    # -------------------------------------------------------------- writing
    def write(self, chunk_uv: np.ndarray, first_sample: int | None = None) -> None:
        """Append samples (n, n_channels) in µV; ``first_sample`` defaults to the next one.

        A ``first_sample`` beyond the next expected sample records the missing range as a
        gap first; one before it (a duplicate) is refused.
        """
        x = np.asarray(chunk_uv, dtype=np.float32)
        if x.ndim == 1 and len(self.labels) == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != len(self.labels):
            raise InputError(f"chunk has shape {x.shape}; expected (n, {len(self.labels)})")
        first = self.next_sample if first_sample is None else int(first_sample)
        if first < self.next_sample:
            raise InputError(f"sample {first} was already written (next is {self.next_sample}); drop duplicates first")
        self._check_within(first + len(x))
        if first > self.next_sample:
            self.mark_gap(self.next_sample, first - self.next_sample)
        if not self._buf:
            self._buf_first = first
        self._buf.append(x)
        self._buf_n += len(x)
        self.next_sample = first + len(x)
        if self._buf_n >= self._flush_n:
            self.flush()

    def mark_gap(self, start_sample: int, n_samples: int) -> None:
        """Record that ``n_samples`` from ``start_sample`` on were lost."""
        if n_samples <= 0:
            return
        if start_sample != self.next_sample:
            raise InputError(f"a gap must start at the next sample ({self.next_sample}), not {start_sample}")
        self._check_within(start_sample + n_samples)
        self.flush()
        for a in range(0, n_samples, MAX_BLOCK_SAMPLES):
            self._block(T_GAP, start_sample + a, min(MAX_BLOCK_SAMPLES, n_samples - a), b"")
        self.next_sample = start_sample + n_samples
        self._os_flush()

    def flush(self) -> None:
        """Hand buffered samples to the operating system (and fsync when due)."""
        if not self._buf:
            return
        data = np.concatenate(self._buf) if len(self._buf) > 1 else self._buf[0]
        self._buf, n, self._buf_n = [], self._buf_n, 0
        for a in range(0, n, self._flush_n):  # blocks of at most flush_s each
            part = data[a : a + self._flush_n]
            self._block(T_DATA, self._buf_first + a, len(part), np.ascontiguousarray(part, dtype="<f4").tobytes())
        self._os_flush()
        self._since_sync += n
        if self._since_sync >= self._fsync_n:
            self._since_sync = 0
            try:
                os.fsync(self._fh.fileno())
            except OSError as exc:
                self._fail(exc)

    def close(self) -> None:
        """Flush, fsync and close (idempotent). A write that fails (a full disk) is the
        :class:`DeviceError` of :meth:`_fail`, however far the closing got."""
        if self.closed:
            return
        self.closed = True
        try:
            try:
                self.flush()
                os.fsync(self._fh.fileno())
            finally:
                self._fh.close()  # (its own last flush can fail too, and closes the file all the same)
        except OSError as exc:
            self._fail(exc)
        self._landed_on_disk()  # (after a failure, a file object can drop what it held and close without an error)

    def __enter__(self) -> "RecordingWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_within(self, end: int) -> None:
        """Refuse samples that would end past :data:`MAX_RECORDING_S`, which a reader skips as damage."""
        if end > MAX_RECORDING_S * self.fs_hz:
            raise InputError(f"sample {end} lies {end / self.fs_hz / 86400:.3g} days into the recording, more than "
                             f"{MAX_RECORDING_S / 86400:g} a recording can hold; start a new recording")

    def _block(self, kind: int, first: int, n: int, payload: bytes) -> None:
        fields = struct.pack("<BBQIHHI", kind, 0, first, n, len(self.labels), 0, len(payload))
        self._write(BLOCK_MAGIC + fields + struct.pack("<I", _crc(fields, payload)) + payload)
        self._ends.append((self._at, first + n))

    def _write(self, data: bytes) -> None:
        self._at += len(data)
        try:
            self._fh.write(data)
        except OSError as exc:
            self._fail(exc)

    def _os_flush(self) -> None:
        try:
            self._fh.flush()
        except OSError as exc:
            self._fail(exc)
        self._landed(self._at)

    def _landed(self, size: int) -> None:
        """The first ``size`` bytes of the file are on disk: the blocks within them are saved."""
        while self._ends and self._ends[0][0] <= size:
            self.saved_samples = self._ends.pop(0)[1]

    def _landed_on_disk(self) -> None:
        """Count as saved the blocks the file on disk holds whole (a full disk takes part of a write)."""
        try:
            st = os.fstat(self._fh.fileno()) if not self._fh.closed else os.stat(self.path)
        except (OSError, ValueError):
            return  # what the last flush that worked left
        if (st.st_ino, st.st_dev) == self._identity:
            self._landed(st.st_size)

    def _fail(self, exc: OSError) -> None:
        self._landed_on_disk()
        saved = "nothing was saved" if not self.saved_samples else \
            f"the first {duration_text(self.saved_samples / self.fs_hz)} are saved"
        raise DeviceError(
            f"cannot write {self.path} ({exc.strerror or exc}); recording stopped, {saved} "
            "-- free disk space or choose another folder"
        ) from None


class NativeRecording(Recording):
    """Read a ``.kemg`` file (random access, bounded memory)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fh = open(self.path, "rb")  # noqa: SIM115 - closed in close()
        try:
            header = self._header()
            self._index(header)
        except Exception:
            self._fh.close()
            raise

    def _header(self) -> dict[str, Any]:
        raw = self._fh.read(_HDR.size)
        if len(raw) < _HDR.size or raw[:4] != MAGIC:
            raise RecordingFormatError(f"{self.path} is not a kneeemg recording (no KEMG header)")
        _, version, n = _HDR.unpack(raw)
        if version > VERSION:
            raise RecordingFormatError(f"{self.path} has format version {version}; upgrade kneeemg to read it")
        if version < 1:
            raise RecordingFormatError(f"{self.path}: its header gives format version {version}, which no kneeemg writes; "
                                       "the file is damaged or not a kneeemg recording")
        body = self._fh.read(n)
        crc = self._fh.read(4)
        if len(body) < n or len(crc) < 4 or struct.unpack("<I", crc)[0] != zlib.crc32(body) & 0xFFFFFFFF:
            raise RecordingFormatError(f"{self.path}: the header is truncated or corrupt; the file cannot be read")
        self._data_start = _HDR.size + n + 4
        try:
            header = json.loads(body.decode("utf-8"))
        except ValueError:  # not UTF-8 or not JSON
            header = None
        if not isinstance(header, dict):
            raise RecordingFormatError(f"{self.path}: the header is not a JSON object (damaged or not written by kneeemg); "
                                       "the file cannot be read")
        return header

    def _fields(self, h: dict[str, Any], warnings: list[str]) -> tuple[float, tuple[str, ...], float, datetime | None]:
        """The header's rate, labels, factor to µV and start time, checked: a CRC that checks
        does not make the content right. A bad start time only costs the start time."""
        fs, labels, unit = h.get("fs_hz"), h.get("labels"), h.get("units", "uV")
        damaged = f"{self.path}: damaged header:"
        if isinstance(fs, bool) or not isinstance(fs, (int, float)) or not (math.isfinite(fs) and fs > 0):
            raise RecordingFormatError(f"{damaged} fs_hz is {fs!r}, not a sampling rate in Hz above 0; "
                                       "the samples cannot be timed (restore the file from a copy)")
        if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
            raise RecordingFormatError(f"{damaged} labels is {repr(labels)[:60]}, not a list of channel names; "
                                       "restore the file from a copy")
        if not isinstance(unit, str) or unit.strip().lower() not in UNIT_TO_UV:
            raise RecordingFormatError(f"{damaged} units is {repr(unit)[:30]}, not a voltage unit (uV, mV, V, nV); "
                                       "restore the file from a copy")
        start = h.get("start_time")
        try:
            start_time = datetime.fromisoformat(start) if start else None
        except (TypeError, ValueError):
            warnings.append(f"the start time {repr(start)[:40]} in the header is not an ISO 8601 date and time; "
                            "read without a start time")
            start_time = None
        return float(fs), tuple(labels), UNIT_TO_UV[unit.strip().lower()], start_time

    def _index(self, h: dict[str, Any]) -> None:
        warnings: list[str] = []
        fs, labels, self._scale, start_time = self._fields(h, warnings)
        other_nch: dict[int, int] = {}  # blocks whose CRC checks but whose channel count is not the header's
        self._offsets: list[int] = []  # file offset of each data block's payload
        self._firsts: list[int] = []
        self._ns: list[int] = []
        gaps: list[Gap] = []
        size = self.path.stat().st_size
        pos = self._data_start
        expected = 0
        far: tuple[int, float] | None = None  # the first block too far into the recording: its byte, its days
        n_far = 0
        fh = self._fh
        while pos < size:
            fh.seek(pos)
            head = fh.read(_BLK.size)
            if len(head) < _BLK.size:
                warnings.append(f"the last {plural(size - pos, 'byte')} {'is' if size - pos == 1 else 'are'} an incomplete "
                                "block (the recording was cut short); ignored")
                break
            magic, kind, _flags, first, n, nch, _r, plen, crc = _BLK.unpack(head)
            payload = fh.read(plen) if magic == BLOCK_MAGIC and plen <= size else b""
            ok = magic == BLOCK_MAGIC and len(payload) == plen and _crc(head[2:-4], payload) == crc
            if not ok:
                nxt = self._resync(pos + 1, size)
                if nxt is None and magic == BLOCK_MAGIC and pos + _BLK.size + plen > size:
                    # (no good block after it: the file ends in the middle of its last block; a
                    # damaged length that only seems to run past the end is skipped like any damage)
                    warnings.append(f"the last block ({size - pos} bytes) is incomplete (the recording was cut short); ignored")
                    break
                warnings.append(f"a corrupt block at byte {pos} was skipped")
                if nxt is None:
                    break
                pos = nxt
                continue
            if kind in (T_DATA, T_GAP) and first + n > MAX_RECORDING_S * fs:
                if far is None:  # (one warning for them all: a jump the writer took runs on through every block after it)
                    far = (pos, (first + n) / fs / 86400)
                n_far += 1
            elif kind == T_DATA and nch != len(labels):
                other_nch[nch] = other_nch.get(nch, 0) + 1
            elif kind == T_DATA and plen == 4 * n * nch and first >= expected:
                if first > expected:
                    gaps.append(Gap(expected, first - expected, "missing"))
                self._offsets.append(pos + _BLK.size)
                self._firsts.append(first)
                self._ns.append(n)
                expected = first + n
            elif kind == T_GAP and first >= expected:
                if first > expected:
                    gaps.append(Gap(expected, first - expected, "missing"))
                gaps.append(Gap(first, n, "lost"))
                expected = first + n
            pos += _BLK.size + plen
        if far is not None:
            said = (f"a block at byte {far[0]} says it lies {far[1]:.3g} days" if n_far == 1 else
                    f"{n_far} blocks from byte {far[0]} on say they lie {far[1]:.3g} days or more")
            warnings.append(f"{said} into the recording, more than {MAX_RECORDING_S / 86400:g}: "
                            f"{'it was' if n_far == 1 else 'they were'} skipped as damaged")
        if other_nch:
            counts = " or ".join(str(c) for c in sorted(other_nch))
            channels = "channel" if counts == "1" else "channels"
            skipped = sum(other_nch.values())
            if not self._offsets:
                raise RecordingFormatError(
                    f"{self.path}: damaged header: it lists {plural(len(labels), 'channel label')} ({', '.join(labels)}) but "
                    f"its {plural(skipped, 'data block')} {'has' if skipped == 1 else 'have'} {counts} {channels}; restore "
                    "the file from a copy"
                )
            warnings.append(f"{plural(skipped, 'data block')} with {counts} {channels} instead of the header's "
                            f"{len(labels)} {'was' if skipped == 1 else 'were'} skipped")
        # reported once, in info.warnings (the command line prints them), not logged as well
        self.info = RecordingInfo(
            fs_hz=fs, labels=labels, n_samples=expected, start_time=start_time, path=self.path, format="kemg",
            device=str(h.get("device", "")), gaps=gaps, warnings=warnings,
        )
        self.meta = h.get("meta", {})

    def _resync(self, pos: int, size: int) -> int | None:
        """Offset of the next block whose CRC checks, searching from ``pos``."""
        fh = self._fh
        while pos < size:
            fh.seek(pos)
            window = fh.read(1 << 16)
            k = window.find(BLOCK_MAGIC)
            while k >= 0:
                cand = pos + k
                fh.seek(cand)
                head = fh.read(_BLK.size)
                if len(head) == _BLK.size:
                    magic, _k, _f, _first, _n, _nch, _r, plen, crc = _BLK.unpack(head)
                    if cand + _BLK.size + plen <= size and _crc(head[2:-4], fh.read(plen)) == crc:
                        return cand
                k = window.find(BLOCK_MAGIC, k + 1)
            pos += max(1, len(window) - 1)
        return None

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        start, stop = self._range(start, stop)
        nch = self.info.n_channels
        out = np.empty((stop - start, nch))
        filled = start  # samples before this are filled
        k = max(0, bisect.bisect_right(self._firsts, start) - 1)
        last = self._value_before(k, start)
        while filled < stop and k < len(self._firsts):
            first, n = self._firsts[k], self._ns[k]
            if first + n <= filled:
                k += 1
                continue
            if first > filled:  # a gap: hold the last value
                e = min(first, stop)
                out[filled - start : e - start] = last
                filled = e
                continue
            a, e = filled - first, min(stop, first + n) - first
            self._fh.seek(self._offsets[k] + 4 * nch * a)
            block = np.frombuffer(self._fh.read(4 * nch * (e - a)), dtype="<f4").reshape(-1, nch)
            out[filled - start : filled - start + len(block)] = block
            filled += len(block)
            last = block[-1]
            k += 1
        if filled < stop:
            out[filled - start :] = last
        if self._scale != 1.0:
            out *= self._scale
        return out

    def _value_before(self, k: int, start: int) -> np.ndarray:
        """The last sample before ``start`` (held over a gap); before the first sample, that sample
        (a gap at the very start is held at it); zeros when there are no samples."""
        nch = self.info.n_channels
        while k >= 0:
            first, n = self._firsts[k] if k < len(self._firsts) else 0, self._ns[k] if k < len(self._ns) else 0
            if n and first < start:
                i = min(start, first + n) - 1 - first
                self._fh.seek(self._offsets[k] + 4 * nch * i)
                return np.frombuffer(self._fh.read(4 * nch), dtype="<f4").astype(np.float64)
            k -= 1
        if self._firsts:
            self._fh.seek(self._offsets[0])
            return np.frombuffer(self._fh.read(4 * nch), dtype="<f4").astype(np.float64)
        return np.zeros(nch)

    def close(self) -> None:
        self._fh.close()
