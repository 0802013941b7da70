"""Lab Streaming Layer outlets: the EMG as it is recorded, and events as markers."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..events import Event
from ..protocol import InfoFrame


#: Where liblsl looks for its configuration file, besides ``$LSLAPICFG``.
LSL_CONFIG_FILES = ("lsl_api.cfg", "~/lsl_api/lsl_api.cfg", "/etc/lsl_api/lsl_api.cfg")
#: liblsl's log level for warnings and errors only (its INFO lines name its version and build).
LSL_LOG_WARNINGS = -1


def quiet_liblsl_log() -> bool:
    """Keep liblsl's own log (printed to the terminal, apart from Python's logging) to warnings
    and errors, unless the user configures liblsl (``$LSLAPICFG``, or an ``lsl_api.cfg`` where
    liblsl looks for one). Must come before anything else of liblsl in the process.

    Returns
    -------
    bool
        Whether liblsl was quieted (False: the user's configuration rules, or pylsl is missing
        or too old to be told).
    """
    if os.environ.get("LSLAPICFG") or any(Path(p).expanduser().is_file() for p in LSL_CONFIG_FILES):
        return False
    try:
        import pylsl

        pylsl.set_config_content(f"[log]\nlevel = {LSL_LOG_WARNINGS}\n")
    except (ImportError, AttributeError, RuntimeError):
        return False
    return True


class LslPublisher:
    """Two LSL outlets: ``<name> EMG`` (type EMG, µV, float32) and ``<name> events`` (type Markers).

    Sample timestamps are in LSL's clock: a chunk's last sample is stamped with the host
    time it was received; a marker with the time of the event's onset, counted back from the
    newest sample.

    Parameters
    ----------
    info : InfoFrame
        The sensor (rate, labels, id).
    name : str
        Stream name prefix.
    """

    def __init__(self, info: InfoFrame, name: str = "kneeemg") -> None:
        import pylsl

        self._pylsl = pylsl
        self.fs_hz = info.fs_hz
        source = f"kneeemg-{info.device_id:08x}"
        emg = pylsl.StreamInfo(f"{name} EMG", "EMG", len(info.labels), info.fs_hz, pylsl.cf_float32, source)
        channels = emg.desc().append_child("channels")
        for label in info.labels:
            ch = channels.append_child("channel")
            ch.append_child_value("label", label)
            ch.append_child_value("unit", "microvolts")
            ch.append_child_value("type", "EMG")
        self.emg = pylsl.StreamOutlet(emg)
        markers = pylsl.StreamInfo(f"{name} events", "Markers", 1, pylsl.IRREGULAR_RATE, pylsl.cf_string, source + "-events")
        self.markers = pylsl.StreamOutlet(markers)
        self._newest: tuple[int, float] | None = None  # (sample index after the newest pushed, its LSL time)

    def push_samples(self, x_uv: np.ndarray, first_sample: int) -> None:
        """Samples just written, shape (n, n_channels), µV."""
        if not len(x_uv):
            return
        now = self._pylsl.local_clock()
        self.emg.push_chunk(np.ascontiguousarray(x_uv, dtype=np.float32), now)
        self._newest = (first_sample + len(x_uv), now)

    def push_event(self, event: Event) -> None:
        """A marker ``"<kind> <channel label>"`` at the event's onset."""
        if self._newest is None:
            stamp = self._pylsl.local_clock()
        else:
            end, t = self._newest
            stamp = t - (end - event.onset_sample) / self.fs_hz
        label = event.channel_label or f"ch{event.channel}"
        self.markers.push_sample([f"{event.kind} {label}"], stamp)

    def close(self) -> None:
        """Release the outlets (consumers see the streams end)."""
        self.emg = None
        self.markers = None
