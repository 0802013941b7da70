"""Recording a night from the sensor: frames in, a crash-safe recording and live events out.

- :class:`Recorder` (``recorder.py``): ordering, duplicates, gaps, sessions, the live
  detector, the clock mapping and the status snapshot -- explicit state, no I/O of its own
  beyond the recording file.
- :func:`check_signal` (``check.py``): the first seconds judged (noise floor, mains, lead-off).
- :class:`ClockFit` (``clock.py``): device time to host time, robust to delivery jitter.
- :func:`kept_awake` (``awake.py``): the computer kept from sleeping while a night is recorded.
- :func:`record`, :func:`record_link`, :func:`record_virtual` (``live.py``): the asyncio
  pipeline from a link (serial, BLE, virtual) to the recorder, with LSL outlets on request.
"""

from __future__ import annotations

from .awake import KeepAwake, kept_awake
from .check import SignalCheck, check_signal, noise_floor_uv
from .clock import ClockFit
from .live import (RecordOutcome, StoppedBeforeRecording, StopRequest, new_recording_path, prepare_output_folder,
                   record, record_link, record_serial, record_virtual)
from .recorder import Recorder, RecordStatus

__all__ = ["Recorder", "RecordStatus", "SignalCheck", "check_signal", "noise_floor_uv", "ClockFit", "RecordOutcome",
           "record", "record_link", "record_serial", "record_virtual", "new_recording_path", "prepare_output_folder",
           "StopRequest", "StoppedBeforeRecording", "KeepAwake", "kept_awake"]
