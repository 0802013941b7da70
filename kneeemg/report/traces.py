"""Real EMG around chosen events, filtered exactly as the detector filters it.

The report shows the largest spasm (or cramp) and a few typical twitches. The samples are
read back from the recording (random access: only a few seconds around each event) and run
through :func:`kneeemg.dsp.detector.detect` with ``keep_filtered=True`` and the night's own
detector settings, so the trace is the band-passed, notched signal the detector saw.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..errors import KneeEmgError
from ..paths import stored_path
from ..events import Event

log = logging.getLogger(__name__)

#: Signal shown before an event's onset and after its offset, s (twitch, longer events).
MARGIN_S = {"twitch": 0.4, "spasm": 1.0, "cramp": 1.5}
#: Longest stretch of one event that is drawn, s (the start of a long cramp).
MAX_EVENT_SHOWN_S = 20.0
#: Extra signal read before the detector's warm-up so the band-pass has settled, s.
SETTLE_S = 1.0
#: Quantiles of twitch peak amplitude whose twitches are shown as "typical".
TYPICAL_QUANTILES = (0.25, 0.5, 0.75)


@dataclass
class Snippet:
    """Filtered EMG around one event.

    Attributes
    ----------
    title : str
        What the trace shows, in words.
    signal_uv : ndarray, shape (n_samples,), float32
        Filtered signal, µV.
    fs_hz : float
        Sampling rate, Hz.
    event_start_s, event_stop_s : float
        The event's onset and offset from the start of ``signal_uv``, s.
    """

    title: str
    signal_uv: np.ndarray
    fs_hz: float
    event_start_s: float
    event_stop_s: float


def choose_events(events: Sequence[Event]) -> list[tuple[str, Event]]:
    """The longest cramp, the largest spasm (by peak), and the twitches at
    :data:`TYPICAL_QUANTILES` of peak: those there are."""
    cramps = sorted((e for e in events if e.kind == "cramp"), key=lambda e: -e.duration_s)
    spasms = sorted((e for e in events if e.kind == "spasm"), key=lambda e: -e.peak_uv)
    twitches = sorted((e for e in events if e.kind == "twitch"), key=lambda e: e.peak_uv)
    chosen = ([("Longest cramp", cramps[0])] if cramps else []) + ([("Largest spasm", spasms[0])] if spasms else [])
    picked: set[int] = set()
    for q in TYPICAL_QUANTILES:
        i = int(round(q * (len(twitches) - 1))) if twitches else -1
        if i >= 0 and i not in picked:
            picked.add(i)
            chosen.append(("Typical twitch", twitches[i]))
    return chosen


def _clock(seconds: float) -> str:
    h, rest = divmod(int(seconds), 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}"


def event_snippet(recording: Any, event: Event, title: str, config: Any = None) -> Snippet:
    """Filtered EMG of ``event``'s channel from ``recording``, with margins.

    Parameters
    ----------
    recording : kneeemg.io.base.Recording
    event : Event
    title : str
        Start of the snippet's title ("Typical twitch").
    config : DetectorConfig, optional
        The night's detector settings (the defaults when omitted).
    """
    from ..config import as_config
    from ..dsp.detector import detect

    cfg = as_config(config)
    fs = recording.info.fs_hz
    n = recording.info.n_samples
    margin = int(MARGIN_S.get(event.kind, 1.0) * fs)
    show_a = max(0, event.onset_sample - margin)
    stop = min(event.offset_sample, event.onset_sample + int(MAX_EVENT_SHOWN_S * fs))
    show_b = min(n, stop + margin)
    a = max(0, show_a - int((cfg.warmup_s + SETTLE_S) * fs))
    raw = recording.read(a, show_b)[:, [event.channel]]
    label = event.channel_label or f"channel {event.channel}"
    filtered = detect(raw, fs, config=cfg, labels=[label], keep_filtered=True).filtered
    y = np.asarray(filtered[show_a - a :, 0], dtype=np.float32)
    what = f"{event.duration_s:.1f} s" if event.kind != "twitch" else f"{event.duration_s * 1000:.0f} ms"
    text = f"{title}: {label}, {what}, peak {event.peak_uv:.0f} µV, at {_clock(event.onset_s)} into the night"
    return Snippet(text, y, fs, (event.onset_sample - show_a) / fs, (stop - show_a) / fs)


def _open_night_file(night: Any) -> tuple[Any, str]:
    """Open the file a stored night came from, or say why it cannot be used."""
    from ..io import open_recording
    from ..store import file_hash

    from ..demo import DEMO_SOURCE

    path = stored_path(night.source) if night.source else None
    if (night.source or "").startswith(DEMO_SOURCE) and (path is None or not path.is_file()):
        return None, ("This night was simulated by `kneeemg demo`, which keeps no recording file, so the traces cannot "
                      "be shown here; the report the demo wrote has them.")
    if path is None or not path.is_file():
        return None, (f"The recording file ({night.source or 'unknown'}) is no longer there, so the traces cannot be "
                      "shown. Put it back (or import it again) to see them.")
    settings = night.settings or {}  # read as it was imported: resampled, at the rate given for it
    opts = {"resample_hz": settings.get("import_resample_hz"), "fs_hz": settings.get("import_fs_hz")}
    try:
        try:
            rec = open_recording(path, channels=list(night.labels), **opts)
        except KneeEmgError:
            rec = open_recording(path, **opts)
    except KneeEmgError as exc:
        return None, f"The recording file {night.source} could not be read ({exc}), so the traces cannot be shown."
    info = rec.info
    # (the rate within 0.1 %: a reader that now gives a CSV's rate unrounded, 1000.05 Hz where it
    # gave 1000, reads the same samples, which the traces take by their index)
    if len(info.labels) != len(night.labels) or abs(info.fs_hz / night.fs_hz - 1.0) > 1e-3 or \
            abs(info.n_samples / info.fs_hz - night.recording_s) > 1.0:
        rec.close()
        return None, (f"The recording file {night.source} no longer matches the night that was imported from it "
                      "(channels, rate or length differ), so the traces cannot be shown.")
    if re.fullmatch(r"[0-9a-f]{64}", night.content_hash or "") and file_hash(path) != night.content_hash:
        rec.close()  # another recording of the same shape now has its name
        return None, (f"The recording file {night.source} is no longer the one that was imported (its content "
                      "changed), so the traces cannot be shown.")
    return rec, ""


def night_snippets(night: Any, events: Sequence[Event], recording: Any = None) -> tuple[list[Snippet], str]:
    """Traces of a stored night's chosen events, and a note when there are none.

    Parameters
    ----------
    night : kneeemg.store.NightRow
    events : sequence of Event
        The night's twitches, spasms and cramps.
    recording : Recording, optional
        Used instead of the night's file (for a night that only exists in memory).

    Returns
    -------
    (list of Snippet, str)
        The note says why the list is empty ("" when it is not).
    """
    from ..config import DetectorConfig

    chosen = choose_events(events)
    if not chosen:
        return [], "There were no twitches or spasms to show."
    rec, note = (recording, "") if recording is not None else _open_night_file(night)
    if rec is None:
        return [], note
    # the settings an import stored besides the detector's (channels, rates) are not the detector's
    settings = {k: v for k, v in (night.settings or {}).items() if not k.startswith("import_")}
    try:
        cfg = DetectorConfig.from_dict(settings)
    except KneeEmgError:
        cfg = DetectorConfig()
    try:
        return [event_snippet(rec, e, title, cfg) for title, e in chosen], ""
    except KneeEmgError as exc:
        log.warning("traces not drawn: %s", exc)
        return [], f"The traces could not be drawn ({exc})."
    finally:
        if recording is None:
            rec.close()
