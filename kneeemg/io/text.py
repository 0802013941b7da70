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

from ..config import MAX_RECORD_S
from ..errors import InputError, RecordingFormatError
from ..words import plural
from .array import ArrayRecording, channel_indices, select_channels
from .base import Gap, RecordingInfo
from .units import KNOWN_UNITS, UNIT_TO_UV, split_unit, uv_per

#: A time column's name, case-insensitive, with an optional unit: ``time``, ``t``, ``timestamp``,
#: ``seconds``, ``ms``, ``time_s``, ``time (s)``, ``time_ms``, ``timestamp [ms]``, ...
_TIME_NAME = re.compile(r"(time|t|timestamp|seconds|ms|milliseconds)"
                        r"(?:\s*[_(\[]\s*(s|sec|seconds|ms|msec|milliseconds)\s*[)\]]?)?", re.IGNORECASE)
#: Rates below this from a time column are no EMG: the column's unit is wrong.
_MIN_TIME_RATE_HZ = 100.0
#: UCI channel names (Spanish in the "A" files) and their short labels.
UCI_NAMES = {"recto femoral": "RF", "biceps femoral": "BF", "vasto medial": "VM", "emg semitendinoso": "ST",
             "flexo-extension": "FX", "rf": "RF", "bf": "BF", "vm": "VM", "st": "ST", "fx": "FX"}
_UCI_CHANNEL = re.compile(r"Channel\s+\d+:\s*'([^']+)'.*engineering units:\s*([^,]+)", re.IGNORECASE)
_UCI_VALUES = re.compile(r"'\s*,\s*(\d+)\s+values\b", re.IGNORECASE)


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
    names, units, announced = [], [], []
    for line in lines[:12]:
        m = _UCI_CHANNEL.search(line)
        if m:
            names.append(UCI_NAMES.get(m.group(1).strip().lower(), m.group(1).strip()))
            units.append(m.group(2).strip().lower())
            count = _UCI_VALUES.search(line)
            announced.append(int(count.group(1)) if count else None)
    rows = [r for r in _numeric_rows(lines, "\t") if len(r) >= len(names)]
    if not names or not rows:
        raise RecordingFormatError(f"{path}: no channel header or no samples; is it a UCI lower-limb text file?")
    data = np.array([r[: len(names)] for r in rows])
    emg = [i for i, u in enumerate(units) if u in UNIT_TO_UV]
    if not emg:
        raise RecordingFormatError(f"{path}: no channel is in a voltage unit (its units: {', '.join(dict.fromkeys(units))}); "
                                   f"kneeemg reads EMG in {KNOWN_UNITS}")
    warnings = []
    expected = [announced[i] for i in emg if announced[i] is not None]
    if expected and len(rows) < min(expected):
        warnings.append(f"{path.name}: its header announces {plural(min(expected), 'sample')} per channel, but only "
                        f"{plural(len(rows), 'row')} of {plural(len(names), 'number')} {'was' if len(rows) == 1 else 'were'} read (the file was cut short, or lines were left out)")
    extra = {names[i]: (data[:, i].copy(), 1000.0) for i in range(len(names)) if i not in emg}
    x = data[:, emg] * np.array([UNIT_TO_UV[units[i]] for i in emg])
    x, labels = select_channels(x, tuple(names[i] for i in emg), channels, str(path))
    info = RecordingInfo(fs_hz=1000.0, labels=labels, n_samples=len(x), path=path, format="uci-text", extra=extra,
                         warnings=warnings)
    return ArrayRecording(x, info)


def _text_encoding(head: bytes) -> str:
    """The encoding of a text file from its first bytes: UTF-16 when it starts with that
    byte-order mark (Windows tools write it), else UTF-8 (a byte-order mark skipped)."""
    return "utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"


def _decode(raw: bytes) -> str:
    """Text from a file's bytes: UTF-16 or UTF-8 (:func:`_text_encoding`); bytes that are not
    UTF-8 are read as Windows-1252 (Latin-1 and the signs Windows adds to it), as spreadsheets
    in Western European languages save text (``gauche é``), not as U+FFFD. Numbers are ASCII
    in all of them, so the data rows read the same."""
    encoding = _text_encoding(raw)
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        if encoding == "utf-16":
            return raw.decode(encoding, errors="replace")
        return raw.decode("cp1252", errors="replace")  # (5 bytes cp1252 leaves undefined become U+FFFD)


