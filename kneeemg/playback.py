"""Run the detector over a recording, chunk by chunk, as if it were live.

Memory stays bounded whatever the night's length: the recording is streamed from disk in
chunks through one :class:`~kneeemg.dsp.StreamingDetector`.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .config import DetectorConfig
from .dsp import DetectionResult, StreamingDetector
from .errors import InputError
from .io import open_recording
from .io.base import Recording


#: Channel-samples read at a time when no ``chunk_s`` is given.
CHUNK_CHANNEL_SAMPLES = 1 << 19


def narrow_band_note(info: Any, asked: DetectorConfig, used: DetectorConfig) -> str | None:
    """A note when the recording was detected with a higher onset ratio than ``asked`` for,
    since it holds nothing above ``info.content_hz`` (:meth:`DetectorConfig.for_content`);
    None otherwise."""
    if used.onset_ratio == asked.onset_ratio:
        return None
    return (f"the recording holds nothing above {info.content_hz:g} Hz (its low-pass filter or its original rate), "
            f"so a burst starts at {used.onset_ratio:g} x the noise floor instead of {asked.onset_ratio:g}: quiet noise of so "
            f"narrow a band crosses {asked.onset_ratio:g} x now and then (docs/detector.md, \"Known limits\"); "
            f"--set narrow_onset_ratio=0 keeps {asked.onset_ratio:g}")


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
) -> DetectionResult:
    """Detect the events of a recording file (any supported format) or Recording object.

    Parameters
    ----------
    source : path or Recording
    channels : sequence of str or int, optional
        Channel labels or indices (see :func:`kneeemg.io.open_recording` for the default).
    config : DetectorConfig, optional
        For a recording that holds nothing above 200 Hz (``info.content_hz``), its onset
        ratio is raised to its ``narrow_onset_ratio`` (:meth:`DetectorConfig.for_content`);
        the result's ``config`` is the one used, and its ``source.warnings`` say so.
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

    Returns
    -------
    DetectionResult
        Its ``lost_s`` attribute holds the seconds lost while recording (gaps).
    """
    own = not isinstance(source, Recording)
    if events_out:
        from .events import csv_signature
        from .paths import check_output_file, is_ground_truth

        if is_ground_truth(events_out):
            raise InputError(f"--events-out {events_out} is a ground-truth file, not for detected events; "
                             "choose another --events-out")
        # before the work: never replace the recording itself or any file that is not an events CSV
        events_out = check_output_file(events_out, "--events-out", "kneeemg events CSV", csv_signature(),
                                       inputs=(source if own else getattr(source.info, "path", None),))
    rec = open_recording(source, channels=channels, resample_hz=resample_hz, fs_hz=fs_hz) if own else source
    try:
        info = rec.info
        asked = config or DetectorConfig()
        det = StreamingDetector(info.fs_hz, info.n_channels, config=asked.for_content(getattr(info, "content_hz", None)), labels=info.labels,
                                threads=threads)
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
        note = narrow_band_note(info, asked, det.config)
        result.source = replace(info, warnings=[*info.warnings, note]) if note else info
    finally:
        if own:
            rec.close()
    if events_out:
        from .events import write_events_csv

        write_events_csv(result.events, Path(events_out))
    return result
