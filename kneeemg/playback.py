"""Run the detector over a recording, chunk by chunk, as if it were live.

Memory stays bounded whatever the night's length: the recording is streamed from disk in
chunks through one :class:`~kneeemg.dsp.StreamingDetector`.
"""

from __future__ import annotations

import math
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .config import NARROW_CONTENT_HZ, DetectorConfig
from .dsp import DetectionResult, StreamingDetector
from .dsp.filters import BAND_LIMITED_DB, high_band_level_db
from .errors import InputError
from .io import export_edf, open_recording
from .io.base import Recording
from .io.edf import check_edf_rate


#: Channel-samples read at a time when no ``chunk_s`` is given.
CHUNK_CHANNEL_SAMPLES = 1 << 19
#: Seconds from a recording's start whose spectrum tells whether it is band-limited
#: (:func:`band_limit`), when the file does not say.
BAND_SPECTRUM_S = 300.0


def narrow_band_note(info: Any, asked: DetectorConfig, used: DetectorConfig, measured_db: float | None = None) -> str | None:
    """A note when the recording was detected with a higher onset ratio than ``asked`` for,
    since it holds nothing above ``info.content_hz`` (:meth:`DetectorConfig.for_content`)
    or, when ``measured_db`` is given, since its background lies that far below its 30-100 Hz
    level above 200 Hz (:func:`band_limit`); None otherwise."""
    if used.onset_ratio == asked.onset_ratio:
        return None
    if measured_db is None:
        why = f"the recording holds nothing above {info.content_hz:g} Hz (its low-pass filter or its original rate)"
    else:
        below = "nothing" if math.isinf(measured_db) else f"{-measured_db:.0f} dB below its 30-100 Hz level"
        why = (f"the recording's background holds next to nothing above {NARROW_CONTENT_HZ:g} Hz ({below}: a band-limited "
               "channel, such as a sleep lab's leg EMG)")
    return (f"{why}, so a burst starts at {used.onset_ratio:g} x the noise floor instead of {asked.onset_ratio:g}: quiet noise of so "
            f"narrow a band crosses {asked.onset_ratio:g} x now and then (docs/detector.md, \"Known limits\"); "
            f"--set narrow_onset_ratio=0 keeps {asked.onset_ratio:g}")


def recording_site(info: Any) -> str | None:
    """The muscle a recording holds (:func:`~kneeemg.io.channels.muscle_site`), from its
    :class:`~kneeemg.io.base.RecordingInfo`: the thigh for kneeemg's own ``.kemg`` files,
    else what the labels name (None: they do not say)."""
    from .io.channels import muscle_site

    if info is None:
        return None
    return muscle_site(info.labels, own=info.format == "kemg")


def check_edf_out(path: str | os.PathLike[str]) -> Path:
    """Check, before any work, that ``path`` (``--edf-out``) names a new ``.edf`` or ``.bdf``
    file in a folder that can be written; an existing file is never replaced."""
    from .paths import check_output_file

    p = check_output_file(path, "--edf-out", "EDF export", None)
    if p.suffix.lower() not in (".edf", ".bdf"):
        raise InputError(f"--edf-out {p}: end the name in .edf (EDF+, 16-bit) or .bdf (BDF+, 24-bit, finer steps)")
    return p