def _read_text(path: Path) -> str:
    """A text file's content, UTF-8, UTF-16 or Windows-1252 (see :func:`_decode`)."""
    return _decode(path.read_bytes())


def _uncomment(text: str) -> tuple[str, int]:
    """``text`` without the comment lines (``#``) before its header, and how many were left
    out. numpy's ``savetxt`` writes the header itself as a comment (``# time,left,right``):
    when numbers follow the comments, the last one is the header."""
    start, skipped, last = 0, 0, None
    text = text.lstrip("\ufeff")
    while text.startswith("#", start) and skipped < 1000:
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        last, start, skipped = (start, end), end, skipped + 1
    if last is None:
        return text, 0
    following = next((line for line in text[start : start + 4096].splitlines() if line.strip()), "")
    if following and _all_numbers([c for c in re.split(r"[,;\t ]+", following.strip()) if c]) and \
            text[last[0] + 1 : last[1]].strip():
        return text[last[0] + 1 : last[1]].lstrip() + text[start:], skipped - 1  # numpy's header
    return text[start:], skipped


def _decimal_comma(lines: list[str], sep: str | None) -> bool:
    """Whether numbers in these lines use a decimal comma (``-12,5``), as spreadsheets in
    many languages write them; only when the delimiter is not the comma itself."""
    if sep == ",":
        return False
    for line in lines[:50]:
        cells = line.strip().split(sep) if sep else line.split()
        if any(re.fullmatch(r'\s*"?[-+]?\d*,\d+(?:[eE][-+]?\d+)?"?\s*', c) for c in cells):
            return True
    return False


def _header(text: str) -> tuple[str | None, list[str]]:
    """The delimiter (None: whitespace) and the first line's cells of a CSV/TSV text, without
    a byte-order mark and without the quotes R and Excel put around labels."""
    text = text.lstrip("\ufeff")
    head = text[:4096]
    sep = csv.Sniffer().sniff(head, delimiters=",;\t").delimiter if any(c in head for c in ",;\t") else None
    firsts = [line for line in head.splitlines()[:20] if line.strip()][:-1] or head.splitlines()[:1]
    for own in ("\t", ";"):  # a tab or semicolon on every line is the delimiter: a comma there is a decimal one
        if sep == "," and firsts and all(own in line for line in firsts):
            sep = own
    first = text.splitlines()[0]
    return sep, [h.strip().strip('"').strip() for h in (first.split(sep) if sep else first.split())]


def _own_table(header: list[str]) -> str | None:
    """What a CSV table kneeemg writes is, by its header (None for any other header)."""
    names = {h.strip().lower() for h in header}
    if {"onset_s", "offset_s", "kind"} <= names:
        return "a list of events (found, or a simulation's ground truth)"
    if {"start_s", "stop_s", "reason"} <= names:
        return "a list of excluded or artefact stretches"
    if {"night_id", "status", "twitches"} <= names:
        return "a table of nights from `kneeemg batch`"
    if {"id", "date", "usable_h", "twitches"} <= names:
        return "a list of nights from `kneeemg nights --csv`"
    return None


def kneeemg_table(path: str | os.PathLike[str]) -> str | None:
    """What the CSV file ``path`` is when kneeemg wrote it (a list of events, of excluded
    stretches, of nights), by its header; None for any other file."""
    header = _head_cells(path)
    return _own_table(header) if header is not None else None


def _time_column(header: list[str]) -> tuple[int, str | None] | None:
    """The index of the time column in ``header`` and its unit (``"s"``, ``"ms"``, or None when
    the name does not say), or None when there is no time column."""
    for i, h in enumerate(header):
        m = _TIME_NAME.fullmatch(h.strip())
        if m:
            unit = (m.group(2) or m.group(1)).lower()
            return i, "ms" if unit in ("ms", "msec", "milliseconds") else "s" if unit in ("s", "sec", "seconds") else None
    return None


_TIME_UNITS = {"s": "s", "sec": "s", "seconds": "s", "ms": "ms", "msec": "ms", "milliseconds": "ms"}


