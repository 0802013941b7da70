"""The reader interface every recording format implements."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterator

import numpy as np

from ..events import Event, ExcludedInterval


@dataclass(frozen=True)
class Gap:
    """Samples lost while recording: ``n_samples`` missing from ``start_sample`` on.

    Readers fill a gap by holding the last good value, so the timeline stays exact; replay
    declares the gaps lost to the detector: never usable time, and an epoch more than a
    quarter lost is excluded.
    """

    start_sample: int
    n_samples: int
    reason: str = "lost"


@dataclass
class RecordingInfo:
    """What is known about a recording besides its samples."""

    fs_hz: float
    labels: tuple[str, ...]
    n_samples: int
    start_time: datetime | None = None
    path: Path | None = None
    format: str = ""
    device: str = ""
    #: Events already in the file (EDF+ annotations, simulator truth): usable as ground truth.
    annotations: list[Event] = field(default_factory=list)
    #: Known artefact intervals from the file (simulator truth).
    annotated_artefacts: list[ExcludedInterval] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    #: Signals that are not EMG, by name, e.g. ``{"FX": (angle_deg array, fs_hz)}`` for a
    #: goniometer; never fed to the detector.
    extra: dict[str, tuple[np.ndarray, float]] = field(default_factory=dict)
    #: Problems the reader worked around (a truncated last block, a block with a bad CRC).
    warnings: list[str] = field(default_factory=list)
    #: The highest frequency the samples can hold, in Hz, when the file says it is below the
    #: Nyquist frequency: an EDF channel's low-pass prefilter ("LP:100Hz"), or the Nyquist
    #: frequency of the rate a resampled recording came from. None when unknown.
    content_hz: float | None = None

    @property
    def lost_s(self) -> float:
        """Seconds of samples lost while recording (gaps)."""
        return sum(g.n_samples for g in self.gaps) / self.fs_hz

    @property
    def n_channels(self) -> int:
        return len(self.labels)

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs_hz


class Recording(abc.ABC):
    """An open recording: samples in µV as float64 arrays of shape (n_samples, n_channels).

    Use as a context manager. Reading is random access (:meth:`read`) or sequential
    (:meth:`chunks`); neither loads more than the asked-for range into memory.
    """

    info: RecordingInfo

    @abc.abstractmethod
    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Samples ``start`` to ``stop`` (exclusive) of the selected channels, in µV.

        Returns
        -------
        numpy.ndarray, shape (stop - start, n_channels), float64, C-contiguous
        """

    def _range(self, start: int, stop: int | None) -> tuple[int, int]:
        """``(start, stop)`` checked against the recording (``stop=None``: to the end)."""
        from ..errors import InputError

        n = self.info.n_samples
        stop = n if stop is None else stop
        if not 0 <= start <= stop <= n:
            raise InputError(f"read({start}, {stop}) is outside the recording's 0-{n} samples")
        return start, stop

    def chunks(self, chunk_samples: int) -> Iterator[np.ndarray]:
        """Yield consecutive blocks of at most ``chunk_samples`` samples."""
        n = self.info.n_samples
        for start in range(0, n, chunk_samples):
            yield self.read(start, min(n, start + chunk_samples))

    def close(self) -> None:  # noqa: B027 - optional for readers holding no handle
        """Release the file handle."""

    def __enter__(self) -> "Recording":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