def band_limit(rec: Recording, asked: DetectorConfig) -> tuple[float | None, float | None]:
    """What a recording holds, for :meth:`DetectorConfig.for_content`: ``(content_hz,
    measured_db)``.

    ``content_hz`` is what the file says (``info.content_hz``: an EDF prefilter, the rate a
    resampled recording came from). When it says nothing, the start of the recording (up to
    :data:`BAND_SPECTRUM_S`, and at most :data:`CHUNK_CHANNEL_SAMPLES` channel-samples) is
    measured: when every channel's background lies :data:`~kneeemg.dsp.filters.BAND_LIMITED_DB`
    or more below its 30-100 Hz level above 200 Hz (:func:`~kneeemg.dsp.filters.high_band_level_db`),
    the recording counts as holding nothing above 200 Hz and ``measured_db`` is that level
    (None otherwise). Not measured when ``asked`` would not use it.
    """
    info = rec.info
    content = getattr(info, "content_hz", None)
    if content is not None or asked.narrow_onset_ratio <= asked.onset_ratio or info.fs_hz / 2 <= NARROW_CONTENT_HZ:
        return content, None
    n = min(info.n_samples, int(BAND_SPECTRUM_S * info.fs_hz), CHUNK_CHANNEL_SAMPLES // max(1, info.n_channels))
    level = high_band_level_db(rec.read(0, n), info.fs_hz) if n > 0 else None
    if level is None or not level <= BAND_LIMITED_DB:
        return None, None
    return NARROW_CONTENT_HZ, level


def replay(
    source: str | os.PathLike[str] | Recording,
    channels: Sequence[str | int] | None = None,
    config: DetectorConfig | None = None,
    chunk_s: float | None = None,
    resample_hz: float | None = None,
    fs_hz: float | None = None,
    events_out: str | os.PathLike[str] | None = None,
    progress: Callable[[float], None] | None = None,
    threads: int | None = None,
    edf_out: str | os.PathLike[str] | None = None,
) -> DetectionResult:
    """Detect the events of a recording file (any supported format) or Recording object.

    Parameters
    ----------
    source : path or Recording
    channels : sequence of str or int, optional
        Channel labels or indices (see :func:`kneeemg.io.open_recording` for the default).
    config : DetectorConfig, optional
        For a recording that holds nothing above 200 Hz (``info.content_hz``, or measured
        from its start when the file does not say: :func:`band_limit`), its onset ratio is
        raised to its ``narrow_onset_ratio`` (:meth:`DetectorConfig.for_content`); the
        result's ``config`` is the one used, and its ``source.warnings`` say so.
    chunk_s : float, optional
        Seconds read from disk at a time. By default about 2**19 channel-samples (4 MB),
        at least one second: enough for the detector's two threads to overlap its blocks.
    resample_hz, fs_hz : float, optional
        See :func:`kneeemg.io.open_recording`.
    events_out : path, optional
        Also write the events as CSV there. Checked before any work: an existing file is
        replaced only when it is an earlier events CSV (never the recording itself).
    progress : callable, optional
        Called with the fraction done (0-1) after each chunk.
    threads : int, optional
        Threads of the detector (see :class:`~kneeemg.dsp.StreamingDetector`).
    edf_out : path, optional
        Also write the recording as detected (the channels chosen, resampled if asked) as
        EDF+ (``.edf``, 16-bit) or BDF+ (``.bdf``, 24-bit), with the events, leg movements
        and excluded stretches as annotations (:func:`kneeemg.io.export_edf`), to open in
        an EDF viewer. A new file only: checked before any work, with the rate (a whole
        number of Hz).

    Returns
    -------
    DetectionResult
        Its ``lost_s`` attribute holds the seconds lost while recording (gaps).
    """
    own = not isinstance(source, Recording)
    if events_out is not None:  # (an empty one is refused, not taken as none)
        from .events import csv_signature
        from .paths import check_output_file, is_ground_truth

        if is_ground_truth(events_out):
            raise InputError(f"--events-out {events_out} is a ground-truth file, not for detected events; "
                             "choose another --events-out")
        # before the work: never replace the recording itself or any file that is not an events CSV
        events_out = check_output_file(events_out, "--events-out", "kneeemg events CSV", csv_signature(),
                                       inputs=(source if own else getattr(source.info, "path", None),))
    if edf_out is not None:
        edf_out = check_edf_out(edf_out)
        if events_out is not None and Path(events_out).resolve() == edf_out.resolve():
            raise InputError(f"--events-out and --edf-out both name {edf_out}; give each its own file")
    rec = open_recording(source, channels=channels, resample_hz=resample_hz, fs_hz=fs_hz) if own else source
    try:
        info = rec.info
        if edf_out is not None:
            check_edf_rate(info.fs_hz)
        asked = config or DetectorConfig()
        content_hz, measured_db = band_limit(rec, asked)
        det = StreamingDetector(info.fs_hz, info.n_channels, config=asked.for_content(content_hz), labels=info.labels, threads=threads)
        for gap in getattr(info, "gaps", None) or []:  # held at the last value by the reader: never usable time
            det.mark_lost(gap.start_sample, gap.n_samples)
        if chunk_s is None:
            step = max(int(round(info.fs_hz)), CHUNK_CHANNEL_SAMPLES // max(1, info.n_channels))
        else:
            step = max(1, int(round(chunk_s * info.fs_hz)))
        for start in range(0, info.n_samples, step):
            chunk = rec.read(start, min(info.n_samples, start + step))
            if not np.isfinite(chunk).all():
                row = int(np.argmax(~np.isfinite(chunk).all(axis=1)))
                raise InputError(f"{info.path or 'the recording'} has NaN or infinite samples at {(start + row) / info.fs_hz:.3f} s; "
                                 "repair or cut the file")
            det.process(chunk)
            if progress:
                progress(min(1.0, (start + step) / info.n_samples))
        result = det.finish()
        result.lost_s = info.lost_s if hasattr(info, "lost_s") else 0.0
        note = narrow_band_note(info, asked, det.config, measured_db)
        result.source = replace(info, warnings=[*info.warnings, note]) if note else info
        if events_out:
            from .events import write_events_csv

            write_events_csv(result.events, Path(events_out))
        if edf_out is not None:  # (the recording is read again, so it is still open)
            export_edf(rec, edf_out, [*result.events, *result.leg_movements], bdf=edf_out.suffix.lower() == ".bdf",
                       excluded=result.excluded)
    finally:
        if own:
            rec.close()
    return result