def _column_units(header: list[str], lines: list[str], sep: str | None, comma: bool, tcol: int | None,
                  path: Path) -> tuple[list[str], list[float], str | None]:
    """The labels without their unit, each column's factor to µV and the time column's unit
    from a units line (None when it gives none).

    A column's unit is a known voltage unit at the end of its label (``EMG (mV)``, ``EMG [V]``,
    ``EMG_uV``) or in a units line: the line under the header, without a number, with a cell
    per column (``s,mV``). Other text in a label (``VM (left)``) is part of the label; an
    unknown unit in a units line, or two units for one column, is refused. No unit: µV.
    """
    split = [split_unit(h) for h in header]
    labels = [name for name, _ in split]
    if len({lab.lower() for lab in labels}) < len(labels):  # 'EMG (mV)' and 'EMG (uV)': keep them apart
        labels = list(header)
    cells = _units_line(lines, sep, comma, len(header), path)
    factors, time_unit = [], None
    for j, (h, (_, unit)) in enumerate(zip(header, split)):
        given = cells[j] if cells else ""
        if j == tcol:
            if given and given.lower() not in _TIME_UNITS:
                raise InputError(f"{path}: the units line gives the time column {h!r} in {given!r}; "
                                 "write s or ms there (or leave the cell empty)")
            time_unit = _TIME_UNITS.get(given.lower())
            named = _time_column([h])
            if time_unit and named and named[1] and named[1] != time_unit:
                raise InputError(f"{path}: the time column {h!r} says {named[1]} in its name but {given} in the units "
                                 "line; correct the one that is wrong")
            factors.append(1.0)
            continue
        if given and uv_per(given) is None:
            raise InputError(f"{path}: the units line gives column {h!r} in {given!r}, not a voltage unit kneeemg knows "
                             f"({KNOWN_UNITS}); write one of these there (an empty cell is µV)")
        if given and unit and uv_per(given) != uv_per(unit):
            raise InputError(f"{path}: column {h!r} says {unit} in its label but {given} in the units line; "
                             "correct the one that is wrong")
        factors.append(uv_per(given or unit or "uV"))
    return labels, factors, time_unit


def _units_line(lines: list[str], sep: str | None, comma: bool, width: int, path: Path) -> list[str] | None:
    """The cells of the units line (the line under the header when it holds no number and a
    cell per column), or None when there is none."""
    if len(lines) < 2 or not lines[1].strip():
        return None
    cells = [c.strip().strip('"').strip() for c in (lines[1].split(sep) if sep else lines[1].split())]
    if any(_number(c, comma) is not None for c in cells):
        return None
    if not any(uv_per(c) is not None or c.lower() in _TIME_UNITS for c in cells):
        return None  # a line of descriptions ("left leg"), not of units: skipped as before the first row
    if len(cells) != width:
        raise InputError(f"{path}: the units line (line 2) has {plural(len(cells), 'cell')} for "
                         f"{plural(width, 'column')}; give one unit per column (an empty cell is µV)")
    return cells


def _head_cells(path: str | os.PathLike[str]) -> list[str] | None:
    """The header cells of a CSV/TSV file, read from its first 8 kB as :func:`read_csv` reads
    them (its encodings, comments before the header); None for an empty or unreadable file."""
    try:
        with Path(path).open("rb") as fh:
            raw = fh.read(8192)
        head = _uncomment(_decode(raw[: raw.rfind(b"\n") + 1] or raw))[0]  # (whole lines: a character cut at 8 kB is no UTF-8 error)
        return _header(head)[1] if head.strip() else None
    except (OSError, csv.Error):
        return None


def csv_has_time_column(path: str | os.PathLike[str]) -> bool:
    """Whether a CSV/TSV file's header names a time column (so it gives its own rate);
    reads only its first 8 kB. False for an empty or unreadable file."""
    header = _head_cells(path)
    return header is not None and _time_column(header) is not None


#: Rows gathered as Python lists before they join the array (a list of floats takes about ten
#: times the memory of the numbers themselves).
_ROWS_PER_BLOCK = 65536


def _csv_rows(lines: list[str], first_line: int, sep: str | None, width: int, path: Path,
              comma: bool = False) -> tuple[np.ndarray, list[str]]:
    """The rows of ``width`` numbers in ``lines`` (line ``first_line`` on), shape
    (n_rows, width), and warnings; with ``comma``, the numbers have a decimal comma.

    Blank lines, and lines without any number before the first row (a units line, comments),
    are skipped. Any other line that is not ``width`` numbers (``NA``, an empty cell,
    text, another number of cells) is refused with its line number, since leaving it out would
    date every later sample early; only a bad last line (a file cut while being written) is left
    out, with a warning.
    """
    blocks: list[np.ndarray] = []
    rows: list[list[float]] = []
    bad: list[tuple[int, str]] = []
    last = 0  # the last line that is not blank
    for n, line in enumerate(lines, start=first_line):
        if not line.strip():
            continue
        last = n
        row = [_number(p, comma) for p in (line.strip().split(sep) if sep else line.split())]
        if len(row) == width and None not in row:
            rows.append(row)
            if len(rows) == _ROWS_PER_BLOCK:
                blocks.append(np.array(rows, dtype=float))
                rows = []
        elif rows or blocks or any(v is not None for v in row):
            bad.append((n, line.strip()))
    blocks.append(np.array(rows, dtype=float).reshape(len(rows), width))
    data = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
    if len(bad) == 1 and bad[0][0] == last:
        return data, [f"the last line ({bad[0][0]}: {bad[0][1][:40]!r}) is not {plural(width, 'number')}; left out"]
    if bad:
        n, line = bad[0]
        more = f", nor are {plural(len(bad) - 1, 'more line')}" if len(bad) > 1 else ""
        raise InputError(f"{path}: line {n} ({line[:40]!r}) is not {plural(width, 'number')}{more}; fill in the "
                         "missing values (leaving lines out would date every later sample early)")
    return data, []


def _number(cell: str, comma: bool = False) -> float | None:
    cell = cell.strip().strip('"')
    try:
        return float(cell.replace(",", ".") if comma else cell)
    except ValueError:
        return None


def read_csv(path: Path, channels: Sequence[str | int] | None, fs_hz: float | None) -> ArrayRecording:
    """CSV or TSV with a header of labels; the rate from a time column or ``fs_hz``.

    Values are in µV unless a column's label ends in a voltage unit (``EMG (mV)``, ``EMG [V]``,
    ``EMG_mV``) or a units line under the header gives one (``s,mV``): they are scaled to µV
    and the label loses its unit (see :func:`_column_units`).

    The file may be UTF-8, UTF-16 (with its byte-order mark) or Windows-1252 (Latin-1), the
    delimiter a comma, a semicolon, a tab or spaces, and the numbers may have a decimal comma
    (``-12,5``) when the delimiter is not a comma, as spreadsheets in many languages save them. The header may be
    quoted and start with a byte-order mark. The time column is named
    ``time``, ``t``, ``timestamp``, ``seconds`` or ``ms``, with an optional unit (``time (s)``,
    ``time_ms``, ``timestamp [ms]``). It is in seconds unless its name says ms, or it says no
    unit and its median step is 0.25-2: no EMG is sampled at 0.5-4 Hz, so that column counts
    milliseconds (500-4000 Hz). A step of two sample periods or more in it (judged by the median
    step) is a gap: the samples lost there are filled by holding the last value, as the ``.kemg``
    reader does, so later samples keep their time. The rate comes from the whole column
    (:func:`_time_rate`); ``fs_hz`` is used as it is. Every line after the first sample must be numbers (see
    :func:`_csv_rows`).
    """
    text, skipped = _uncomment(_read_text(path))
    if not text.strip():
        raise RecordingFormatError(f"{path} is empty")
    try:
        sep, header = _header(text)
    except csv.Error:  # the sniffer's answer to lines that share no delimiter
        raise RecordingFormatError(f"{path} is not a table of samples (its lines share no comma, semicolon or tab); "
                                   "a CSV recording has a header of channel names and a line of numbers per "
                                   "sample") from None
    own = _own_table(header)
    if own:
        raise RecordingFormatError(f"{path} is {own} written by kneeemg, not a recording; give the recording itself")
    lines = text.splitlines()
    comma = _decimal_comma(lines, sep)
    numeric = _all_numbers([h.replace(",", ".") if comma else h for h in header])
    if numeric:
        header = [f"ch{i}" for i in range(len(header))]
    width = len(header)
    data, warnings = _csv_rows(lines if numeric else lines[1:], skipped + (1 if numeric else 2), sep, width, path, comma)
    if not len(data):
        raise RecordingFormatError(f"{path}: no rows of {plural(width, 'number')}; check the delimiter and header")
    gaps: list[Gap] = []
    time = _time_column(header)
    names, factors, line_unit = (header, [1.0] * width, None) if numeric else \
        _column_units(header, lines, sep, comma, time[0] if time else None, path)
    data = data * np.array(factors)
    if time is not None:
        tcol, unit = time
        unit = unit or line_unit
        bad = int(np.count_nonzero(~np.isfinite(data[:, tcol])))
        if bad:
            raise InputError(f"{path}: the time column {header[tcol]!r} holds {plural(bad, 'value')} that "
                             f"{'is' if bad == 1 else 'are'} not a finite number (such as NaN); every row needs its time")
        t = data[:, tcol] - data[0, tcol]
        dt = np.diff(t)
        # (a time repeated is a rounded one: 1024 Hz in whole milliseconds; the slope gives the rate)
        back = np.flatnonzero(dt < 0)
        if len(back):
            j = int(back[0])
            raise InputError(f"{path}: the time column {header[tcol]!r} goes back after line {j + 2 + skipped} (from "
                             f"{data[j, tcol]:g} to {data[j + 1, tcol]:g}); put the lines in time order, or remove "
                             "the column and give the rate with --fs")
        step = float(np.median(dt)) if len(dt) else 0.0
        if step <= 0:
            raise InputError(f"{path}: the time column {header[tcol]!r} does not increase (most of its steps are 0); "
                             "remove the column and give the rate with --fs")
        if unit == "ms" or (unit is None and 0.25 <= step <= 2.0):
            t, dt, step = t / 1000.0, dt / 1000.0, step / 1000.0
        if 1.0 / step < _MIN_TIME_RATE_HZ:
            raise InputError(f"{path}: the time column {header[tcol]!r} steps by {step:g} s ({1.0 / step:g} Hz), too slow "
                             "for EMG; if it counts milliseconds, name it 'time_ms'")
        rate, periods = _time_rate(t, dt >= 2.0 * step)
        if float(np.sum(periods)) > MAX_RECORD_S * rate:
            j = int(np.argmax(dt))
            raise InputError(f"{path}: the time column {header[tcol]!r} jumps by {dt[j]:g} s after line {j + 2}, more than "
                             f"a recording can last ({MAX_RECORD_S / 3600:g} h); check that line's time")
        data, gaps = _fill_jumps(np.delete(data, tcol, axis=1), periods)
        labels = tuple(h for i, h in enumerate(names) if i != tcol)
    elif fs_hz:
        rate, labels = float(fs_hz), tuple(names)
    else:
        raise InputError(f"{path} has no time column; give the sampling rate with --fs (or add a 'time' column in seconds)")
    if not labels:
        raise InputError(f"{path} has no EMG column, only {header[0]!r}; add a column of samples per channel")
    x, labels = select_channels(data, labels, channels, str(path))
    return ArrayRecording(x, RecordingInfo(fs_hz=rate, labels=labels, n_samples=len(x), path=path, format="csv",
                                           gaps=gaps, warnings=warnings))


def _time_rate(t: np.ndarray, gap: np.ndarray) -> tuple[float, np.ndarray]:
    """The sampling rate of a time column ``t`` (s, from 0) and each of its steps in sample
    periods, given which steps are gaps (``gap``, found with the median step).

    The sample period is the least-squares slope of time over sample number within the runs
    between gaps (each run its own offset), so neither times rounded to a few decimals nor a
    jittery clock bias it, and a gap's length does not enter it; each gap then spans its
    duration in whole periods. The rate is made a whole number only when the time column
    cannot tell the two apart: within 1e-6, or within twice the largest time residual over
    the span the runs cover (2048 Hz in times of 4 decimals stays 2048, not 2000).
    """
    run = np.r_[0, np.cumsum(gap)]  # the run of each sample
    count = np.bincount(run).astype(float)
    n = np.arange(len(t), dtype=float)
    nc = n - (np.bincount(run, n) / count)[run]
    tc = t - (np.bincount(run, t) / count)[run]
    period = float(np.dot(nc, tc) / np.dot(nc, nc))
    rate = 1.0 / period
    covered = float(np.sum(np.diff(t)[~gap]))
    tolerance = max(1e-6, 2.0 * float(np.max(np.abs(tc - period * nc))) / covered)
    if abs(rate - round(rate)) <= tolerance * rate:
        rate = float(round(rate))
    periods = np.where(gap, np.maximum(2.0, np.round(np.diff(t) * rate)), 1.0)
    return rate, periods


def _fill_jumps(data: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, list[Gap]]:
    """``data`` with the samples missing at each jump of ``steps`` (in sample periods, one per
    row after the first) of two periods or more filled by holding the last value, and the gaps."""
    jumps = np.flatnonzero(steps >= 2.0)
    if len(jumps) == 0:
        return data, []
    parts, gaps, done, shift = [], [], 0, 0
    for j in jumps:
        missing = int(round(steps[j])) - 1
        parts += [data[done : j + 1], np.repeat(data[j : j + 1], missing, axis=0)]
        gaps.append(Gap(int(j) + 1 + shift, missing, "missing"))
        done, shift = j + 1, shift + missing
    return np.concatenate(parts + [data[done:]]), gaps


def _all_numbers(items: list[str]) -> bool:
    try:
        [float(i) for i in items]
        return True
    except ValueError:
        return False


def read_wfdb(path: Path, channels: Sequence[str | int] | None) -> ArrayRecording:
    """A WFDB record (``.hea`` + ``.dat``) through the ``wfdb`` package; physical units to µV.

    A signal without a unit is in mV (WFDB's default); a chosen channel in a unit that is no
    voltage kneeemg knows (``NU``, ``degrees``) is refused rather than read at a guessed scale.
    """
    import wfdb

    base = path.with_suffix("")
    try:
        rec = wfdb.rdrecord(str(base))
    except (OSError, ValueError, IndexError, KeyError, TypeError, OverflowError) as exc:  # (the wfdb library's ways to fail)
        raise RecordingFormatError(f"{path}: cannot read the WFDB record ({type(exc).__name__}: {exc}); check that its "
                                   "signal (.dat) files are beside it and whole") from None
    idx = channel_indices(tuple(rec.sig_name), channels, str(path))
    scale = []
    for i in idx:
        unit = (rec.units[i] or "").strip() or "mV"
        if uv_per(unit) is None:
            raise InputError(f"{path}: channel {rec.sig_name[i]!r} is in {unit!r}, not a voltage unit kneeemg knows "
                             f"({KNOWN_UNITS}); choose EMG channels with --channels, or correct the unit in the .hea file")
        scale.append(uv_per(unit))
    x, labels = rec.p_signal[:, idx] * np.array(scale), tuple(rec.sig_name[i] for i in idx)
    info = RecordingInfo(fs_hz=float(rec.fs), labels=labels, n_samples=len(x), path=path, format="wfdb",
                         start_time=rec.base_datetime)
    return ArrayRecording(x, info)


def read_mat(path: Path, channels: Sequence[str | int] | None) -> ArrayRecording:
    """A MATLAB file with a struct ``EMG`` holding ``channelData`` (samples x channels) and ``fs``."""
    import zlib

    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    try:
        m = loadmat(str(path), squeeze_me=True, struct_as_record=False)
    except (MatReadError, ValueError, OSError, IndexError, KeyError, TypeError, zlib.error) as exc:  # (scipy's ways to fail)
        raise RecordingFormatError(f"{path}: cannot read the MATLAB file ({exc}); is it a .mat file saved by MATLAB?") \
            from None
    except NotImplementedError:  # scipy's answer to MATLAB v7.3 (HDF5) files
        raise RecordingFormatError(f"{path} is a MATLAB v7.3 file; save it with save(..., '-v7') or export it as EDF or CSV") from None
    emg = m.get("EMG")
    if emg is None or not hasattr(emg, "channelData") or not hasattr(emg, "fs"):
        raise RecordingFormatError(f"{path}: expected a struct EMG with fields channelData and fs")
    fs = np.asarray(emg.fs)
    if fs.size != 1 or fs.dtype.kind not in "iuf":
        raise RecordingFormatError(f"{path}: EMG.fs must be one number, the sampling rate in Hz (it holds "
                                   f"{_mat_what(fs)}); save the rate there, e.g. EMG.fs = 1000")
    data = np.asarray(emg.channelData)
    if data.dtype.kind not in "iuf" or data.ndim > 2:
        raise RecordingFormatError(f"{path}: EMG.channelData must be a matrix of numbers, samples x channels (it holds "
                                   f"{_mat_what(data)}); save the samples there as one real matrix")
    x = data.astype(float)
    if x.ndim == 1:
        x = x[:, None]
    elif x.shape[0] < x.shape[1]:
        x = x.T
    x, labels = select_channels(x, tuple(f"ch{i}" for i in range(x.shape[1])), channels, str(path))
    return ArrayRecording(x, RecordingInfo(fs_hz=float(fs.item()), labels=labels, n_samples=len(x), path=path, format="mat"))


def _mat_what(a: np.ndarray) -> str:
    """What a MATLAB variable read by scipy holds, in a few words."""
    kind = {"U": "text", "S": "text", "O": "cells or structs", "c": "complex numbers", "b": "true/false values"}.get(
        a.dtype.kind, "numbers")
    return f"{kind} of shape {'x'.join(map(str, a.shape))}" if a.shape else kind
